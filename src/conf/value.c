/*
 * conf/value: typed reading of YAML nodes for the config loader: strings
 * after ${VAR} interpolation, integers, booleans, durations, sizes, ids,
 * URLs, HOST:PORT, string maps, and the unknown-key / duplicate checks with
 * "did you mean" suggestions. Every reader reports its own error at the
 * node's FILE:LINE:COL (or, for a tree built from JSON, its JSON path) and
 * returns -1, so callers just keep going. Values that came from the
 * environment are never quoted back in messages.
 */
#include "conf/conf_int.h"

#include "base/buf.h"
#include "base/time.h"
#include "base/duration.h"
#include "base/edit.h"
#include "base/log.h"
#include "conf/interp.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define SHOW_MAX 60

/* Records one error; `path` is used in JSON mode, `ord` picks the first. */
static void report(struct conf_ctx *ctx, const struct conf_node *at, const char *path, size_t ord,
                   const char *msg)
{
    ctx->n_errors++;
    if (!ctx->json) {
        const char *file = at && at->file ? at->file : ctx->file;
        if (ctx->errs && base_errors_add(ctx->errs, file, at ? at->line : 0, at ? at->col : 0,
                                         NULL, "%s", msg) == BASE_ERR_NOMEM)
            ctx->nomem = true;
        return;
    }
    if (ctx->errs && base_errors_add(ctx->errs, NULL, 0, 0, path, "%s", msg) == BASE_ERR_NOMEM)
        ctx->nomem = true;
    if (ctx->first && (!ctx->has_first || ord < ctx->first_ord)) {
        snprintf(ctx->first->field, sizeof(ctx->first->field), "%s", path);
        snprintf(ctx->first->message, sizeof(ctx->first->message), "%s", msg);
        ctx->first_ord = ord;
        ctx->has_first = true;
    }
}

