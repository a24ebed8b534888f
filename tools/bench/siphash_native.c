/* SipHash-2-4 in portable C, the physical limit for `npm run bench`: the same contract as firmware/crypto/siphash.ts
   (16 key bytes, any message length, 8 tag bytes), in the structure of the paper's reference code. Hashes N 8-byte
   messages, each derived from the previous tag so that nothing can be hoisted or overlapped (as in an OpenPAYGO
   token chain), and prints the nanoseconds per hash. Built by tools/bench/siphash.ts with `cc -O2`; not firmware. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                   \
  do {                                                             \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
  } while (0)

#define LOAD64(p)                                                                                    \
  ((uint64_t)(p)[0] | (uint64_t)(p)[1] << 8 | (uint64_t)(p)[2] << 16 | (uint64_t)(p)[3] << 24 |      \
   (uint64_t)(p)[4] << 32 | (uint64_t)(p)[5] << 40 | (uint64_t)(p)[6] << 48 | (uint64_t)(p)[7] << 56)

static void siphash24(const uint8_t *in, size_t len, const uint8_t key[16], uint8_t out[8]) {
  uint64_t k0 = LOAD64(key), k1 = LOAD64(key + 8);
  uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
  const uint8_t *end = in + len - (len % 8);
  for (; in != end; in += 8) {
    uint64_t m = LOAD64(in);
    v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  switch (len & 7) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0];
  }
  v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
  v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
  b = v0 ^ v1 ^ v2 ^ v3;
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(b >> (8 * i)); /* little-endian, as the paper's vectors */
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  uint8_t key[16], message[8] = {0}, tag[8];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    siphash24(message, 8, key, tag);
    memcpy(message, tag, 8);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n;
  printf("%.3f %02x%02x\n", ns, tag[0], tag[1]);
  return 0;
}
