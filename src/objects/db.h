/*
 * objects/db: storage of objects created through the API (checks and
 * projects; later alert rules, channels, silences...) in one table keyed by
 * (kind, id), with optimistic versions, who/when columns and the object's
 * secret fields sealed with AES-256-GCM (auth/secret) in a separate column.
 * Blocking functions over a store_conn: the daemon runs them on the store
 * thread (store_call), CLI commands on their own connection. Every change
 * bumps meta.objects_gen in the same transaction.
 */
#ifndef OBJECTS_DB_H
#define OBJECTS_DB_H

#include "auth/secret.h"
#include "store/sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OBJECTS_KIND_MAX 24
#define OBJECTS_ID_MAX 64
#define OBJECTS_ACTOR_MAX 96
#define OBJECTS_LIST_MAX 100000

struct objects_row {
    char kind[OBJECTS_KIND_MAX];
    char id[OBJECTS_ID_MAX];
    char *definition;                 /* JSON text without secrets; base_malloc'd */
    char *secret;                     /* sealed JSON of the secret fields, or NULL; base_malloc'd */
    char key_id[AUTH_SECRET_KEYID_LEN + 1];
    int64_t version, created_at, updated_at;
    char created_by[OBJECTS_ACTOR_MAX], updated_by[OBJECTS_ACTOR_MAX];
};

/* Frees the strings of one row / of an array of n rows (and the array). */
void objects_row_clear(struct objects_row *r);
void objects_rows_free(struct objects_row *rows, size_t n);

int objects_db_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen);

/* Rows of a kind ordered by id, after `after_id` (NULL = from the start),
 * at most limit (1..OBJECTS_LIST_MAX); *more when another page exists. */
int objects_db_list(struct store_conn *c, const char *kind, const char *after_id, int limit,
                    struct objects_row **out, size_t *n, bool *more, char *err, size_t errlen);
int objects_db_get(struct store_conn *c, const char *kind, const char *id, struct objects_row *out,
                   char *err, size_t errlen);
/* insert: version 1, created = updated = r's times/actor. BASE_ERR_EXISTS. */
int objects_db_insert(struct store_conn *c, struct objects_row *r, char *err, size_t errlen);
/* update: replaces definition/secret/key_id/updated_*, version + 1, only if
 * the stored version is `expected_version` (0 = any): BASE_ERR_NOT_FOUND
 * when absent, BASE_ERR_BUSY when the version differs. r->version gets the
 * new version. */
int objects_db_update(struct store_conn *c, struct objects_row *r, int64_t expected_version,
                      char *err, size_t errlen);
int objects_db_delete(struct store_conn *c, const char *kind, const char *id, int64_t expected_version,
                      char *err, size_t errlen);

/* Seals / opens the secret JSON of an object with kr (current key). */
int objects_seal(const struct auth_secret_keyring *kr, const char *plain, char **sealed,
                 char key_id[AUTH_SECRET_KEYID_LEN + 1]);
int objects_open(const struct auth_secret_keyring *kr, const char *sealed, char **plain);

/* Re-seals, in one transaction, every secret not sealed with kr's current
 * key (old keys must be in kr). *done counts re-sealed rows; a row whose
 * key is not in kr fails the whole run (BASE_ERR_NOT_FOUND, *failed_id
 * names it) and nothing changes. */
int objects_db_rekey(struct store_conn *c, const struct auth_secret_keyring *kr, size_t *done,
                     char *failed_id, size_t failed_len, char *err, size_t errlen);
/* Counts sealed rows per key id: fills ids/counts (up to max), *n. */
int objects_db_key_usage(struct store_conn *c, char ids[][AUTH_SECRET_KEYID_LEN + 1], int64_t *counts,
                         size_t max, size_t *n, char *err, size_t errlen);

#endif
