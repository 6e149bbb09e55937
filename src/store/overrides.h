/*
 * store/overrides: on-call overrides made through the API (POST
 * /api/v1/rotations/{id}/overrides): user replaces whoever is on call in a
 * rotation from..to. The configuration's own overrides are not here.
 * Connection-level calls, run on the store thread through store_call.
 */
#ifndef STORE_OVERRIDES_H
#define STORE_OVERRIDES_H

#include "store/sql.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_OVERRIDES_MAX 2000
#define STORE_OVERRIDE_ID_MAX 32
#define STORE_OVERRIDE_REASON_MAX 200

struct store_override {
    char id[STORE_OVERRIDE_ID_MAX];   /* "o" + 16 hex */
    char rotation[64];
    char user[80];
    int64_t from_ms, to_ms;
    char reason[STORE_OVERRIDE_REASON_MAX * 4 + 1];
    char created_by[160];
    int64_t created_ms;
};

/* Adds o; BASE_ERR_TOO_BIG when STORE_OVERRIDES_MAX overrides end after
 * now_ms already. */
int store_override_add(struct store_conn *c, const struct store_override *o, int64_t now_ms, char *err,
                       size_t errlen);
/* Deletes the override id of rotation: 0 or BASE_ERR_NOT_FOUND. */
int store_override_delete(struct store_conn *c, const char *rotation, const char *id, char *err, size_t errlen);
/* The overrides that end after since_ms (in the order they were made, at most
 * STORE_OVERRIDES_MAX) into *out (allocated, base_free it; NULL when none). */
int store_overrides_list(struct store_conn *c, int64_t since_ms, struct store_override **out, size_t *n, char *err,
                         size_t errlen);

#endif
