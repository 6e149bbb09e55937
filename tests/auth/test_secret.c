/*
 * Unit tests for auth/secret: AES-256-GCM tokens, key validation, tamper
 * detection, rotation, masking, and that no key material reaches messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/secret.h"
#include "base/alloc.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 32 bytes 0x00..0x1f and 32 bytes 0x20..0x3f. */
#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEY_B "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static void init_ring(struct auth_secret_keyring *kr, const char *b64)
{
    char err[256] = "";
    assert_int_equal(auth_secret_keyring_init(kr, b64, err, sizeof(err)), 0);
    assert_int_equal(kr->len, 1);
    assert_int_equal(strlen(auth_secret_keyring_current_id(kr)), AUTH_SECRET_KEYID_LEN);
}

static void roundtrip(size_t n)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    unsigned char *plain = malloc(n + 1), *back = malloc(n + 1);
    size_t tsize = AUTH_SECRET_TOKEN_SIZE(n);
    char *tok = malloc(tsize);
    for (size_t i = 0; i < n; i++)
        plain[i] = (unsigned char)(i * 7 + 3);
    assert_int_equal(auth_secret_encrypt(&kr, plain, n, tok, tsize), 0);
    assert_int_equal(strncmp(tok, "v1:", 3), 0);
    assert_memory_equal(tok + 3, auth_secret_keyring_current_id(&kr), AUTH_SECRET_KEYID_LEN);
    assert_int_equal(tok[3 + AUTH_SECRET_KEYID_LEN], ':');
    size_t got = 99;
    assert_int_equal(auth_secret_decrypt(&kr, tok, strlen(tok), back, n + 1, &got), 0);
    assert_int_equal(got, n);
    if (n)
        assert_memory_equal(back, plain, n);
    free(plain);
    free(back);
    free(tok);
    auth_secret_keyring_free(&kr);
}

static void test_secret_roundtrip_small_empty_and_64k(void **state)
{
    roundtrip(0);
    roundtrip(1);
    roundtrip(17);
    roundtrip(65536);
}

static void test_secret_token_size_macro_is_enough_and_short_out_refused(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    char tok[256];
    for (size_t n = 0; n < 40; n++) {
        size_t need = AUTH_SECRET_TOKEN_SIZE(n);
        assert_int_equal(auth_secret_encrypt(&kr, "0123456789012345678901234567890123456789",
                                             n, tok, need), 0);
        assert_true(strlen(tok) < need);
    }
    assert_int_equal(auth_secret_encrypt(&kr, "abc", 3, tok, 20), BASE_ERR_TOO_BIG);
    assert_string_equal(tok, "");
    auth_secret_keyring_free(&kr);
}

static void test_secret_same_plaintext_encrypts_differently(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    char t1[128], t2[128];
    assert_int_equal(auth_secret_encrypt(&kr, "hunter2", 7, t1, sizeof(t1)), 0);
    assert_int_equal(auth_secret_encrypt(&kr, "hunter2", 7, t2, sizeof(t2)), 0);
    assert_string_not_equal(t1, t2);
    auth_secret_keyring_free(&kr);
}

/* Decodes the token body, flips one bit at `pos` (negative = from the end),
 * re-encodes: a tamper that is still well-formed base64url. */
