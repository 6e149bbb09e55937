/*
 * store/pauses: which checks an operator paused (POST /api/v1/checks/{id}/
 * pause), kept in the meta table ("pause:<id>" = when, unix ms) so that a
 * pause outlives a restart. Who paused is in the audit log. Loop-side
 * asynchronous calls over store_call.
 */
#ifndef STORE_PAUSES_H
#define STORE_PAUSES_H

#include "store/sql.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define STORE_PAUSES_MAX 100000

/* Records (pause) or forgets (!pause) the pause of check_id at at_ms;
 * done runs on the loop with 0 or the store's error. 0 or BASE_ERR_*. */
int store_pause_set(struct store *st, const char *check_id, bool pause, int64_t at_ms, store_done_fn done,
                    void *data);

struct store_pause {
    const char *check_id;
    int64_t at_ms;
};
/* Every recorded pause; items valid during the call (n 0 on error). */
typedef void (*store_pauses_cb)(void *data, int status, const struct store_pause *items, size_t n);
int store_pauses_load(struct store *st, store_pauses_cb cb, void *data);

#endif
