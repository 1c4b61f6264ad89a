/* crypto.c — hashing, password storage, AES-256-GCM and the development certificate. */
#include "common/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_ITERATIONS 60000
#define PASSWORD_SALT 16
#define PASSWORD_LEN 32

int crypto_random(void *buf, size_t len) { return RAND_bytes(buf, (int)len) == 1 ? 0 : -1; }

void crypto_hex(const void *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

static int crypto_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crypto_unhex(const char *hex, void *out, size_t outlen)
{
    if (strlen(hex) != 2 * outlen)
        return -1;
    uint8_t *o = out;
    for (size_t i = 0; i < outlen; i++) {
        int hi = crypto_hexval(hex[2 * i]), lo = crypto_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* SHA-256 fetched once: EVP_sha256() is looked up in the provider store again on every digest
 * (OpenSSL 3's implicit fetch, under a lock), a good part of hashing a short credential. */
static EVP_MD *crypto_sha256_md;
static pthread_once_t crypto_sha256_once = PTHREAD_ONCE_INIT;

static void crypto_sha256_fetch(void) { crypto_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

void crypto_sha256_hex(const void *data, size_t len, char *out)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    pthread_once(&crypto_sha256_once, crypto_sha256_fetch);
    EVP_Digest(data, len, md, &mdlen, crypto_sha256_md ? crypto_sha256_md : EVP_sha256(), NULL);
    crypto_hex(md, sizeof md, out);
}

int crypto_token(const char *prefix, char *out, size_t outlen)
{
    uint8_t raw[32];
    size_t pl = strlen(prefix);
    if (outlen < pl + 65 || crypto_random(raw, sizeof raw) < 0)
        return -1;
    memcpy(out, prefix, pl);
    crypto_hex(raw, sizeof raw, out + pl);
    return 0;
}

static int crypto_pbkdf2(const char *password, const uint8_t *salt, size_t salt_len, int iterations, uint8_t *out,
                         size_t outlen)
{
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations, EVP_sha256(),
                             (int)outlen, out) == 1
               ? 0
               : -1;
}

int crypto_password_hash(const char *password, char *out, size_t outlen)
{
    uint8_t salt[PASSWORD_SALT], hash[PASSWORD_LEN];
    char salt_hex[2 * PASSWORD_SALT + 1], hash_hex[2 * PASSWORD_LEN + 1];
    if (crypto_random(salt, sizeof salt) < 0 ||
        crypto_pbkdf2(password, salt, sizeof salt, PASSWORD_ITERATIONS, hash, sizeof hash) < 0)
        return -1;
    crypto_hex(salt, sizeof salt, salt_hex);
    crypto_hex(hash, sizeof hash, hash_hex);
    int n = snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", PASSWORD_ITERATIONS, salt_hex, hash_hex);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int crypto_password_verify(const char *password, const char *stored)
{
    char salt_hex[2 * PASSWORD_SALT + 1], hash_hex[2 * PASSWORD_LEN + 1];
    int iterations = 0, used = 0;
    if (sscanf(stored, "pbkdf2-sha256$%d$%32[0-9a-f]$%64[0-9a-f]%n", &iterations, salt_hex, hash_hex, &used) != 3 ||
        stored[used] != '\0' || iterations < 1 || iterations > 10000000)
        return -1;
    uint8_t salt[PASSWORD_SALT], want[PASSWORD_LEN], got[PASSWORD_LEN];
    if (crypto_unhex(salt_hex, salt, sizeof salt) < 0 || crypto_unhex(hash_hex, want, sizeof want) < 0)
        return -1;
    if (crypto_pbkdf2(password, salt, sizeof salt, iterations, got, sizeof got) < 0)
        return -1;
    return CRYPTO_memcmp(got, want, sizeof got) == 0 ? 1 : 0;
}

/* ---- AES-256-GCM ------------------------------------------------------------------------ */

int crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const void *plain, size_t plain_len,
                uint8_t *out)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    if (!ctx || crypto_random(out, 12) < 0)
        goto done;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) != 1)
        goto done;
    if (aad_len && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
        goto done;
    if (EVP_EncryptUpdate(ctx, out + 12, &len, plain, (int)plain_len) != 1)
        goto done;
    if (EVP_EncryptFinal_ex(ctx, out + 12 + len, &len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + plain_len) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const void *aad, size_t aad_len, const uint8_t *sealed,
                size_t sealed_len, uint8_t *out)
{
    if (sealed_len < CRYPTO_SEAL_OVERHEAD)
        return -1;
    size_t plain_len = sealed_len - CRYPTO_SEAL_OVERHEAD;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, ok = 0;
    uint8_t tag[16];
    memcpy(tag, sealed + 12 + plain_len, 16);
    if (!ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1)
        goto done;
    if (aad_len && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
        goto done;
    if (EVP_DecryptUpdate(ctx, out, &len, sealed + 12, (int)plain_len) != 1)
        goto done;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
        goto done;
    if (EVP_DecryptFinal_ex(ctx, out + len, &len) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        OPENSSL_cleanse(out, plain_len);
    return ok ? 0 : -1;
}

int crypto_master_key_load(const char *hex, const char *file, uint8_t key[CRYPTO_KEY_LEN], char *err, size_t errlen)
{
    char line[256] = "";
    const char *source = "SLUICE_MASTER_KEY";
    if (!hex || !*hex) {
        if (!file || !*file) {
            snprintf(err, errlen, "no master key: set SLUICE_MASTER_KEY (64 hex digits) or master-key-file");
            return -1;
        }
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(err, errlen,
                     "master key file %s: %s (set SLUICE_MASTER_KEY or create it with "
                     "`openssl rand -hex 32 > %s`)",
                     file, strerror(errno), file);
            return -1;
        }
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        hex = line;
        source = file;
    }
    if (crypto_unhex(hex, key, CRYPTO_KEY_LEN) < 0) {
        snprintf(err, errlen, "master key from %s is not 64 hex digits", source);
        return -1;
    }
    return 0;
}

/* ---- development certificate ------------------------------------------------------------ */

static int crypto_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int ok = pkey ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    return (fclose(f) == 0 && ok == 1) ? 0 : -1;
}

int crypto_tls_self_signed(const char *dir, int *created, char *err, size_t errlen)
{
    char key_path[4096], cert_path[4096];
    struct stat st;
    *created = 0;
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    if (stat(key_path, &st) == 0 && stat(cert_path, &st) == 0)
        return 0;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext = NULL;
    int ok = 0;
    uint8_t serial[8];
    if (!pkey || !x || crypto_random(serial, sizeof serial) < 0)
        goto done;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
    X509_set_pubkey(x, pkey);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Sluice development", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    static const struct {
        int nid;
        const char *value;
    } exts[] = {
        {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,digitalSignature,keyCertSign"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
    };
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        if (!ext || !X509_add_ext(x, ext, -1))
            goto done;
        X509_EXTENSION_free(ext);
        ext = NULL;
    }
    if (!X509_sign(x, pkey, EVP_sha256()))
        goto done;
    if (crypto_write_pem(key_path, 0600, pkey, NULL) < 0 || crypto_write_pem(cert_path, 0644, NULL, x) < 0)
        goto done;
    ok = 1;
    *created = 1;
done:
    if (!ok)
        snprintf(err, errlen, "could not generate a TLS certificate under %s", dir);
    X509_EXTENSION_free(ext);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ok ? 0 : -1;
}

int crypto_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}
