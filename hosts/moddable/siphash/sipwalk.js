// The native twin of firmware/crypto/sipwalk.ts for Moddable builds (manifest.json maps `crypto/sipwalk` here):
// the same exports, computed in C (siphash24.c through the XS glue in sipwalk.c). A key crosses as its four words.
// XS host functions (`@ "xs_..."`) cannot be written in TypeScript, hence plain JavaScript; firmware/crypto/sipwalk.ts
// is the type and the behaviour (test/siphash-native.test.ts checks the C against it). Int32Array and Float64Array
// cross as their ArrayBuffer and byte offset: xsmcGetBuffer takes typed arrays of 1-byte elements only.

function _hash(k0lo, k0hi, k1lo, k1hi, message, length, out, outOffset) @ "xs_solkey_siphash";
function _next(k0lo, k0hi, k1lo, k1hi, code, extended) @ "xs_solkey_chain_next";
function _walk(k0lo, k0hi, k1lo, k1hi, extended, code, at, from, to, token, states, statesOffset) @ "xs_solkey_chain_walk";

export const WALK_STATES = 17;

export function siphashWords(key, message, length, out) {
  _hash(key.k0lo, key.k0hi, key.k1lo, key.k1hi, message, length, out.buffer, out.byteOffset);
  return out;
}

export function chainNext(key, code, extended) {
  return _next(key.k0lo, key.k0hi, key.k1lo, key.k1hi, code, extended);
}

export function chainWalk(key, extended, code, at, from, to, token, states) {
  return _walk(key.k0lo, key.k0hi, key.k1lo, key.k1hi, extended, code, at, from, to, token, states.buffer, states.byteOffset);
}