void conf_value_error(struct conf_ctx *ctx, const struct conf_node *at, const char *fmt, ...)
{
    char msg[BASE_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report(ctx, at, at && at->path ? at->path : "", at ? at->ord : 0, msg);
}

void conf_value_error_member(struct conf_ctx *ctx, const struct conf_node *map, const char *member,
                             const char *fmt, ...)
{
    char msg[BASE_ERROR_MSG_MAX], path[CONF_JSON_FIELD_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *base = map && map->path ? map->path : "";
    snprintf(path, sizeof(path), "%s%s%s", base, *base ? "." : "", member);
    report(ctx, map, path, map ? map->ord : 0, msg);
}

const char *conf_value_where(const struct conf_node *n, const struct conf_node *at, char *buf,
                             size_t size)
{
    if (n && n->path)
        snprintf(buf, size, "%s", *n->path ? n->path : "the top");
    else if (n && n->file && at && at->file && strcmp(n->file, at->file) != 0)
        snprintf(buf, size, "%s:%d:%d", n->file, n->line, n->col);
    else
        snprintf(buf, size, "line %d", n ? n->line : 0);
    return buf;
}

void *conf_value_alloc(struct conf_ctx *ctx, size_t n)
{
    void *p = base_arena_calloc(&ctx->conf->arena, n);
    if (!p)
        ctx->nomem = true;
    return p;
}

void conf_value_nomem(struct conf_ctx *ctx)
{
    ctx->nomem = true;
}

bool conf_value_is_json(const struct conf_ctx *ctx)
{
    return ctx->json;
}

bool conf_value_is_null(const struct conf_node *n)
{
    if (!n)
        return true;
    if (n->kind != CONF_NODE_SCALAR || n->quoted)
        return false;
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const char *conf_value_kind_name(const struct conf_node *n)
{
    if (conf_value_is_null(n))
        return "nothing";
    switch (n->kind) {
    case CONF_NODE_MAP: return "a mapping";
    case CONF_NODE_SEQ: return "a list";
    default: return "a string";
    }
}

int conf_value_expect(struct conf_ctx *ctx, const struct conf_node *n, enum conf_node_kind kind)
{
    if (n->kind == kind && !conf_value_is_null(n))
        return 0;
    static const char *names[] = {"a string", "a mapping", "a list"};
    conf_value_error(ctx, n, "expected %s, got %s", names[kind], conf_value_kind_name(n));
    return -1;
}

const char *conf_value_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        size_t d = base_edit_distance(word, cands[i]), cl = strlen(cands[i]);
        size_t longer = wl > cl ? wl : cl;
        /* Close means: at most 2 edits, or a third of the word; never a total
         * rewrite. A cut-short name ("buffer" for "buffer_max") counts too. */
        bool prefix = wl >= 4 && wl < cl && strncmp(word, cands[i], wl) == 0;
        if (prefix)
            d = cl - wl < 2 ? cl - wl : 2;
        if (!prefix && (d >= longer || !(d <= 2 || d * 3 <= wl)))
            continue;
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

void conf_value_fields(struct conf_ctx *ctx, const struct conf_node *map,
                       const char *const *names, size_t n, const struct conf_node **vals)
{
    for (size_t i = 0; i < n; i++)
        vals[i] = NULL;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        char shown[SHOW_MAX + 8];
        if (k->kind != CONF_NODE_SCALAR) {
            conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
            continue;
        }
        size_t i;
        for (i = 0; i < n; i++)
            if (!k->has_nul && strcmp(k->text, names[i]) == 0)
                break;
        if (i < n && vals[i]) {
            char where[CONF_JSON_FIELD_MAX];
            conf_value_error(ctx, k, "duplicate key '%s' (first at %s)", names[i],
                             conf_value_where(vals[i]->key, k, where, sizeof(where)));
        } else if (i < n) {
            vals[i] = v;
        } else {
            const char *hint = conf_value_suggest(k->text, names, n);
            conf_value_show(k, k->text, false, shown, sizeof(shown));
            if (hint)
                conf_value_error(ctx, k, "unknown key '%s' (did you mean '%s'?)", shown, hint);
            else
                conf_value_error(ctx, k, "unknown key '%s'", shown);
        }
    }
}

const char *conf_value_show(const struct conf_node *n, const char *expanded, bool url,
                            char *buf, size_t size)
{
    const char *src = expanded;
    char redacted[SHOW_MAX * 4];
    if (!size)
        return buf;
    if (n && n->kind == CONF_NODE_SCALAR && strstr(n->text, "${"))
        src = n->text;
    if (!src)
        src = "";
    if (url)
        src = base_log_redact_url(src, redacted, sizeof(redacted));
    size_t len = strlen(src), max = size - 1 < SHOW_MAX ? size - 1 : SHOW_MAX, i;
    bool cut = len > max && max > 3;
    size_t keep = cut ? max - 3 : (len < max ? len : max);
    while (cut && keep > 0 && ((unsigned char)src[keep] & 0xC0) == 0x80)
        keep--; /* never split a UTF-8 sequence */
    for (i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)src[i];
        buf[i] = (c < 0x20 || c == 0x7f || c == '\'') ? (c == '\'' ? '"' : '?') : (char)c;
    }
    if (cut) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

int conf_value_text(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                    const char **out, size_t *len)
{
    char err[BASE_ERROR_MSG_MAX];
    char *text = NULL;
    size_t tlen = 0;
    if (n->kind != CONF_NODE_SCALAR) {
        conf_value_error(ctx, n, "expected %s, got %s", what, conf_value_kind_name(n));
        return -1;
    }
    if (conf_value_is_null(n)) {
        if (n->key && n->key->kind == CONF_NODE_SCALAR)
            conf_value_error(ctx, n, "'%.64s' needs a value (expected %s)", n->key->text, what);
        else
            conf_value_error(ctx, n, "expected %s, got nothing", what);
        return -1;
    }
    if (n->has_nul) {
        conf_value_error(ctx, n, "NUL characters are not allowed in values");
        return -1;
    }
    if (ctx->json) {
        /* API input is literal: "${HOME}" stays "${HOME}". */
        *out = n->text;
        if (len)
            *len = n->len;
        return 0;
    }
    int rc = conf_interp_expand(&ctx->tmp, n->text, n->len, &text, &tlen, NULL, err, sizeof(err));
    if (rc == BASE_ERR_NOMEM) {
        ctx->nomem = true;
        return -1;
    }
    if (rc) {
        conf_value_error(ctx, n, "%s", err);
        return -1;
    }
    if (memchr(text, '\0', tlen)) {
        conf_value_error(ctx, n, "NUL characters are not allowed in values");
        return -1;
    }
    *out = text;
    if (len)
        *len = tlen;
    return 0;
}

const char *conf_value_keep(struct conf_ctx *ctx, const char *text, size_t len)
{
    char *copy = base_arena_strndup(&ctx->conf->arena, text, len);
    if (!copy)
        ctx->nomem = true;
    return copy;
}

/* Copies a validated value into the conf's arena; -1 (and nomem) on OOM. */
static int keep(struct conf_ctx *ctx, const char *text, size_t len, const char **out)
{
    const char *copy = conf_value_keep(ctx, text, len);
    if (!copy)
        return -1;
    *out = copy;
    return 0;
}

int conf_value_string(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    const char *text;
    size_t len;
    if (conf_value_text(ctx, n, "a string", &text, &len))
        return -1;
    return keep(ctx, text, len, out);
}

/* Decimal digits only, no sign: 0 or -1 (not a number, or overflow). */
static int parse_uint(const char *s, size_t len, unsigned long long *out)
{
    unsigned long long v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (ULLONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int conf_value_int(struct conf_ctx *ctx, const struct conf_node *n, long long lo, long long hi,
                   long long *out)
{
    const char *text;
    size_t len;
    char shown[SHOW_MAX + 8];
    unsigned long long v;
    if (conf_value_text(ctx, n, "a number", &text, &len))
        return -1;
    bool neg = len > 0 && text[0] == '-';
    if (parse_uint(text + neg, len - neg, &v) || v > (unsigned long long)LLONG_MAX) {
        conf_value_error(ctx, n, "expected a whole number, got '%s'",
                         conf_value_show(n, text, false, shown, sizeof(shown)));
        return -1;
    }
    long long s = neg ? -(long long)v : (long long)v;
    if (s < lo || s > hi) {
        conf_value_error(ctx, n, "%lld is out of range (%lld to %lld)", s, lo, hi);
        return -1;
    }
    *out = s;
    return 0;
}

int conf_value_choice(struct conf_ctx *ctx, const struct conf_node *n, const char *what,
                      const char *const *names, size_t count, size_t *out)
{
    const char *text;
    char shown[SHOW_MAX + 8], expected[256] = "";
    if (conf_value_text(ctx, n, what, &text, NULL))
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    for (size_t i = 0, used = 0; i < count && used < sizeof(expected); i++)
        used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s%s",
                                 i == 0 ? "" : i + 1 == count ? " or " : ", ", names[i]);
    const char *hint = conf_value_suggest(text, names, count);
    conf_value_show(n, text, false, shown, sizeof(shown));
    if (hint)
        conf_value_error(ctx, n, "unknown %s '%s' (did you mean '%s'? expected %s)", what, shown, hint,
                         expected);
    else
        conf_value_error(ctx, n, "unknown %s '%s' (expected %s)", what, shown, expected);
    return -1;
}

int conf_value_bool(struct conf_ctx *ctx, const struct conf_node *n, bool *out)
{
    const char *text;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, n, "true or false", &text, NULL))
        return -1;
    if (strcasecmp(text, "true") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(text, "false") == 0) {
        *out = false;
        return 0;
    }
    conf_value_error(ctx, n, "expected true or false, got '%s'",
                     conf_value_show(n, text, false, shown, sizeof(shown)));
    return -1;
}

int conf_value_duration(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms)
{
    const char *text;
    size_t len;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, n, "a duration", &text, &len))
        return -1;
    if (base_duration_parse(text, len, ms) != 0) {
        conf_value_error(ctx, n, "bad duration '%s' (expected e.g. 500ms, 30s, 5m, 1h30m, 7d)",
                         conf_value_show(n, text, false, shown, sizeof(shown)));
        return -1;
    }
    if (*ms <= 0) {
        conf_value_error(ctx, n, "duration must be greater than 0");
        return -1;
    }
    return 0;
}

