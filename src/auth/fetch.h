/*
 * auth/fetch: one blocking HTTP exchange with an identity provider (OAuth
 * token endpoint, GitHub API, OIDC discovery and keys), for jobs on the
 * libuv thread pool: never call it on the loop. libcurl easy with a
 * connect timeout, a total timeout, no redirects, http and https only,
 * and a cap on the answer's size. Never logs; the reason it writes names
 * the step and curl's error, never a secret (client secrets and codes
 * travel in the body or headers it is given, never in a reason).
 */
#ifndef AUTH_FETCH_H
#define AUTH_FETCH_H

#include "base/buf.h"
#include "base/err.h"

#include <stddef.h>

#define AUTH_FETCH_TIMEOUT_MS 10000
#define AUTH_FETCH_CONNECT_TIMEOUT_MS 5000

struct auth_fetch_req {
    const char *url;
    const char *form;           /* POST body (application/x-www-form-urlencoded); NULL: GET */
    const char *bearer;         /* Authorization: Bearer <bearer>; NULL: none */
    const char *user_agent;     /* NULL: "opshub" */
    long timeout_ms;            /* 0: AUTH_FETCH_TIMEOUT_MS */
};

/* Runs the exchange; the answer's body goes into out (its max bounds it:
 * a longer answer fails with BASE_ERR_TOO_BIG) and its status into
 * *status. 0 (any HTTP status), BASE_ERR_TIMEOUT, BASE_ERR_TOO_BIG,
 * BASE_ERR_IO (connection, TLS, protocol) or BASE_ERR_NOMEM, with a
 * reason in why. */
int auth_fetch(const struct auth_fetch_req *r, struct base_buf *out, long *status, char *why, size_t whylen)
    WARN_UNUSED;

/* Appends name=value, percent-encoded (RFC 3986 unreserved kept), to a
 * form or query in b, with '&' before it when b is not empty (sep '&'),
 * or with sep when given ('?' for the first query parameter). */
int auth_fetch_form_add(struct base_buf *b, char sep, const char *name, const char *value) WARN_UNUSED;

#endif
