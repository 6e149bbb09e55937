/*
 * store/silences: the silences table (migration 10). A silence is a row
 * (id, its matchers as a JSON array in Alertmanager's shape, starts_at,
 * ends_at, created_by, comment); expiring one sets ends_at, so expired
 * silences stay for history (purged with the hourly rollups). Every write
 * bumps meta.silences_gen, which the daemon polls: silences written by the
 * CLI (on its own connection) reach the running notification layer too.
 * Synchronous functions take a connection (the CLI, the store thread);
 * the loop-side ones copy their input and answer on the loop.
 */
#ifndef STORE_SILENCES_H
#define STORE_SILENCES_H

#include "store/sql.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_SILENCE_ID_MAX 40
#define STORE_SILENCES_MAX 10000          /* rows one read returns at most */

struct store_silence {
    char id[STORE_SILENCE_ID_MAX];
    const char *matchers;                 /* JSON array text */
    int64_t starts_ms, ends_ms, created_ms, updated_ms;
    const char *created_by, *comment;
};

/* Inserts or replaces (by id) and bumps silences_gen, in one transaction. */
int store_silences_put(struct store_conn *c, const struct store_silence *s, char *err, size_t errlen);
/* Rows with ends_at > ends_after_ms (INT64_MIN: all), newest first, at most
 * limit; or the one row with id (when id is not NULL). Columns: id,
 * matchers, starts_at, ends_at, created_by, comment, created, updated. */
int store_silences_select(struct store_conn *c, const char *id, int64_t ends_after_ms, int limit,
                          struct store_result *out, char *err, size_t errlen);
/* A row of a store_silences_select result (strings borrowed from it). */
void store_silences_row(const struct store_result *r, size_t row, struct store_silence *out);
int store_silences_gen(struct store_conn *c, int64_t *gen, char *err, size_t errlen);

/* Loop side. */
typedef void (*store_silences_rows_cb)(void *data, int status, const struct store_silence *rows, size_t n);
typedef void (*store_silences_done_cb)(void *data, int status, const char *errmsg);
int store_silences_save(struct store *st, const struct store_silence *s, store_silences_done_cb cb, void *data);
int store_silences_load(struct store *st, const char *id, int64_t ends_after_ms, int limit,
                        store_silences_rows_cb cb, void *data);
/* cb(data, status, gen). */
int store_silences_read_gen(struct store *st, void (*cb)(void *data, int status, int64_t gen), void *data);

#endif