int conf_value_size(struct conf_ctx *ctx, const struct conf_node *n, size_t max, size_t *out)
{
    static const struct { const char *unit; unsigned long long mult; } units[] = {
        {"", 1}, {"B", 1}, {"KB", 1000}, {"KiB", 1024}, {"MB", 1000000}, {"MiB", 1048576},
        {"GB", 1000000000}, {"GiB", 1073741824},
    };
    const char *text;
    size_t len, digits = 0;
    char shown[SHOW_MAX + 8];
    unsigned long long v;
    if (conf_value_text(ctx, n, "a size", &text, &len))
        return -1;
    while (digits < len && text[digits] >= '0' && text[digits] <= '9')
        digits++;
    size_t u;
    for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
        if (strcmp(text + digits, units[u].unit) == 0)
            break;
    if (u == sizeof(units) / sizeof(units[0]) || parse_uint(text, digits, &v) ||
        v > ULLONG_MAX / units[u].mult) {
        conf_value_error(ctx, n, "bad size '%s' (expected bytes or e.g. 64KiB, 1MiB)",
                         conf_value_show(n, text, false, shown, sizeof(shown)));
        return -1;
    }
    v *= units[u].mult;
    if (v == 0 || v > max) {
        conf_value_error(ctx, n, "size must be between 1 and %zu bytes (%zu MiB)", max, max >> 20);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static bool is_id(const char *s, size_t len)
{
    if (len == 0 || len > CONF_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '.' || c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

int conf_value_id(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    const char *text;
    size_t len;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, n, "an id", &text, &len))
        return -1;
    if (!is_id(text, len)) {
        conf_value_error(ctx, n, "bad id '%s' (expected a-z, 0-9, '.', '_', '-', starting with a "
                         "letter or digit, at most %d characters)",
                         conf_value_show(n, text, false, shown, sizeof(shown)), CONF_ID_MAX);
        return -1;
    }
    return keep(ctx, text, len, out);
}

const char *conf_url_problem(const char *url, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return "spaces and control characters are not allowed";
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return "expected http:// or https://";
    CURLU *u = curl_url();
    if (!u)
        return "out of memory";
    const char *problem = NULL;
    char *host = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK)
        problem = curl_url_strerror(rc);
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        problem = "no host name";
    curl_free(host);
    curl_url_cleanup(u);
    return problem;
}

int conf_value_url(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    const char *text;
    size_t len;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, n, "a URL", &text, &len))
        return -1;
    const char *problem = conf_url_problem(text, len);
    if (problem) {
        conf_value_error(ctx, n, "bad URL '%s': %s", conf_value_show(n, text, true, shown, sizeof(shown)),
                         problem);
        return -1;
    }
    return keep(ctx, text, len, out);
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

