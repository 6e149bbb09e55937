/*
 * auth/password: password hashing with Argon2id (libsodium crypto_pwhash,
 * crypto_pwhash_ALG_ARGON2ID13), verification and rehash detection. Hashes
 * are self-describing "$argon2id$v=19$m=...,t=...,p=1$salt$hash" strings
 * with a random salt. Never logs and never copies a password anywhere.
 *
 * BLOCKING: hashing and verifying cost tens of milliseconds of CPU and
 * `memlimit` bytes of RAM (64 MiB at the INTERACTIVE default). Called from
 * the libuv loop they must run on a worker thread (uv_queue_work).
 */
#ifndef AUTH_PASSWORD_H
#define AUTH_PASSWORD_H

#include "base/err.h"

#include <stddef.h>

#define AUTH_PASSWORD_MAX 1024       /* bytes; longer passwords are refused */
#define AUTH_PASSWORD_HASH_MAX 128   /* = crypto_pwhash_STRBYTES, NUL included */
/* Module error code: the hash is valid but the password does not match. */
#define AUTH_PASSWORD_ERR_MISMATCH (-100)

/* Initialises libsodium once (thread-safe, idempotent). The other
 * functions call it themselves; main may call it early to fail fast.
 * 0 or BASE_ERR_UNAVAILABLE. */
int auth_password_init(void) WARN_UNUSED;

/* Hashes pw[0..len) (any bytes) into out (outlen >= AUTH_PASSWORD_HASH_MAX),
 * NUL-terminated. opslimit 0 / memlimit 0 mean crypto_pwhash_OPSLIMIT_
 * INTERACTIVE / MEMLIMIT_INTERACTIVE. Returns 0, BASE_ERR_INVALID (empty
 * password, limits outside Argon2id's range), BASE_ERR_TOO_BIG (password
 * over AUTH_PASSWORD_MAX, out too small), BASE_ERR_NOMEM (memlimit could
 * not be allocated) or BASE_ERR_UNAVAILABLE (libsodium init failed). */
int auth_password_hash(const char *pw, size_t len, unsigned long long opslimit,
                       size_t memlimit, char *out, size_t outlen) WARN_UNUSED;

/* Checks pw against a stored hash (NUL-terminated within
 * AUTH_PASSWORD_HASH_MAX; Argon2id, or older Argon2i hashes). Returns 0 on
 * a match, AUTH_PASSWORD_ERR_MISMATCH, BASE_ERR_INVALID (empty password,
 * unterminated hash) or BASE_ERR_TOO_BIG (password over AUTH_PASSWORD_MAX;
 * nothing is hashed). A hash that cannot be parsed counts as a mismatch. */
int auth_password_verify(const char *hash, const char *pw, size_t len) WARN_UNUSED;

/* 1 if `hash` should be replaced on the next successful login (not
 * Argon2id, or made with other opslimit/memlimit; 0 = the defaults as in
 * auth_password_hash), 0 if it is current, BASE_ERR_INVALID if it is not
 * a parsable Argon2 hash string. */
int auth_password_needs_rehash(const char *hash, unsigned long long opslimit,
                               size_t memlimit) WARN_UNUSED;

#endif
