/* Host check driver for siphash24.c (not firmware): test/siphash-native.test.ts builds it with the machine's cc and
   sends one request per line on stdin; each answer is one line on stdout.
     h KEYHEX MSGHEX                          -> the tag, 8 bytes little-endian hex
     n KEYHEX EXTENDED CODE                   -> the next chain state
     w KEYHEX EXTENDED CODE AT FROM TO TOKEN  -> the count found (or -1), then the 17 states */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "siphash24.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max) {
  size_t n = strlen(hex) / 2;
  if (n > max) n = max;
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
  return n;
}

static sip24_key keyOf(const char *hex) {
  uint8_t b[16] = {0};
  unhex(hex, b, 16);
  sip24_key key = {0, 0};
  for (int i = 7; i >= 0; i--) {
    key.k0 = key.k0 << 8 | b[i];
    key.k1 = key.k1 << 8 | b[i + 8];
  }
  return key;
}

int main(void) {
  static char line[4096], op[4], keyHex[64], arg[4000];
  static uint8_t message[2000];
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "%3s %63s", op, keyHex) != 2) continue;
    sip24_key key = keyOf(keyHex);
    if (op[0] == 'h') {
      arg[0] = 0;
      sscanf(line, "%*s %*s %3999s", arg);
      uint64_t tag = sip24_hash(&key, message, unhex(arg, message, sizeof message));
      for (int i = 0; i < 8; i++) printf("%02x", (unsigned)(tag >> (8 * i)) & 0xff);
      printf("\n");
    } else if (op[0] == 'n') {
      int extended;
      uint64_t code;
      sscanf(line, "%*s %*s %d %" SCNu64, &extended, &code);
      printf("%" PRIu64 "\n", sip24_chain_next(&key, code, extended));
    } else if (op[0] == 'w') {
      int extended;
      uint64_t code;
      int32_t at, from, to;
      int64_t token;
      double states[SIP24_WALK_STATES] = {0};
      sscanf(line, "%*s %*s %d %" SCNu64 " %" SCNd32 " %" SCNd32 " %" SCNd32 " %" SCNd64, &extended, &code, &at,
             &from, &to, &token);
      printf("%" PRId32, sip24_chain_walk(&key, extended, code, at, from, to, token, states));
      for (int i = 0; i < SIP24_WALK_STATES; i++) printf(" %.0f", states[i]);
      printf("\n");
    }
    fflush(stdout);
  }
  return 0;
}