/* NULL when s is HOST:PORT, else the reason. */
static const char *hostport_problem(const char *s, size_t len, bool allow_empty_host)
{
    size_t host_end, port_start;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return "missing ']' after the IPv6 address";
        for (const char *p = s + 1; p < close; p++)
            if (!(*p == ':' || *p == '.' || *p == '%' || is_host_char(*p)))
                return "bad character in the IPv6 address";
        if (close == s + 1 || !memchr(s + 1, ':', (size_t)(close - s - 1)))
            return "bad IPv6 address";
        host_end = (size_t)(close - s) + 1;
        if (host_end >= len || s[host_end] != ':')
            return "expected HOST:PORT";
        port_start = host_end + 1;
    } else {
        const char *colon = memchr(s, ':', len);
        if (!colon)
            return "expected HOST:PORT";
        if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
            return "IPv6 addresses go in brackets: [::1]:PORT";
        host_end = (size_t)(colon - s);
        for (size_t i = 0; i < host_end; i++)
            if (!is_host_char(s[i]))
                return "bad character in the host name";
        if (host_end == 0 && !allow_empty_host)
            return "missing host";
        port_start = host_end + 1;
    }
    if (memchr(s + port_start, ':', len - port_start))
        return "IPv6 addresses go in brackets: [::1]:PORT";
    unsigned long long port;
    if (parse_uint(s + port_start, len - port_start, &port) || port < 1 || port > 65535)
        return "port must be a number from 1 to 65535";
    return NULL;
}

