/* SipHash-2-4 and the OpenPAYGO chain walk in portable C: the native twin of firmware/crypto/sipwalk.ts.
   Pure C99, no XS: the Moddable binding (sipwalk.c) and the host check driver (check.c) both call it. */
#ifndef SOLKEY_SIPHASH24_H
#define SOLKEY_SIPHASH24_H

#include <stddef.h>
#include <stdint.h>

/** A SipHash key as its two little-endian 64-bit words (paper section 2: k0, k1). */
typedef struct {
  uint64_t k0, k1;
} sip24_key;

/** SipHash-2-4 of message[0, length) under key: the 64-bit tag (its little-endian bytes are the paper's vectors). */
uint64_t sip24_hash(const sip24_key *key, const uint8_t *message, size_t length);

/** The OpenPAYGO chain state one count after `code` (firmware/crypto/sipwalk.ts chainNext; extended: 12 digits). */
uint64_t sip24_chain_next(const sip24_key *key, uint64_t code, int extended);

/** States a walk leaves behind: states[c & 15] for the last 16 counts walked, states[16] the state at `from`. */
#define SIP24_WALK_STATES 17

/**
 * Walks the chain from `code` (the state at count `at`) up to count `to`, storing every state in `states`, and
 * returns the first count c in [from, to] whose state with its value digits replaced by `token`'s equals `token`,
 * or -1 (token < 0 matches nothing). Hashes computed: (c or to) - at. Requires at <= from <= to.
 */
int32_t sip24_chain_walk(const sip24_key *key, int extended, uint64_t code, int32_t at, int32_t from, int32_t to,
                         int64_t token, double states[SIP24_WALK_STATES]);

#endif
