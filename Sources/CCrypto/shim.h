// The one-shot SHA256() is deprecated in OpenSSL 3 in favour of EVP_Digest, which looks the algorithm up on every
// call (about a third of the time for a short input); the one-shot function skips that and gives the same digest.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

/// SHA-256 of `length` bytes into `digest` (32 bytes); returns 1 on success.
static inline int duty_sha256(const void *data, size_t length, unsigned char *digest) {
    return SHA256((const unsigned char *)data, length, digest) != 0;
}