int conf_value_hostport(struct conf_ctx *ctx, const struct conf_node *n, bool allow_empty_host,
                        const char **out)
{
    const char *text;
    size_t len;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, n, "HOST:PORT", &text, &len))
        return -1;
    const char *problem = hostport_problem(text, len, allow_empty_host);
    if (problem) {
        conf_value_error(ctx, n, "bad address '%s': %s",
                         conf_value_show(n, text, false, shown, sizeof(shown)), problem);
        return -1;
    }
    return keep(ctx, text, len, out);
}

static int cidr_one(struct conf_ctx *ctx, const struct conf_node *it, struct base_cidr *list, size_t n)
{
    const char *text, *why;
    size_t len;
    char shown[SHOW_MAX + 8];
    if (conf_value_text(ctx, it, "an address or CIDR", &text, &len))
        return -1;
    if (base_cidr_parse(text, len, &list[n], &why) != 0) {
        conf_value_error(ctx, it, "bad network '%s': %s (expected an address or CIDR such as 10.0.0.0/8 or "
                         "2001:db8::/32)", conf_value_show(it, text, false, shown, sizeof(shown)), why);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (list[i].bits == list[n].bits && memcmp(&list[i].net, &list[n].net, sizeof(list[n].net)) == 0) {
            conf_value_error(ctx, it, "duplicate network '%s'", conf_value_show(it, text, false, shown, sizeof(shown)));
            return -1;
        }
    return 0;
}

int conf_value_cidr_list(struct conf_ctx *ctx, const struct conf_node *n, size_t max,
                         const struct base_cidr **out, size_t *n_out)
{
    bool seq = n->kind == CONF_NODE_SEQ;
    *out = NULL;
    *n_out = 0;
    if (!seq && n->kind != CONF_NODE_SCALAR) {
        conf_value_error(ctx, n, "expected a list of addresses or CIDRs, got %s", conf_value_kind_name(n));
        return -1;
    }
    size_t count = seq ? n->n : 1;
    if (count > max) {
        conf_value_error(ctx, n, "too many networks (%zu, at most %zu)", count, max);
        return -1;
    }
    if (count == 0)
        return 0;
    struct base_cidr *list = conf_value_alloc(ctx, count * sizeof(*list));
    if (!list)
        return -1;
    size_t got = 0;
    int rc = 0;
    for (const struct conf_node *it = seq ? n->child : n; it; it = seq ? it->next : NULL) {
        if (cidr_one(ctx, it, list, got) == 0)
            got++;
        else
            rc = -1;
    }
    if (rc == 0) {
        *out = list;
        *n_out = got;
    }
    return rc;
}

const struct conf_node *conf_value_pin(struct conf_ctx *ctx, const struct conf_node *n)
{
    if (!ctx->keep || !n || n->pinned)
        return n;
    struct conf_node *copy = base_arena_calloc(ctx->keep, sizeof(*copy));
    if (!copy) {
        ctx->nomem = true;
        return NULL;
    }
    copy->kind = n->kind;
    copy->file = n->file;
    copy->line = n->line;
    copy->col = n->col;
    copy->path = n->path;
    copy->ord = n->ord;
    copy->text = "";
    copy->pinned = true;
    return copy;
}

int conf_value_unique(struct conf_ctx *ctx, struct base_map *seen, const char *id,
                      const struct conf_node *at, const char *kind)
{
    const struct conf_node *first = base_map_get(seen, id);
    if (first) {
        char where[CONF_JSON_FIELD_MAX + 320];
        conf_value_error(ctx, at, "duplicate %s '%s' (first defined at %s)", kind, id,
                         conf_value_where(first, at, where, sizeof(where)));
        return -1;
    }
    if (base_map_put(seen, id, (void *)at) != 0) {
        ctx->nomem = true;
        return -1;
    }
    return 0;
}

int conf_value_kv(struct conf_ctx *ctx, const struct conf_node *map,
                  const char *(*key_bad)(const char *k),
                  const char *(*value_bad)(const char *v, size_t len),
                  struct conf_kv **out, size_t *n_out)
{
    struct base_map seen;
    int rc = 0;
    char shown[SHOW_MAX + 8];
    *out = NULL;
    *n_out = 0;
    if (conf_value_expect(ctx, map, CONF_NODE_MAP))
        return -1;
    struct conf_kv *kv = conf_value_alloc(ctx, map->n * sizeof(*kv));
    if (!kv)
        return -1;
    base_map_init(&seen);
    size_t n = 0;
    for (const struct conf_node *v = map->child; v; v = v->next) {
        const struct conf_node *k = v->key;
        const char *text, *problem;
        size_t len;
        if (k->kind != CONF_NODE_SCALAR || k->has_nul) {
            conf_value_error(ctx, k, "expected a string key, got %s", conf_value_kind_name(k));
            rc = -1;
            continue;
        }
        if ((problem = key_bad(k->text)) != NULL) {
            conf_value_error(ctx, k, "bad name '%s': %s",
                             conf_value_show(k, k->text, false, shown, sizeof(shown)), problem);
            rc = -1;
            continue;
        }
        if (conf_value_unique(ctx, &seen, k->text, k, "key")) {
            rc = -1;
            continue;
        }
        if (conf_value_text(ctx, v, "a string", &text, &len)) {
            rc = -1;
            continue;
        }
        if (value_bad && (problem = value_bad(text, len)) != NULL) {
            conf_value_error(ctx, v, "bad value for '%.64s': %s", k->text, problem);
            rc = -1;
            continue;
        }
        kv[n].key = base_arena_strdup(&ctx->conf->arena, k->text);
        kv[n].value = base_arena_strndup(&ctx->conf->arena, text, len);
        if (!kv[n].key || !kv[n].value) {
            ctx->nomem = true;
            rc = -1;
            break;
        }
        n++;
    }
    base_map_free(&seen);
    *out = kv;
    *n_out = n;
    return rc;
}

const struct conf_node *conf_value_member(const struct conf_node *map, const char *key)
{
    for (const struct conf_node *n = map && map->kind == CONF_NODE_MAP ? map->child : NULL; n; n = n->next)
        if (n->key && n->key->kind == CONF_NODE_SCALAR && strcmp(n->key->text, key) == 0)
            return n;
    return NULL;
}

const char *conf_value_header_name_bad(const char *k)
{
    if (!*k)
        return "empty header name";
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return "header names are letters, digits and !#$%&'*+-.^_`|~";
    return NULL;
}

const char *conf_value_header_value_bad(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f)
            return "header values must not contain line breaks or control characters";
    return NULL;
}

const char *conf_value_env_name_bad(const char *k)
{
    if (!*k)
        return "an empty name";
    if (strlen(k) > 128)
        return "a name longer than 128 bytes";
    for (const char *p = k; *p; p++) {
        bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
                  (p != k && *p >= '0' && *p <= '9');
        if (!ok)
            return "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";
    }
    return NULL;
}

int conf_value_time(struct conf_ctx *ctx, const struct conf_node *n, int64_t *ms)
{
    const char *text;
    size_t len;
    if (conf_value_text(ctx, n, "a time", &text, &len) != 0)
        return -1;
    if (base_time_parse(text, ms) != 0 || len < 10) {
        conf_value_error(ctx, n, "expected an RFC 3339 time such as 2026-12-06T02:00:00+06:00");
        return -1;
    }
    return 0;
}

const char *conf_value_username_bad(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return "1 to 64 characters";
    if (!isalnum((unsigned char)s[0]))
        return "it starts with a letter or a digit";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '@' && ch != '-')
            return "letters, digits, '.', '_', '@' and '-' only";
    }
    return NULL;
}
