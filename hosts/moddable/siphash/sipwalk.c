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

/* _hash(k0lo, k0hi, k1lo, k1hi, message: Uint8Array, length, out: Int32Array(2)) */
void xs_solkey_siphash(xsMachine *the) {
  sip24_key key = keyOf(the);
  void *message, *out;
  xsUnsignedValue messageSize, outSize;
  xsmcGetBufferReadable(xsArg(4), &message, &messageSize);
  xsIntegerValue length = xsmcToInteger(xsArg(5));
  if (length < 0 || (xsUnsignedValue)length > messageSize) xsRangeError("length outside the message");
  uint64_t tag = sip24_hash(&key, message, (size_t)length);
  xsmcGetBufferWritable(xsArg(6), &out, &outSize);
  if (outSize < 8) xsRangeError("out expected 2 words");
  ((int32_t *)out)[0] = (int32_t)(uint32_t)tag; /* as Int32Array: low word first, native (little) endian */
  ((int32_t *)out)[1] = (int32_t)(uint32_t)(tag >> 32);
}

/* _next(k0lo, k0hi, k1lo, k1hi, code, extended) -> code */
void xs_solkey_chain_next(xsMachine *the) {
  sip24_key key = keyOf(the);
  uint64_t code = (uint64_t)xsmcToNumber(xsArg(4));
  xsmcSetNumber(xsResult, (double)sip24_chain_next(&key, code, xsmcTest(xsArg(5))));
}

/* _walk(k0lo, k0hi, k1lo, k1hi, extended, code, at, from, to, token, states: Float64Array(17)) -> count or -1 */
void xs_solkey_chain_walk(xsMachine *the) {
  sip24_key key = keyOf(the);
  int extended = xsmcTest(xsArg(4));
  uint64_t code = (uint64_t)xsmcToNumber(xsArg(5));
  xsIntegerValue at = xsmcToInteger(xsArg(6)), from = xsmcToInteger(xsArg(7)), to = xsmcToInteger(xsArg(8));
  int64_t token = (int64_t)xsmcToNumber(xsArg(9));
  void *states;
  xsUnsignedValue statesSize;
  if (at < 0 || at > from || from > to) xsRangeError("walk expected 0 <= at <= from <= to");
  xsmcGetBufferWritable(xsArg(10), &states, &statesSize);
  if (statesSize < SIP24_WALK_STATES * sizeof(double)) xsRangeError("states expected 17 numbers");
  xsmcSetInteger(xsResult, sip24_chain_walk(&key, extended, code, at, from, to, token, (double *)states));
}
