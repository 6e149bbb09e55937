/*
 * incidents/subscribers: the status page's subscribers (docs/status-page.md).
 * The updates of incidents whose level is public go to every subscriber of
 * the page (or of one of the incident's projects): e-mail through the
 * email channel of incidents.subscribers, webhooks through its webhook
 * channel with the subscriber's URL, each with a signed unsubscribe link.
 * Signed links need no storage: a confirmation link carries the address,
 * project and expiry under a MAC (nothing is stored until it is used), an
 * unsubscribe link the subscriber's id.
 */
#ifndef INCIDENTS_SUBSCRIBERS_H
#define INCIDENTS_SUBSCRIBERS_H

#include "conf/incidents.h"
#include "store/subscribers.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUBS_TOKEN_MAX 1200
#define SUBS_CONFIRM_TTL_MS (48LL * 3600000)

struct auth;
struct notify;
struct store;

/* NULL when s is a subscriber that can be stored (kind email: an address
 * local@domain; webhook: an absolute http(s) URL with a host; both at most
 * STORE_SUBSCRIBER_ADDRESS_MAX bytes), else why; *field names the field. */
const char *subs_bad(const struct store_subscriber *s, const char **field);
/* A new id ("s" + 16 hex) into s->id. */
void subs_new_id(struct store_subscriber *s);

/* Tokens: 0, or BASE_ERR_INVALID (no key / too long). */
int subs_unsubscribe_token(const struct auth *a, const char *id, char *out, size_t n);
/* 0 with the subscriber's id, or BASE_ERR_INVALID (not signed here). */
int subs_unsubscribe_check(const struct auth *a, const char *token, char *id, size_t n);
int subs_confirm_token(const struct auth *a, const char *email, const char *project, int64_t expires_ms, char *out,
                       size_t n);
/* 0 with s filled (kind email), BASE_ERR_INVALID, or BASE_ERR_TIMEOUT
 * (expired at now). */
int subs_confirm_check(const struct auth *a, const char *token, int64_t now, struct store_subscriber *s);

/* Sends the public view v of an incident (incidents_json_public's shape;
 * resolved: its resolution) to the matching subscribers, read from st.
 * done(data, sent) runs on the loop once the pages are in the outbox
 * (sent may be 0); 0, or BASE_ERR_* (done will not run). */
struct subs_send {
    struct store *store;
    struct notify *notify;
    const struct auth *auth;
    const char *base_url, *page_title;
    const struct conf_incidents *sch;
    const bool *closing;   /* when true by the time the list is read, nothing is sent */
};
int subs_send(const struct subs_send *ctx, const json_t *view, bool resolved, void (*done)(void *data, size_t sent),
              void *data);

#endif
