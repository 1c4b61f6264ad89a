/* crypto_test.c — unit tests for common/crypto: hashing, passwords, AES-256-GCM, master key. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "tests/unit/check_main.h"

START_TEST(test_sha256_known_vector)
{
    char hex[CRYPTO_SHA256_HEX];
    crypto_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_hex_round_trip_and_rejects)
{
    uint8_t in[4] = {0x00, 0x7f, 0xa5, 0xff}, out[4];
    char hex[9];
    crypto_hex(in, 4, hex);
    ck_assert_str_eq(hex, "007fa5ff");
    ck_assert_int_eq(crypto_unhex("007FA5ff", out, 4), 0);
    ck_assert_mem_eq(in, out, 4);
    ck_assert_int_eq(crypto_unhex("007fa5f", out, 4), -1);    /* too short */
    ck_assert_int_eq(crypto_unhex("007fa5fg", out, 4), -1);   /* not hex */
    ck_assert_int_eq(crypto_unhex("007fa5ff00", out, 4), -1); /* too long */
}
END_TEST

START_TEST(test_token_format_and_uniqueness)
{
    char a[80], b[80];
    ck_assert_int_eq(crypto_token("sk_", a, sizeof a), 0);
    ck_assert_int_eq(crypto_token("sk_", b, sizeof b), 0);
    ck_assert_uint_eq(strlen(a), 67);
    ck_assert_int_eq(strncmp(a, "sk_", 3), 0);
    ck_assert_uint_eq(strspn(a + 3, "0123456789abcdef"), 64);
    ck_assert_str_ne(a, b);
    char small[10];
    ck_assert_int_eq(crypto_token("sk_", small, sizeof small), -1);
}
END_TEST

START_TEST(test_password_hash_and_verify)
{
    char h1[CRYPTO_PASSWORD_HASH_MAX], h2[CRYPTO_PASSWORD_HASH_MAX];
    ck_assert_int_eq(crypto_password_hash("correct horse", h1, sizeof h1), 0);
    ck_assert_int_eq(crypto_password_hash("correct horse", h2, sizeof h2), 0);
    ck_assert_int_eq(strncmp(h1, "pbkdf2-sha256$", 14), 0);
    ck_assert_str_ne(h1, h2); /* salted */
    ck_assert_ptr_null(strstr(h1, "correct"));
    ck_assert_int_eq(crypto_password_verify("correct horse", h1), 1);
    ck_assert_int_eq(crypto_password_verify("correct horse", h2), 1);
    ck_assert_int_eq(crypto_password_verify("correct horsE", h1), 0);
    ck_assert_int_eq(crypto_password_verify("", h1), 0);
    ck_assert_int_eq(crypto_password_verify("x", "plain text"), -1);
    ck_assert_int_eq(crypto_password_verify("x", "pbkdf2-sha256$0$00$00"), -1);
    /* A tampered stored hash no longer verifies. */
    size_t n = strlen(h1);
    h1[n - 1] = h1[n - 1] == '0' ? '1' : '0';
    ck_assert_int_eq(crypto_password_verify("correct horse", h1), 0);
}
END_TEST

