/*
 * Unit tests for auth/password: Argon2id hashes verify the right password
 * only, carry a random salt, report when they need a rehash, and the
 * password length limits hold. Uses the MIN limits for speed, except one
 * hash at the INTERACTIVE defaults whose duration is printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/password.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPS crypto_pwhash_OPSLIMIT_MIN
#define MEM crypto_pwhash_MEMLIMIT_MIN

static int hash(const char *pw, char *out)
{
    return auth_password_hash(pw, strlen(pw), OPS, MEM, out, AUTH_PASSWORD_HASH_MAX);
}

static void test_password_verify_accepts_right_and_rejects_wrong(void **state)
{
    char h[AUTH_PASSWORD_HASH_MAX];
    (void)state;
    assert_int_equal(auth_password_init(), 0);
    assert_int_equal(hash("correct horse battery staple", h), 0);
    assert_int_equal(auth_password_verify(h, "correct horse battery staple", 28), 0);
    assert_int_equal(auth_password_verify(h, "correct horse battery stapl", 27), AUTH_PASSWORD_ERR_MISMATCH);
    assert_int_equal(auth_password_verify(h, "Correct horse battery staple", 28), AUTH_PASSWORD_ERR_MISMATCH);
    assert_int_equal(auth_password_verify(h, "correct horse battery staple!", 29), AUTH_PASSWORD_ERR_MISMATCH);
    /* binary passwords with NUL bytes are hashed by length */
    assert_int_equal(auth_password_hash("a\0b", 3, OPS, MEM, h, sizeof(h)), 0);
    assert_int_equal(auth_password_verify(h, "a\0b", 3), 0);
    assert_int_equal(auth_password_verify(h, "a\0c", 3), AUTH_PASSWORD_ERR_MISMATCH);
    assert_int_equal(auth_password_verify(h, "a", 1), AUTH_PASSWORD_ERR_MISMATCH);
}

static void test_password_hash_is_argon2id_and_salted(void **state)
{
    char h1[AUTH_PASSWORD_HASH_MAX], h2[AUTH_PASSWORD_HASH_MAX];
    (void)state;
    assert_int_equal(hash("hunter2hunter2", h1), 0);
    assert_int_equal(hash("hunter2hunter2", h2), 0);
    assert_int_equal(strncmp(h1, "$argon2id$v=19$", 15), 0);
    assert_null(strstr(h1, "hunter2"));
    assert_string_not_equal(h1, h2);
    assert_int_equal(auth_password_verify(h1, "hunter2hunter2", 14), 0);
    assert_int_equal(auth_password_verify(h2, "hunter2hunter2", 14), 0);
}

static void test_password_needs_rehash_when_params_change(void **state)
{
    char h[AUTH_PASSWORD_HASH_MAX];
    (void)state;
    assert_int_equal(hash("pw-for-rehash", h), 0);
    assert_int_equal(auth_password_needs_rehash(h, OPS, MEM), 0);
    assert_int_equal(auth_password_needs_rehash(h, OPS + 1, MEM), 1);
    assert_int_equal(auth_password_needs_rehash(h, OPS, MEM * 2), 1);
    assert_int_equal(auth_password_needs_rehash(h, 0, 0), 1); /* defaults = INTERACTIVE */
    /* an older Argon2i hash still verifies but always needs a rehash */
    char old[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(old, "legacy", 6, crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                           MEM, crypto_pwhash_ALG_ARGON2I13), 0);
    assert_int_equal(auth_password_verify(old, "legacy", 6), 0);
    assert_int_equal(auth_password_needs_rehash(old, crypto_pwhash_argon2i_OPSLIMIT_MIN, MEM), 1);
    assert_int_equal(auth_password_needs_rehash("$2b$10$notargon", OPS, MEM), BASE_ERR_INVALID);
    assert_int_equal(auth_password_needs_rehash("$argon2id$garbage", OPS, MEM), BASE_ERR_INVALID);
    assert_int_equal(auth_password_needs_rehash("", OPS, MEM), BASE_ERR_INVALID);
}

static void test_password_limits(void **state)
{
    char h[AUTH_PASSWORD_HASH_MAX], small[64];
    char *big = malloc(AUTH_PASSWORD_MAX + 1);
    (void)state;
    assert_non_null(big);
    memset(big, 'p', AUTH_PASSWORD_MAX + 1);
    assert_int_equal(auth_password_hash("", 0, OPS, MEM, h, sizeof(h)), BASE_ERR_INVALID);
    assert_int_equal(auth_password_hash(NULL, 5, OPS, MEM, h, sizeof(h)), BASE_ERR_INVALID);
    assert_int_equal(auth_password_hash(big, AUTH_PASSWORD_MAX + 1, OPS, MEM, h, sizeof(h)), BASE_ERR_TOO_BIG);
    assert_int_equal(auth_password_hash(big, AUTH_PASSWORD_MAX, OPS, MEM, h, sizeof(h)), 0);
    assert_int_equal(auth_password_verify(h, big, AUTH_PASSWORD_MAX), 0);
    assert_int_equal(auth_password_verify(h, big, AUTH_PASSWORD_MAX + 1), BASE_ERR_TOO_BIG);
    assert_int_equal(auth_password_verify(h, "", 0), BASE_ERR_INVALID);
    assert_int_equal(auth_password_hash("pw", 2, OPS, MEM, small, sizeof(small)), BASE_ERR_TOO_BIG);
    assert_string_equal(small, "");
    assert_int_equal(auth_password_hash("pw", 2, OPS, 1024, h, sizeof(h)), BASE_ERR_INVALID);
    /* unterminated or garbage stored hashes */
    char unterminated[AUTH_PASSWORD_HASH_MAX];
    memset(unterminated, '$', sizeof(unterminated));
    assert_int_equal(auth_password_verify(unterminated, "pw", 2), BASE_ERR_INVALID);
    assert_int_equal(auth_password_needs_rehash(unterminated, OPS, MEM), BASE_ERR_INVALID);
    assert_int_equal(auth_password_verify(NULL, "pw", 2), BASE_ERR_INVALID);
    assert_int_equal(auth_password_verify("", "pw", 2), AUTH_PASSWORD_ERR_MISMATCH);
    assert_int_equal(auth_password_verify("$argon2id$v=19$m=8,t=1,p=1$xx$yy", "pw", 2),
                     AUTH_PASSWORD_ERR_MISMATCH);
    free(big);
}

static void test_password_interactive_default_time(void **state)
{
    char h[AUTH_PASSWORD_HASH_MAX];
    struct timespec a, b, c;
    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(auth_password_hash("interactive-pw", 14, 0, 0, h, sizeof(h)), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(auth_password_verify(h, "interactive-pw", 14), 0);
    clock_gettime(CLOCK_MONOTONIC, &c);
    assert_int_equal(auth_password_needs_rehash(h, 0, 0), 0);
    assert_non_null(strstr(h, "m=65536,t=2,p=1"));
    printf("argon2id INTERACTIVE: hash %.1f ms, verify %.1f ms\n",
           (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6,
           (double)(c.tv_sec - b.tv_sec) * 1e3 + (double)(c.tv_nsec - b.tv_nsec) / 1e6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_verify_accepts_right_and_rejects_wrong),
        cmocka_unit_test(test_password_hash_is_argon2id_and_salted),
        cmocka_unit_test(test_password_needs_rehash_when_params_change),
        cmocka_unit_test(test_password_limits),
        cmocka_unit_test(test_password_interactive_default_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
