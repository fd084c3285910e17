/* BLAKE2b with an output of 8 bytes and no key, as RFC 7693 ("The BLAKE2 Cryptographic Hash
 * and Message Authentication Code (MAC)", November 2015) specifies it: the fingerprints of the
 * identifiers the ledger of `mcfcheck batch` keeps, the same bytes as Python's
 * hashlib.blake2b(message, digest_size=8).digest() (a test compares the two on any message).
 *
 * Included by _fastread.c: static functions only.
 */

#include <stdint.h>
#include <string.h>

/* The initialisation vector (RFC 7693, section 2.6). */
static const uint64_t blake2b_iv[8] = {
    0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL, 0xA54FF53A5F1D36F1ULL,
    0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL, 0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL,
};

/* The message word schedule of each round (section 2.7); rounds 10 and 11 use rows 0 and 1. */
static const uint8_t blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

#define BLAKE2B_BLOCK 128

typedef struct {
    uint64_t h[8];
    uint64_t counted; /* bytes compressed so far, and those of the block waiting (t, section 3.2) */
    unsigned char block[BLAKE2B_BLOCK];
    size_t waiting; /* bytes in block */
} Blake2b;

static inline uint64_t
blake2b_rotate(uint64_t word, unsigned bits)
{
    return (word >> bits) | (word << (64 - bits));
}

static inline uint64_t
blake2b_load(const unsigned char *bytes)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t word;
    memcpy(&word, bytes, sizeof word);
    return word;
#else
    uint64_t word = 0;
    for (int i = 7; i >= 0; i--) {
        word = (word << 8) | bytes[i];
    }
    return word;
#endif
}

/* The mixing function G (section 3.1). */
#define BLAKE2B_G(a, b, c, d, x, y)                   \
    do {                                             \
        v[a] = v[a] + v[b] + (x);                    \
        v[d] = blake2b_rotate(v[d] ^ v[a], 32);      \
        v[c] = v[c] + v[d];                          \
        v[b] = blake2b_rotate(v[b] ^ v[c], 24);      \
        v[a] = v[a] + v[b] + (y);                    \
        v[d] = blake2b_rotate(v[d] ^ v[a], 16);      \
        v[c] = v[c] + v[d];                          \
        v[b] = blake2b_rotate(v[b] ^ v[c], 63);      \
    } while (0)

/* The compression function F (section 3.2), on the waiting block; last: the final block. */
static void
blake2b_compress(Blake2b *state, int last)
{
    uint64_t m[16], v[16];
    for (int i = 0; i < 16; i++) {
        m[i] = blake2b_load(state->block + 8 * i);
    }
    for (int i = 0; i < 8; i++) {
        v[i] = state->h[i];
        v[i + 8] = blake2b_iv[i];
    }
    v[12] ^= state->counted; /* the counter's high word stays 0: messages are far shorter than 2**64 bytes */
    if (last) {
        v[14] = ~v[14];
    }
    /* Unrolled, the schedule's indexes are constants: the message words stay in registers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 12
#endif
    for (int round = 0; round < 12; round++) {
        const uint8_t *s = blake2b_sigma[round];
        BLAKE2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        BLAKE2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        BLAKE2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        BLAKE2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        BLAKE2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        BLAKE2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        BLAKE2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        BLAKE2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) {
        state->h[i] ^= v[i] ^ v[i + 8];
    }
}

/* A state for an output of ``size`` bytes (1 to 64), no key (section 3.3). */
static void
blake2b_start(Blake2b *state, size_t size)
{
    memcpy(state->h, blake2b_iv, sizeof state->h);
    state->h[0] ^= 0x01010000ULL ^ (uint64_t)size;
    state->counted = 0;
    state->waiting = 0;
}

/* Adds bytes to the message. A full block waits until more bytes come: the last block is compressed
 * as the final one (even when it is full). */
static void
blake2b_update(Blake2b *state, const unsigned char *data, size_t size)
{
    while (size > 0) {
        if (state->waiting == BLAKE2B_BLOCK) {
            blake2b_compress(state, 0);
            state->waiting = 0;
        }
        size_t taken = BLAKE2B_BLOCK - state->waiting;
        if (taken > size) {
            taken = size;
        }
        memcpy(state->block + state->waiting, data, taken);
        state->waiting += taken;
        state->counted += taken;
        data += taken;
        size -= taken;
    }
}

/* The first 8 bytes of the hash (the words of h, little-endian). */
static void
blake2b_finish8(Blake2b *state, unsigned char out[8])
{
    memset(state->block + state->waiting, 0, BLAKE2B_BLOCK - state->waiting);
    blake2b_compress(state, 1);
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(state->h[0] >> (8 * i));
    }
}
