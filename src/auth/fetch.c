/*
 * auth/fetch: blocking HTTP exchanges with identity providers, bounded in
 * time and size (see fetch.h). Runs on the thread pool only.
 */
#include "auth/fetch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct sink {
    struct base_buf *out;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *data)
{
    struct sink *s = data;
    size_t n = size * nmemb;
    if (base_buf_append(s->out, p, n) != 0) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

int auth_fetch(const struct auth_fetch_req *r, struct base_buf *out, long *status, char *why, size_t whylen)
{
    struct sink s = {out, false};
    struct curl_slist *hdrs = NULL, *h;
    char auth[4200];
    int rc = 0;
    *status = 0;
    base_buf_reset(out);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "cannot start an HTTP request");
        return BASE_ERR_NOMEM;
    }
    h = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = h ? h : hdrs;
    if (r->bearer && (size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->bearer) < sizeof(auth)) {
        h = curl_slist_append(hdrs, auth);
        hdrs = h ? h : hdrs;
    }
    long timeout = r->timeout_ms > 0 ? r->timeout_ms : AUTH_FETCH_TIMEOUT_MS;
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout < AUTH_FETCH_CONNECT_TIMEOUT_MS ? timeout : (long)AUTH_FETCH_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, r->user_agent ? r->user_agent : "opshub");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (r->form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->form);
    CURLcode cc = curl_easy_perform(c);
    if (s.too_big) {
        snprintf(why, whylen, "the answer is larger than %zu bytes", out->max);
        rc = BASE_ERR_TOO_BIG;
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, whylen, "no answer within %ld ms", timeout);
        rc = BASE_ERR_TIMEOUT;
    } else if (cc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(cc));
        rc = BASE_ERR_IO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    memset(auth, 0, sizeof(auth));
    return rc;
}

int auth_fetch_form_add(struct base_buf *b, char sep, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    char s = sep ? sep : '&';
    int rc = (b->len || sep) ? base_buf_append(b, &s, 1) : 0;
    const char *parts[2] = {name, value};
    for (int k = 0; rc == 0 && k < 2; k++) {
        if (k == 1)
            rc = base_buf_append(b, "=", 1);
        for (const unsigned char *p = (const unsigned char *)parts[k]; rc == 0 && *p; p++) {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                         *p == '-' || *p == '.' || *p == '_' || *p == '~';
            rc = plain ? base_buf_append(b, p, 1) : base_buf_append(b, enc, 3);
        }
    }
    return rc;
}
