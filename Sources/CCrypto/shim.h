#include <openssl/evp.h>

/// SHA-256 of `length` bytes into `digest` (32 bytes); returns 1 on success.
static inline int duty_sha256(const void *data, size_t length, unsigned char *digest) {
    unsigned int size = 0;
    return EVP_Digest(data, length, digest, &size, EVP_sha256(), NULL);
}