static const uint8_t test_key[CRYPTO_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

START_TEST(test_seal_open_round_trip)
{
    const char *msg = "kafka password: hunter2";
    size_t len = strlen(msg);
    uint8_t sealed[128], sealed2[128], plain[128];
    ck_assert_int_eq(crypto_seal(test_key, "tenant-a", 8, msg, len, sealed), 0);
    ck_assert_int_eq(crypto_seal(test_key, "tenant-a", 8, msg, len, sealed2), 0);
    ck_assert_int_ne(memcmp(sealed, sealed2, len + CRYPTO_SEAL_OVERHEAD), 0); /* fresh nonce */
    ck_assert_ptr_null(memmem(sealed, len + CRYPTO_SEAL_OVERHEAD, "hunter2", 7));
    ck_assert_int_eq(crypto_open(test_key, "tenant-a", 8, sealed, len + CRYPTO_SEAL_OVERHEAD, plain), 0);
    ck_assert_mem_eq(plain, msg, len);
    /* Empty plaintext works too. */
    ck_assert_int_eq(crypto_seal(test_key, NULL, 0, "", 0, sealed), 0);
    ck_assert_int_eq(crypto_open(test_key, NULL, 0, sealed, CRYPTO_SEAL_OVERHEAD, plain), 0);
}
END_TEST

START_TEST(test_open_detects_tampering)
{
    const char *msg = "secret value";
    size_t len = strlen(msg), total = len + CRYPTO_SEAL_OVERHEAD;
    uint8_t sealed[64], plain[64], other_key[CRYPTO_KEY_LEN];
    ck_assert_int_eq(crypto_seal(test_key, "tenant-a", 8, msg, len, sealed), 0);
    for (size_t i = 0; i < total; i++) { /* every byte: nonce, ciphertext, tag */
        sealed[i] ^= 0x01;
        ck_assert_int_eq(crypto_open(test_key, "tenant-a", 8, sealed, total, plain), -1);
        sealed[i] ^= 0x01;
    }
    ck_assert_int_eq(crypto_open(test_key, "tenant-b", 8, sealed, total, plain), -1); /* other tenant */
    memcpy(other_key, test_key, sizeof other_key);
    other_key[0] ^= 0x80;
    ck_assert_int_eq(crypto_open(other_key, "tenant-a", 8, sealed, total, plain), -1);
    ck_assert_int_eq(crypto_open(test_key, "tenant-a", 8, sealed, total - 1, plain), -1); /* truncated */
    ck_assert_int_eq(crypto_open(test_key, "tenant-a", 8, sealed, 10, plain), -1);
    ck_assert_int_eq(crypto_open(test_key, "tenant-a", 8, sealed, total, plain), 0);
}
END_TEST

START_TEST(test_master_key_sources)
{
    uint8_t key[CRYPTO_KEY_LEN];
    char err[256];
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    ck_assert_int_eq(crypto_master_key_load(hex, NULL, key, err, sizeof err), 0);
    ck_assert_uint_eq(key[31], 0x1f);
    ck_assert_int_eq(crypto_master_key_load("abcd", NULL, key, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "64 hex digits"));
    ck_assert_int_eq(crypto_master_key_load(NULL, NULL, key, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "SLUICE_MASTER_KEY"));
    char path[] = "/tmp/sluice-key-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, hex, 64), 64);
    ck_assert_int_eq(write(fd, "\n", 1), 1);
    close(fd);
    memset(key, 0, sizeof key);
    ck_assert_int_eq(crypto_master_key_load("", path, key, err, sizeof err), 0);
    ck_assert_uint_eq(key[1], 0x01);
    unlink(path);
    ck_assert_int_eq(crypto_master_key_load("", path, key, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_self_signed_certificate)
{
    char dir[] = "/tmp/sluice-tls-XXXXXX", err[256], path[64];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int created = 0;
    ck_assert_int_eq(crypto_tls_self_signed(dir, &created, err, sizeof err), 0);
    ck_assert_int_eq(created, 1);
    struct stat st;
    snprintf(path, sizeof path, "%s/key.pem", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(crypto_tls_self_signed(dir, &created, err, sizeof err), 0);
    ck_assert_int_eq(created, 0); /* kept */
    unlink(path);
    snprintf(path, sizeof path, "%s/cert.pem", dir);
    ck_assert_int_eq(stat(path, &st), 0);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("crypto");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sha256_known_vector);
    tcase_add_test(tc, test_hex_round_trip_and_rejects);
    tcase_add_test(tc, test_token_format_and_uniqueness);
    tcase_add_test(tc, test_password_hash_and_verify);
    tcase_add_test(tc, test_seal_open_round_trip);
    tcase_add_test(tc, test_open_detects_tampering);
    tcase_add_test(tc, test_master_key_sources);
    tcase_add_test(tc, test_self_signed_certificate);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
