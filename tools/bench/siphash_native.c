/* SipHash-2-4 in C for `npm run bench -- siphash`: the native twin's own core (hosts/moddable/siphash/siphash24.c,
   8-byte loads and stores, built into this file so the compiler may inline it), timed two ways:
   - hash: N 8-byte messages, each the previous tag stored whole (one 8-byte store, not byte by byte: byte stores
     made the old baseline ~15 ns where this is ~8.5 ns, flattering the XS/C ratio), so nothing can be overlapped;
   - walk: N counts of an OpenPAYGO standard chain (sip24_chain_walk, what the device runs per verdict).
   Prints "HASH_NS WALK_NS CHECK". Built by tools/bench/siphash.ts with cc -O2 and -O3; not firmware. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siphash24.c"

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 10000000;
  sip24_key key = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  uint8_t message[8] = {0};
  uint64_t tag = 0;
  double a = now_ns();
  for (long i = 0; i < n; i++) {
    tag = sip24_hash(&key, message, 8);
    memcpy(message, &tag, 8);
  }
  double hash = (now_ns() - a) / (double)n;
  double states[SIP24_WALK_STATES];
  int32_t counts = n > 0x7ffffff0 ? 0x7ffffff0 : (int32_t)n;
  a = now_ns();
  int32_t found = sip24_chain_walk(&key, 0, 123456789, 0, 0, counts, -1, states);
  double walk = (now_ns() - a) / (double)counts;
  printf("%.3f %.3f %d%.0f%02x\n", hash, walk, found, states[counts & 15], (unsigned)(tag & 0xff));
  return 0;
}
