/*
 * SHA-256 (FIPS 180-4), the digest Bazel's remote-cache protocol names blobs by. Small enough
 * to carry rather than link a cryptography library for one function. Thread-safe.
 */
#ifndef ASH_SHA256_H
#define ASH_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The SHA-256 of data[0..len) into out[0..32). */
void ash__sha256(uint8_t out[32], const void *data, size_t len);

#endif
