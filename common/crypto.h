/* crypto.h — the cryptography Sluice uses, on OpenSSL 3: random tokens, SHA-256, password
 * hashing (PBKDF2-HMAC-SHA256), AES-256-GCM for secrets at rest, master key loading, and the
 * self-signed development TLS certificate.
 *
 * All functions return 0 on success and -1 on failure unless stated; output buffers belong to
 * the caller and their sizes are stated. */
#ifndef SLUICE_COMMON_CRYPTO_H
#define SLUICE_COMMON_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32       /* AES-256 key */
#define CRYPTO_SEAL_OVERHEAD 28 /* 12-byte nonce in front, 16-byte tag behind */
#define CRYPTO_SHA256_HEX 65    /* 64 hex digits and NUL */
#define CRYPTO_PASSWORD_HASH_MAX 160

int crypto_random(void *buf, size_t len);

/* Lower-case hex of data into out (2 * len + 1 bytes). */
void crypto_hex(const void *data, size_t len, char *out);
/* Decodes exactly 2 * outlen hex digits (the whole string) into out; -1 on anything else. */
int crypto_unhex(const char *hex, void *out, size_t outlen);

/* Hex SHA-256 of data into out[CRYPTO_SHA256_HEX]. */
void crypto_sha256_hex(const void *data, size_t len, char *out);
/* 1 when the NUL-terminated secrets a and b are equal, compared in constant time for a given
 * length (OpenSSL's CRYPTO_memcmp), else 0. */
int crypto_equal(const char *a, const char *b);

/* A new random token: prefix followed by 64 hex digits (32 random bytes). out needs
 * strlen(prefix) + 65 bytes. */
int crypto_token(const char *prefix, char *out, size_t outlen);

/* Password hashing: "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX" into out (outlen >=
 * CRYPTO_PASSWORD_HASH_MAX). crypto_password_verify returns 1 on a match, 0 on a mismatch and
 * -1 when stored is not in that format. Comparison is constant-time. */
int crypto_password_hash(const char *password, char *out, size_t outlen);
int crypto_password_verify(const char *password, const char *stored);

/* AES-256-GCM. seal writes nonce || ciphertext || tag (plain_len + CRYPTO_SEAL_OVERHEAD
 * bytes) into out; open reverses it into out (sealed_len - CRYPTO_SEAL_OVERHEAD bytes) and
 * fails when the key, the aad or any byte differs. aad may be NULL with aad_len 0. */
int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const void *plain, size_t plain_len,
                uint8_t *out);
int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const uint8_t *sealed,
                size_t sealed_len, uint8_t *out);

/* The master key from 64 hex digits (hex, when non-empty) or else from the first line of
 * file. -1 with a message in err when neither gives a valid key. */
int crypto_master_key_load(const char *hex, const char *file, uint8_t key[CRYPTO_KEY_LEN], char *err, size_t errlen);

/* Makes sure dir holds key.pem (mode 0600) and cert.pem: a self-signed P-256 certificate for
 * CN=localhost with subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1, valid ten years.
 * Existing files are kept. *created is set to 1 when new files were written. */
int crypto_tls_self_signed(const char *dir, int *created, char *err, size_t errlen);

#endif