static void tamper_body(char *tok, size_t toksize, long pos)
{
    char *b64 = tok + 3 + AUTH_SECRET_KEYID_LEN + 1;
    unsigned char bin[512];
    size_t len = 0;
    assert_int_equal(sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &len, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    size_t at = pos < 0 ? len - (size_t)(-pos) : (size_t)pos;
    assert_true(at < len);
    bin[at] ^= 0x01;
    sodium_bin2base64(b64, toksize - (size_t)(b64 - tok), bin, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void expect_decrypt(const struct auth_secret_keyring *kr, const char *tok, int want)
{
    char out[64];
    memset(out, 'x', sizeof(out));
    size_t n = 77;
    assert_int_equal(auth_secret_decrypt(kr, tok, strlen(tok), out, sizeof(out), &n), want);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0);   /* no partial plaintext */
}

static void test_secret_tampering_is_detected(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    const char *secret = "postgres://u:pw@db/x";
    char orig[128], tok[128];
    assert_int_equal(auth_secret_encrypt(&kr, secret, strlen(secret), orig, sizeof(orig)), 0);
    long positions[] = {0, 11, 12, 12 + 5, -16, -1};   /* nonce, ciphertext, tag */
    for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
        memcpy(tok, orig, sizeof(tok));
        tamper_body(tok, sizeof(tok), positions[i]);
        assert_string_not_equal(tok, orig);
        expect_decrypt(&kr, tok, AUTH_SECRET_ERR_AUTH);
    }
    /* Truncated ciphertext (drop the last byte of the blob). */
    memcpy(tok, orig, sizeof(tok));
    {
        char *b64 = tok + 3 + AUTH_SECRET_KEYID_LEN + 1;
        unsigned char bin[256];
        size_t len = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &len,
                                           NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
        sodium_bin2base64(b64, 100, bin, len - 1, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        expect_decrypt(&kr, tok, AUTH_SECRET_ERR_AUTH);
    }
    /* Key id changed to an unknown one. */
    memcpy(tok, orig, sizeof(tok));
    tok[3] = tok[3] == 'a' ? 'b' : 'a';
    expect_decrypt(&kr, tok, BASE_ERR_NOT_FOUND);
    /* The untouched token still decrypts. */
    char out[64];
    size_t n = 0;
    assert_int_equal(auth_secret_decrypt(&kr, orig, strlen(orig), out, sizeof(out), &n), 0);
    assert_int_equal(n, strlen(secret));
    assert_memory_equal(out, secret, n);
    auth_secret_keyring_free(&kr);
}

static void test_secret_key_id_swapped_to_other_known_key_fails_auth(void **state)
{
    struct auth_secret_keyring a, b;
    init_ring(&a, KEY_A);
    init_ring(&b, KEY_B);
    assert_int_equal(auth_secret_keyring_add_old(&b, KEY_A, NULL, 0), 0);
    char tok[128];
    assert_int_equal(auth_secret_encrypt(&a, "slack-token", 11, tok, sizeof(tok)), 0);
    /* Relabel a key-A token as key B: the AAD binds the id, so it fails. */
    memcpy(tok + 3, auth_secret_keyring_current_id(&b), AUTH_SECRET_KEYID_LEN);
    expect_decrypt(&b, tok, AUTH_SECRET_ERR_AUTH);
    auth_secret_keyring_free(&a);
    auth_secret_keyring_free(&b);
}

static void test_secret_wrong_key_fails(void **state)
{
    struct auth_secret_keyring a, b;
    init_ring(&a, KEY_A);
    init_ring(&b, KEY_B);
    char tok[128];
    assert_int_equal(auth_secret_encrypt(&a, "abc", 3, tok, sizeof(tok)), 0);
    expect_decrypt(&b, tok, BASE_ERR_NOT_FOUND);
    /* Same id, other key bytes: relabel B's key with A's id (not possible
     * through the API) so the lookup succeeds and only the tag can catch it. */
    memcpy(b.keys[0].id, a.keys[0].id, sizeof(a.keys[0].id));
    expect_decrypt(&b, tok, AUTH_SECRET_ERR_AUTH);
    auth_secret_keyring_free(&a);
    auth_secret_keyring_free(&b);
}

static void test_secret_malformed_tokens_are_invalid(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    char good[128], tok[160];
    assert_int_equal(auth_secret_encrypt(&kr, "abc", 3, good, sizeof(good)), 0);
    const char *id = auth_secret_keyring_current_id(&kr);
    const char *bad[] = {"", "v1", "v1:", "v2:", "v1:abc:xyz", "v1:ABCDEF01:AAAA",
                         "v1:zzzzzzzz:AAAA", "x1:12345678:AAAA"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_decrypt(&kr, bad[i], BASE_ERR_INVALID);
    snprintf(tok, sizeof(tok), "v1:%s:", id);                 /* empty body */
    expect_decrypt(&kr, tok, BASE_ERR_INVALID);
    snprintf(tok, sizeof(tok), "v1:%s:AAAAAAAA", id);         /* shorter than nonce+tag */
    expect_decrypt(&kr, tok, BASE_ERR_INVALID);
    snprintf(tok, sizeof(tok), "%s!", good);                  /* not base64url */
    expect_decrypt(&kr, tok, BASE_ERR_INVALID);
    snprintf(tok, sizeof(tok), "%s==", good);                 /* padding not allowed */
    expect_decrypt(&kr, tok, BASE_ERR_INVALID);
    memcpy(tok, good, sizeof(good));
    tok[3 + AUTH_SECRET_KEYID_LEN] = ';';
    expect_decrypt(&kr, tok, BASE_ERR_INVALID);
    /* Output buffer too small is its own error, with nothing written. */
    char out[2] = {'x', 'x'};
    size_t n = 5;
    assert_int_equal(auth_secret_decrypt(&kr, good, strlen(good), out, sizeof(out), &n),
                     BASE_ERR_TOO_BIG);
    assert_int_equal(n, 0);
    assert_int_equal(out[0], 0);
    /* A length that stops short of the NUL is honoured. */
    assert_int_equal(auth_secret_decrypt(&kr, good, strlen(good) - 1, out, sizeof(out), &n) < 0,
                     1);
    auth_secret_keyring_free(&kr);
}

static void test_secret_rotation_old_key_decrypts_and_reencrypt_uses_new_id(void **state)
{
    struct auth_secret_keyring old, cur;
    init_ring(&old, KEY_A);
    char tok[128], tok2[128], out[64];
    size_t n = 0;
    assert_int_equal(auth_secret_encrypt(&old, "token-123", 9, tok, sizeof(tok)), 0);

    init_ring(&cur, KEY_B);
    assert_string_not_equal(auth_secret_keyring_current_id(&cur),
                            auth_secret_keyring_current_id(&old));
    expect_decrypt(&cur, tok, BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_secret_keyring_add_old(&cur, KEY_A, NULL, 0), 0);
    assert_int_equal(auth_secret_keyring_add_old(&cur, KEY_A, NULL, 0), BASE_ERR_EXISTS);
    assert_int_equal(auth_secret_keyring_add_old(&cur, KEY_B, NULL, 0), BASE_ERR_EXISTS);
    assert_int_equal(cur.len, 2);
    assert_int_equal(auth_secret_decrypt(&cur, tok, strlen(tok), out, sizeof(out), &n), 0);
    assert_int_equal(n, 9);
    assert_memory_equal(out, "token-123", 9);

    assert_int_equal(auth_secret_encrypt(&cur, out, n, tok2, sizeof(tok2)), 0);
    assert_memory_equal(tok2 + 3, auth_secret_keyring_current_id(&cur), AUTH_SECRET_KEYID_LEN);
    expect_decrypt(&old, tok2, BASE_ERR_NOT_FOUND);
    auth_secret_keyring_free(&old);
    auth_secret_keyring_free(&cur);
    /* free wipes the key bytes. */
    static const unsigned char zero[sizeof(cur)];
    assert_memory_equal(&cur, zero, sizeof(cur));
}

static void test_secret_keyring_holds_at_most_eight_keys(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    char b64[64];
    unsigned char key[32];
    for (int i = 0; i < 8; i++) {
        memset(key, 0x40 + i, sizeof(key));
        sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
        assert_int_equal(auth_secret_keyring_add_old(&kr, b64, NULL, 0),
                         i < 7 ? 0 : BASE_ERR_TOO_BIG);
    }
    assert_int_equal(kr.len, AUTH_SECRET_MAX_KEYS);
    auth_secret_keyring_free(&kr);
}

/* Asserts init refuses b64 and that the message holds neither the input
 * nor any 6-char run of it (nor of the decoded bytes' hex). */
static void expect_bad_key(const char *b64)
{
    struct auth_secret_keyring kr;
    char err[256] = "";
    assert_int_equal(auth_secret_keyring_init(&kr, b64, err, sizeof(err)), BASE_ERR_INVALID);
    assert_int_equal(kr.len, 0);
    assert_true(strlen(err) > 10);
    assert_non_null(strstr(err, "ENCRYPTION_KEY_BASE64"));
    size_t len = strlen(b64);
    for (size_t i = 0; i + 6 <= len; i++) {
        char run[7];
        memcpy(run, b64 + i, 6);
        run[6] = '\0';
        if (strcmp(run, "ENCRYP") == 0)
            continue;
        assert_null(strstr(err, run));
    }
    auth_secret_keyring_free(&kr);
}

static void test_secret_key_must_be_exactly_32_bytes_and_errors_hide_it(void **state)
{
    unsigned char key[40];
    char b64[80];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)(0xA0 + i);
    sodium_bin2base64(b64, sizeof(b64), key, 31, sodium_base64_VARIANT_ORIGINAL);
    expect_bad_key(b64);
    sodium_bin2base64(b64, sizeof(b64), key, 33, sodium_base64_VARIANT_ORIGINAL);
    expect_bad_key(b64);
    sodium_bin2base64(b64, sizeof(b64), key, 16, sodium_base64_VARIANT_ORIGINAL);
    expect_bad_key(b64);
    expect_bad_key("s3cr3t*v@lue%n0t&b64~Zq9");
    expect_bad_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=xyz");
    expect_bad_key("");
    char longkey[400];
    memset(longkey, 'Q', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    expect_bad_key(longkey);
    struct auth_secret_keyring kr;
    assert_int_equal(auth_secret_keyring_init(&kr, NULL, NULL, 0), BASE_ERR_INVALID);

    /* Accepted spellings: padded, unpadded, with a trailing newline. */
    char err[128];
    assert_int_equal(auth_secret_keyring_init(&kr, KEY_A, err, sizeof(err)), 0);
    char id[16];
    snprintf(id, sizeof(id), "%s", auth_secret_keyring_current_id(&kr));
    assert_int_equal(auth_secret_keyring_init(&kr,
                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", err, sizeof(err)), 0);
    assert_string_equal(auth_secret_keyring_current_id(&kr), id);
    assert_int_equal(auth_secret_keyring_init(&kr, KEY_A "\n", err, sizeof(err)), 0);
    assert_string_equal(auth_secret_keyring_current_id(&kr), id);
    auth_secret_keyring_free(&kr);
    /* add_old reports bad keys the same way. */
    init_ring(&kr, KEY_A);
    err[0] = '\0';
    sodium_bin2base64(b64, sizeof(b64), key, 31, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(auth_secret_keyring_add_old(&kr, b64, err, sizeof(err)), BASE_ERR_INVALID);
    assert_non_null(strstr(err, "32 bytes"));
    assert_null(strstr(err, b64));
    assert_int_equal(kr.len, 1);
    auth_secret_keyring_free(&kr);
}

static void test_secret_key_id_is_stable_hex_derived_from_key(void **state)
{
    struct auth_secret_keyring a, b;
    init_ring(&a, KEY_A);
    init_ring(&b, KEY_B);
    const char *ia = auth_secret_keyring_current_id(&a);
    assert_int_equal(strspn(ia, "0123456789abcdef"), AUTH_SECRET_KEYID_LEN);
    assert_string_not_equal(ia, auth_secret_keyring_current_id(&b));
    /* The id must not be a prefix of the key's hex or base64. */
    assert_null(strstr(KEY_A, ia));
    assert_string_not_equal(ia, "00010203");
    auth_secret_keyring_free(&a);
    auth_secret_keyring_free(&b);
}

static void test_secret_mask_shows_last_four_only_when_long(void **state)
{
    char out[16];
    assert_int_equal(auth_secret_mask("xoxb-1234567890-abcd", out, sizeof(out)), 0);
    assert_string_equal(out, "****abcd");
    assert_int_equal(auth_secret_mask("123456789012", out, sizeof(out)), 0);   /* 12: hidden */
    assert_string_equal(out, "****");
    assert_int_equal(auth_secret_mask("1234567890123", out, sizeof(out)), 0);  /* 13 */
    assert_string_equal(out, "****0123");
    assert_int_equal(auth_secret_mask("", out, sizeof(out)), 0);
    assert_string_equal(out, "****");
    assert_int_equal(auth_secret_mask(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "****");
    /* "\xc3\xa9" is é: the tail must not start in the middle of it. */
    assert_int_equal(auth_secret_mask("abcdefghijkl\xc3\xa9xyz", out, sizeof(out)), 0);
    assert_string_equal(out, "****xyz");
    assert_int_equal(auth_secret_mask("xoxb-1234567890-abcd", out, 6), BASE_ERR_TOO_BIG);
    assert_string_equal(out, "");
}

static void test_secret_allocation_failure_fails_cleanly(void **state)
{
    struct auth_secret_keyring kr;
    init_ring(&kr, KEY_A);
    char tok[128], out[32];
    size_t n = 0;
    base_alloc_fail_after(0);
    assert_int_equal(auth_secret_encrypt(&kr, "abc", 3, tok, sizeof(tok)), BASE_ERR_NOMEM);
    base_alloc_fail_after(-1);
    assert_string_equal(tok, "");
    assert_int_equal(auth_secret_encrypt(&kr, "abc", 3, tok, sizeof(tok)), 0);
    base_alloc_fail_after(0);
    assert_int_equal(auth_secret_decrypt(&kr, tok, strlen(tok), out, sizeof(out), &n),
                     BASE_ERR_NOMEM);
    base_alloc_fail_after(-1);
    assert_int_equal(auth_secret_decrypt(&kr, tok, strlen(tok), out, sizeof(out), &n), 0);
    assert_int_equal(n, 3);
    auth_secret_keyring_free(&kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_roundtrip_small_empty_and_64k),
        cmocka_unit_test(test_secret_token_size_macro_is_enough_and_short_out_refused),
        cmocka_unit_test(test_secret_same_plaintext_encrypts_differently),
        cmocka_unit_test(test_secret_tampering_is_detected),
        cmocka_unit_test(test_secret_key_id_swapped_to_other_known_key_fails_auth),
        cmocka_unit_test(test_secret_wrong_key_fails),
        cmocka_unit_test(test_secret_malformed_tokens_are_invalid),
        cmocka_unit_test(test_secret_rotation_old_key_decrypts_and_reencrypt_uses_new_id),
        cmocka_unit_test(test_secret_keyring_holds_at_most_eight_keys),
        cmocka_unit_test(test_secret_key_must_be_exactly_32_bytes_and_errors_hide_it),
        cmocka_unit_test(test_secret_key_id_is_stable_hex_derived_from_key),
        cmocka_unit_test(test_secret_mask_shows_last_four_only_when_long),
        cmocka_unit_test(test_secret_allocation_failure_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
