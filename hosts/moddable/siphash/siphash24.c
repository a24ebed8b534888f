/* SipHash-2-4 (Aumasson & Bernstein 2012) and the OpenPAYGO token chain walk: see siphash24.h. Message words are
   loaded with one 8-byte memcpy (a plain load on every little-endian target: ESP32, nRF52840, x86, arm64), not byte
   by byte; the bench's C baseline is this file (tools/bench/siphash_native.c), so the XS/C ratio is against it. */
#include "siphash24.h"

#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                      \
  do {                                                                                                                \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                                         \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                                            \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                                            \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                                         \
  } while (0)

static uint64_t load64le(const uint8_t *p) {
  uint64_t m;
  memcpy(&m, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  m = __builtin_bswap64(m);
#endif
  return m;
}

uint64_t sip24_hash(const sip24_key *key, const uint8_t *in, size_t length) {
  uint64_t v0 = key->k0 ^ 0x736f6d6570736575ULL, v1 = key->k1 ^ 0x646f72616e646f6dULL;
  uint64_t v2 = key->k0 ^ 0x6c7967656e657261ULL, v3 = key->k1 ^ 0x7465646279746573ULL;
  const uint8_t *end = in + (length & ~(size_t)7);
  for (; in != end; in += 8) {
    uint64_t m = load64le(in);
    v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
  }
  uint64_t b = (uint64_t)length << 56;
  switch (length & 7) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0];       /* fall through */
    default: break;
  }
  v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
  v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t sip24_chain_next(const sip24_key *key, uint64_t code, int extended) {
  uint8_t m[8];
  if (!extended) {
    /* The code as a big-endian u32, twice; the tag's halves XORed, the top 30 bits folded below 10^9
       (OpenPAYGO reference _convert_to_29_5_bits). */
    for (int i = 0; i < 4; i++) m[i] = m[i + 4] = (uint8_t)(code >> (24 - 8 * i));
    uint64_t tag = sip24_hash(key, m, 8);
    uint32_t folded = ((uint32_t)tag ^ (uint32_t)(tag >> 32)) >> 2;
    return folded > 999999999u ? folded - 73741825u : folded;
  }
  /* The code as a big-endian u64; bits 24-63 of the tag folded below 10^12 (reference _convert_to_40_bits). */
  for (int i = 0; i < 8; i++) m[i] = (uint8_t)(code >> (56 - 8 * i));
  uint64_t folded = sip24_hash(key, m, 8) >> 24;
  return folded > 999999999999ULL ? folded - 99511627777ULL : folded;
}

int32_t sip24_chain_walk(const sip24_key *key, int extended, uint64_t code, int32_t at, int32_t from, int32_t to,
                         int64_t token, double states[SIP24_WALK_STATES]) {
  const uint64_t modulus = extended ? 1000000u : 1000u;
  /* mask(code, base) == token <=> the digits above the value digits agree (OpenPAYGO put_base_in_token). */
  const uint64_t high = token < 0 ? UINT64_MAX : (uint64_t)token - (uint64_t)token % modulus;
  for (int32_t count = at;; count++) {
    states[count & 15] = (double)code;
    if (count >= from) {
      if (count == from) states[16] = (double)code;
      if (code - code % modulus == high) return count;
    }
    if (count >= to) return -1;
    code = sip24_chain_next(key, code, extended);
  }
}
