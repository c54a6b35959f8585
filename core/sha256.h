/* sha256: the SHA-256 hash of FIPS 180-4, streaming. Used to fingerprint model files
 * (safetensors_load fills struct safetensors.sha256); sha256_hex (declared in safetensors.h) is
 * the one-shot form. Not constant-time with respect to anything but the data length, which is all
 * a file fingerprint needs. */
#ifndef INSPECTD_SHA256_H
#define INSPECTD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
    uint32_t h[8];
    uint64_t nbytes;    /* message length so far */
    uint8_t block[64];  /* pending partial block */
    size_t nblock;      /* bytes used in block */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Finishes the hash into digest (32 bytes); c must be re-initialised before reuse. */
void sha256_final(uint8_t digest[32], struct sha256_ctx *c);

#endif
