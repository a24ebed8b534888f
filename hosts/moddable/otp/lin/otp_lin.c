/* The `otp` host functions for Moddable's desktop simulator (mcconfig -p lin): 64 bits kept in the file named by
   $SOLKEY_OTP (default "solkey-otp.bin" in the working directory), so "never fresh twice" holds across runs as on a
   chip. Bits only ever go from 0 to 1 here; deleting the file is the desktop's way to get a factory-new chip. */
#include "xsmc.h"

#include <stdio.h>
#include <stdlib.h>

#define SOLKEY_OTP_SIZE 64

static const char *pathOf(void) {
  const char *path = getenv("SOLKEY_OTP");
  return path ? path : "solkey-otp.bin";
}

static void load(unsigned char bits[SOLKEY_OTP_SIZE / 8]) {
  FILE *file = fopen(pathOf(), "rb");
  for (int i = 0; i < SOLKEY_OTP_SIZE / 8; i++) bits[i] = 0;
  if (!file) return;
  size_t got = fread(bits, 1, SOLKEY_OTP_SIZE / 8, file);
  (void)got; /* a short file: the missing bytes are unprogrammed */
  fclose(file);
}

static int bitOf(xsMachine *the) {
  int index = xsmcToInteger(xsArg(0));
  if (index < 0 || index >= SOLKEY_OTP_SIZE) xsRangeError("otp: bit %d outside 0-%d", index, SOLKEY_OTP_SIZE - 1);
  return index;
}

void xs_solkey_otp_size(xsMachine *the) {
  xsmcSetInteger(xsResult, SOLKEY_OTP_SIZE);
}

void xs_solkey_otp_read(xsMachine *the) {
  int index = bitOf(the);
  unsigned char bits[SOLKEY_OTP_SIZE / 8];
  load(bits);
  xsmcSetBoolean(xsResult, (bits[index / 8] >> (index % 8)) & 1);
}

void xs_solkey_otp_program(xsMachine *the) {
  int index = bitOf(the);
  unsigned char bits[SOLKEY_OTP_SIZE / 8];
  load(bits);
  bits[index / 8] |= (unsigned char)(1 << (index % 8));
  FILE *file = fopen(pathOf(), "wb");
  if (!file || fwrite(bits, 1, sizeof bits, file) != sizeof bits) {
    if (file) fclose(file);
    xsUnknownError("otp: cannot write %s", pathOf());
  }
  fclose(file);
}
