// SHA-256 through the low-level functions: OpenSSL 3 deprecates them in favour of EVP_Digest, which looks the
// algorithm up and allocates a context on every call (about a third of the hashing instructions under callgrind);
// these compute the same digest with a context on the stack.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>

/// SHA-256 of `length` bytes into `digest` (32 bytes); returns 1 on success.
static inline int duty_sha256(const void *data, size_t length, unsigned char *digest) {
    SHA256_CTX context;
    if (SHA256_Init(&context) != 1 || SHA256_Update(&context, data, length) != 1) return 0;
    return SHA256_Final(digest, &context);
}
