/*
 * store/subscribers: who gets the status page's incident updates
 * (docs/status-page.md): an e-mail address or a webhook URL, for the whole
 * page or one project's page. Connection-level calls: the daemon runs them
 * on the store thread through store_call, the CLI on its own connection.
 */
#ifndef STORE_SUBSCRIBERS_H
#define STORE_SUBSCRIBERS_H

#include "store/sql.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_SUBSCRIBERS_MAX 5000
#define STORE_SUBSCRIBER_ID_MAX 40
#define STORE_SUBSCRIBER_ADDRESS_MAX 512

struct store_subscriber {
    char id[STORE_SUBSCRIBER_ID_MAX];   /* "s" + 16 hex */
    char kind[8];                       /* "email" or "webhook" */
    char address[STORE_SUBSCRIBER_ADDRESS_MAX + 1];
    char project[64];                   /* "" = every incident of the page */
    int64_t created_ms;
};

/* Adds s (its id set by the caller). BASE_ERR_EXISTS when the same kind,
 * address and project is subscribed already (its id is then copied into
 * s->id), BASE_ERR_TOO_BIG at STORE_SUBSCRIBERS_MAX. */
int store_subscriber_add(struct store_conn *c, struct store_subscriber *s, char *err, size_t errlen);
/* 0 or BASE_ERR_NOT_FOUND. */
int store_subscriber_delete(struct store_conn *c, const char *id, char *err, size_t errlen);
/* Every subscriber (oldest first, at most STORE_SUBSCRIBERS_MAX) into
 * *out (allocated, base_free it; NULL when none), *n how many. */
int store_subscribers_list(struct store_conn *c, struct store_subscriber **out, size_t *n, char *err, size_t errlen);

#endif
