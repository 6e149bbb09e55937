/*
 * http/api_status: the public status page's routes (http/status): /status,
 * /status/{project}, /status.json and /status.atom. Public like a status
 * page is, and rate limited per address like every public route; the page
 * shows component names and states only, never check ids or targets.
 */
#include "http/api_int.h"

#include "base/err.h"
#include "http/status.h"
#include "http/webassets.h"

#include <stdio.h>
#include <string.h>

/* The page's own policy: its stylesheet, its script and its logo, all from
 * this server; nothing inline. */
#define STATUS_PAGE_HEADERS                                                                                  \
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "      \
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n"                    \
    "Cache-Control: no-cache\r\n"

static bool status_ready(struct http_api *api, struct http_request *req)
{
    if (!api_rate_allow(api, req))
        return false;
    if (!api->status) {
        api_send_error(api, req, 404, "not_found", "there is no status page", NULL);
        return false;
    }
    return true;
}

static void send_rendered(struct http_api *api, struct http_request *req, int rc, struct base_buf *b,
                          const char *type, const char *headers)
{
    if (rc == 0)
        api_send(api, req, 200, type, headers, b->data ? b->data : "", b->len);
    else if (rc == BASE_ERR_NOT_FOUND)
        api_send_error(api, req, 404, "not_found",
                       "there is no status page here (no status_page in the configuration, or no such project on it)",
                       NULL);
    else
        api_send_error(api, req, 503, "unavailable", "cannot render the status page now", NULL);
    base_buf_free(b);
}

static void page(struct http_api *api, struct http_request *req, const char *project)
{
    if (!status_ready(api, req))
        return;
    struct http_status_assets assets = {http_web_asset_url("status.css"), http_web_asset_url("status.js")};
    struct base_buf b;
    base_buf_init(&b, HTTP_STATUS_PAGE_MAX);
    int rc = http_status_html(api->status, project, &assets, &b);
    send_rendered(api, req, rc, &b, "text/html; charset=utf-8", STATUS_PAGE_HEADERS);
}

void api_status_page(void *data, struct http_request *req, const struct http_params *p)
{
    (void)p;
    page(data, req, NULL);
}

void api_status_project(void *data, struct http_request *req, const struct http_params *p)
{
    page(data, req, http_params_get(p, "project"));
}

void api_status_json(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!status_ready(api, req))
        return;
    char project[128];
    bool one = http_request_query(req, "project", project, sizeof(project));
    struct base_buf b;
    base_buf_init(&b, HTTP_STATUS_PAGE_MAX);
    int rc = http_status_json(api->status, one ? project : NULL, &b);
    send_rendered(api, req, rc, &b, "application/json", "Cache-Control: no-cache\r\n");
}

/* The feed's absolute base: server.base_url, else this request's own
 * scheme and Host (only a well-formed host is used; "" otherwise). */
static void feed_base(struct http_api *api, struct http_request *req, char *out, size_t n)
{
    const struct conf *conf = api->deps.confs && *api->deps.confs ? objects_confs_run(*api->deps.confs) : NULL;
    out[0] = '\0';
    if (conf && conf->server.base_url) {
        snprintf(out, n, "%s", conf->server.base_url);
        size_t len = strlen(out);
        while (len && out[len - 1] == '/')
            out[--len] = '\0';
        return;
    }
    const char *host = http_request_header(req, "Host");
    if (!host || !host[0] || strlen(host) > 255 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                           "0123456789.-:[]") != strlen(host))
        return;
    snprintf(out, n, "%s://%s", conf && conf->server.tls_cert ? "https" : "http", host);
}

void api_status_atom(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    (void)p;
    if (!status_ready(api, req))
        return;
    char base[320];
    feed_base(api, req, base, sizeof(base));
    struct base_buf b;
    base_buf_init(&b, HTTP_STATUS_PAGE_MAX);
    int rc = http_status_atom(api->status, base, &b);
    send_rendered(api, req, rc, &b, "application/atom+xml; charset=utf-8", "Cache-Control: no-cache\r\n");
}
