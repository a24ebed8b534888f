/* XS glue for hosts/moddable/siphash/sipwalk.js: unpacks the arguments, checks the buffers' lengths (a native
   function must never write outside a buffer, whatever script passes), and calls siphash24.c. Nothing else. */
#include "xsmc.h"
#include "siphash24.h"

/* The oldest XS API this glue needs; solkey is built and checked with Moddable SDK 8.2.3 (README). */
#ifndef xsmcGetBufferReadable
#error "solkey needs Moddable SDK 8.2.3 (README, Building the firmware): xsmcGetBufferReadable is missing"
#endif

static sip24_key keyOf(xsMachine *the) {
  sip24_key key;
  key.k0 = (uint32_t)xsmcToInteger(xsArg(0)) | (uint64_t)(uint32_t)xsmcToInteger(xsArg(1)) << 32;
  key.k1 = (uint32_t)xsmcToInteger(xsArg(2)) | (uint64_t)(uint32_t)xsmcToInteger(xsArg(3)) << 32;
  return key;
}

/* A writable byte range of `size` bytes at `offset` in the ArrayBuffer `buffer`, or a RangeError. */
static void *bytesAt(xsMachine *the, xsSlot *buffer, xsIntegerValue offset, xsUnsignedValue size) {
  void *data;
  xsUnsignedValue length;
  xsmcGetBufferWritable(*buffer, &data, &length);
  if (offset < 0 || (xsUnsignedValue)offset > length || length - (xsUnsignedValue)offset < size)
    xsRangeError("buffer expected %u bytes at %d", (unsigned)size, (int)offset);
  return (uint8_t *)data + offset;
}

/* _hash(k0lo, k0hi, k1lo, k1hi, message: Uint8Array, length, out: ArrayBuffer, outOffset): out holds 2 int32 */
void xs_solkey_siphash(xsMachine *the) {
  sip24_key key = keyOf(the);
  void *message;
  xsUnsignedValue messageSize;
  xsmcGetBufferReadable(xsArg(4), &message, &messageSize);
  xsIntegerValue length = xsmcToInteger(xsArg(5));
  if (length < 0 || (xsUnsignedValue)length > messageSize) xsRangeError("length outside the message");
  uint64_t tag = sip24_hash(&key, message, (size_t)length);
  int32_t *out = bytesAt(the, &xsArg(6), xsmcToInteger(xsArg(7)), 8);
  out[0] = (int32_t)(uint32_t)tag; /* as Int32Array: low word first, native (little) endian */
  out[1] = (int32_t)(uint32_t)(tag >> 32);
}

/* _next(k0lo, k0hi, k1lo, k1hi, code, extended) -> code */
void xs_solkey_chain_next(xsMachine *the) {
  sip24_key key = keyOf(the);
  uint64_t code = (uint64_t)xsmcToNumber(xsArg(4));
  xsmcSetNumber(xsResult, (double)sip24_chain_next(&key, code, xsmcTest(xsArg(5))));
}

/* _walk(k0lo, k0hi, k1lo, k1hi, extended, code, at, from, to, token, states: ArrayBuffer, statesOffset) -> count or
   -1; states holds 17 float64 */
void xs_solkey_chain_walk(xsMachine *the) {
  sip24_key key = keyOf(the);
  int extended = xsmcTest(xsArg(4));
  uint64_t code = (uint64_t)xsmcToNumber(xsArg(5));
  xsIntegerValue at = xsmcToInteger(xsArg(6)), from = xsmcToInteger(xsArg(7)), to = xsmcToInteger(xsArg(8));
  int64_t token = (int64_t)xsmcToNumber(xsArg(9));
  if (at < 0 || at > from || from > to) xsRangeError("walk expected 0 <= at <= from <= to");
  double *states = bytesAt(the, &xsArg(10), xsmcToInteger(xsArg(11)), SIP24_WALK_STATES * sizeof(double));
  xsmcSetInteger(xsResult, sip24_chain_walk(&key, extended, code, at, from, to, token, states));
}
