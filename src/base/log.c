/*
 * base/log: JSON (in either key shape) or text log lines. Builds each line
 * in a bounded stack buffer (long lines are truncated, never split, and stay
 * valid JSON) and writes it at once.
 * In batch mode (the daemon turns it on and flushes once per loop turn)
 * debug and info lines collect in a bounded buffer, so a busy loop turn
 * serving many requests costs one write(2) instead of one per access-log
 * line; warn and error lines flush everything at once, in order.
 */
#include "base/log.h"

#include "base/buf.h"
#include "base/time.h"
#include "base/utf8.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOG_LINE_MAX 8192
#define LOG_BATCH_MAX (64 * 1024)

/* Lines are written from the loop and the store thread: one lock keeps
 * lines whole and in order. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static bool log_batching;
static char log_pending[LOG_BATCH_MAX];
static size_t log_pending_len;

static enum base_log_level log_level = BASE_LOG_INFO;
static enum base_log_format log_format = BASE_LOG_FORMAT_JSON;
static FILE *log_out;
/* Read by writers under log_mu (a line copies them before it is built). */
static enum base_log_keys log_keys = BASE_LOG_KEYS_OPSHUB;
static char log_service[BASE_LOG_SERVICE_MAX] = "opshub";

static void flush_locked(FILE *out);

void base_log_setup(enum base_log_level level, enum base_log_format format, FILE *out)
{
    pthread_mutex_lock(&log_mu);
    if (log_pending_len) /* lines kept so far belong to the old destination */
        flush_locked(log_out ? log_out : stderr);
    log_level = level;
    log_format = format;
    log_out = out;
    pthread_mutex_unlock(&log_mu);
}

void base_log_set_keys(enum base_log_keys keys, const char *service)
{
    if (!service || !*service)
        service = "opshub";
    size_t len = strlen(service);
    if (len >= BASE_LOG_SERVICE_MAX) {
        len = BASE_LOG_SERVICE_MAX - 1;
        while (len > 0 && ((unsigned char)service[len] & 0xC0) == 0x80)
            len--; /* never cut a UTF-8 sequence */
    }
    pthread_mutex_lock(&log_mu);
    log_keys = keys == BASE_LOG_KEYS_SERVICE ? BASE_LOG_KEYS_SERVICE : BASE_LOG_KEYS_OPSHUB;
    memcpy(log_service, service, len);
    log_service[len] = '\0';
    pthread_mutex_unlock(&log_mu);
}

const char *base_log_context_of(const char *file, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = '\0';
    if (!file)
        return buf;
    const char *base = strrchr(file, '/');
    const char *name = base ? base + 1 : file, *dir = NULL;
    size_t len = 0;
    if (base) {
        dir = base;
        while (dir > file && dir[-1] != '/')
            dir--;
        len = (size_t)(base - dir);
    }
    if (!dir || (len == 3 && strncmp(dir, "src", 3) == 0)) {
        dir = name; /* src/main.c: the file's own name */
        len = strcspn(name, ".");
    }
    if (len >= n)
        len = n - 1;
    memcpy(buf, dir, len);
    buf[len] = '\0';
    return buf;
}

/* With log_mu held. */
static void flush_locked(FILE *out)
{
    if (log_pending_len) {
        fwrite(log_pending, 1, log_pending_len, out);
        log_pending_len = 0;
    }
    fflush(out);
}

void base_log_batch(bool on)
{
    pthread_mutex_lock(&log_mu);
    log_batching = on;
    if (!on)
        flush_locked(log_out ? log_out : stderr);
    pthread_mutex_unlock(&log_mu);
}

void base_log_flush(void)
{
    pthread_mutex_lock(&log_mu);
    if (log_pending_len)
        flush_locked(log_out ? log_out : stderr);
    pthread_mutex_unlock(&log_mu);
}

enum base_log_level base_log_level_get(void)
{
    return log_level;
}

int base_log_level_parse(const char *s)
{
    static const struct { const char *name; enum base_log_level level; } names[] = {
        {"debug", BASE_LOG_DEBUG}, {"info", BASE_LOG_INFO}, {"warn", BASE_LOG_WARN},
        {"warning", BASE_LOG_WARN}, {"error", BASE_LOG_ERROR}, {"off", BASE_LOG_OFF},
    };
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0)
            return (int)names[i].level;
    return -1;
}

const char *base_log_level_name(enum base_log_level level)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    return (unsigned)level < 5 ? names[level] : "info";
}

#define LOG_TRUNCATED_JSON ",\"truncated\":true}}"
#define LOG_TRUNCATED_TEXT " truncated=true"
#define LOG_CONTEXT_MAX 64
#define LOG_MESSAGE_MAX 2048 /* bytes of the message as written, quotes included */
#define LOG_FIELDS_SHARED 32 /* fields that share the line's room fairly; later ones get what is left */
#define LOG_VALUE_MIN 16     /* a cut string value keeps at least this much, quotes and marker included */
#define LOG_CUT_MARKER "..."

/* True when a text line can show s as it is: nothing a reader could take
 * for a separator (space, '"', '=') and nothing a terminal acts on or
 * cannot show (control characters, bytes that are not UTF-8). Anything
 * else is written as a JSON string literal, which escapes them all. */
static bool text_is_plain(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = base_utf8_decode(s + i, n - i, &cp);
        if (!len || cp <= ' ' || cp == '"' || cp == '=' || base_utf8_is_control(cp))
            return false;
        i += len;
    }
    return true;
}

/* Bytes a value takes as written, or something above max when it is
 * longer than max. */
static size_t value_size(const struct base_log_field *f, int json, size_t max)
{
    char num[48];
    switch (f->type) {
    case 'i': return (size_t)snprintf(num, sizeof(num), "%lld", f->i);
    case 'n': return (size_t)snprintf(num, sizeof(num), "%.6g", f->n);
    default: break;
    }
    const char *s = f->s ? f->s : "";
    size_t n = strlen(s);
    if (!json && n <= max && text_is_plain(s, n))
        return n;
    return base_buf_json_str_len(s, n, max);
}

/* Appends a value; a string longer than limit bytes as written is cut to
 * limit with LOG_CUT_MARKER (and sets *cut). */
static int append_value(struct base_buf *b, const struct base_log_field *f, int json, size_t limit, bool *cut)
{
    switch (f->type) {
    case 'i': return base_buf_appendf(b, "%lld", f->i);
    case 'n': return base_buf_appendf(b, "%.6g", f->n);
    default: break;
    }
    const char *s = f->s ? f->s : "";
    size_t n = strlen(s);
    bool was_cut = false;
    if (!json && n <= limit && text_is_plain(s, n))
        return base_buf_append(b, s, n);
    if (limit == SIZE_MAX)
        return base_buf_append_json_str(b, s, n);
    if (limit < LOG_VALUE_MIN)
        limit = LOG_VALUE_MIN;
    int rc = base_buf_append_json_str_max(b, s, n, limit, LOG_CUT_MARKER, &was_cut);
    *cut = *cut || was_cut;
    return rc;
}

/* The message, cut to fit room (and LOG_MESSAGE_MAX) with LOG_CUT_MARKER;
 * in text lines shown as it is when plain. */
static int append_message(struct base_buf *b, const char *msg, int json, size_t room)
{
    size_t n = strlen(msg), limit = room < LOG_MESSAGE_MAX ? room : LOG_MESSAGE_MAX;
    if (!json && n <= limit && text_is_plain(msg, n))
        return base_buf_append(b, msg, n);
    if (limit < LOG_VALUE_MIN)
        limit = LOG_VALUE_MIN;
    return base_buf_append_json_str_max(b, msg, n, limit, LOG_CUT_MARKER, NULL);
}

/* The line's start: timestamp, level, message and, in the SERVICE shape,
 * service, context and the opening of metadata. The message gives way
 * (is cut) so that what follows it always fits. */
static int append_head(struct base_buf *b, enum base_log_level level, const char *msg, int json,
                       const char *service, const char *src_file)
{
    char ts[40];
    base_time_format_iso8601(base_time_now_ms(), ts, sizeof(ts));
    if (!json) {
        int rc = base_buf_appendf(b, "%s %-5s ", ts, base_log_level_name(level));
        return rc ? rc : append_message(b, msg, json, b->max - b->len - 64);
    }
    char tail_storage[3 * BASE_LOG_SERVICE_MAX + 3 * LOG_CONTEXT_MAX + 64], context[LOG_CONTEXT_MAX];
    struct base_buf tail = {tail_storage, 0, sizeof(tail_storage), sizeof(tail_storage) - 1};
    tail_storage[0] = '\0';
    if (service) {
        base_log_context_of(src_file ? src_file : "opshub", context, sizeof(context));
        if (base_buf_append_str(&tail, ",\"service\":") ||
            base_buf_append_json_str(&tail, service, strlen(service)) ||
            base_buf_append_str(&tail, ",\"context\":") ||
            base_buf_append_json_str(&tail, context, strlen(context)) ||
            base_buf_append_str(&tail, ",\"metadata\":{"))
            return BASE_ERR_TOO_BIG; /* cannot happen: both are bounded */
    }
    int rc = base_buf_appendf(b, service ? "{\"timestamp\":\"%s\",\"level\":\"%s\",\"message\":"
                                         : "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":",
                              ts, base_log_level_name(level));
    if (!rc)
        rc = append_message(b, msg, json, b->max - b->len - tail.len - 64);
    return rc ? rc : base_buf_append(b, tail.data, tail.len);
}

/* The largest cap such that the string values, each cut to at most cap
 * bytes, take no more than budget in all (water filling: short values stay
 * whole and the long ones share what is left). */
static size_t fair_cap(const size_t *sizes, const struct base_log_field *fields, size_t n, size_t budget)
{
    size_t lo = 0, hi = budget;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2, sum = 0;
        for (size_t i = 0; i < n && sum <= budget; i++)
            if (fields[i].type == 's')
                sum += sizes[i] < mid ? sizes[i] : mid;
        if (sum <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* The cap on each string value so that every field fits the line: none
 * when they all fit whole. Fields past LOG_FIELDS_SHARED are counted at
 * LOG_VALUE_MIN. */
static size_t value_cap(const struct base_log_field *fields, size_t n, int json, size_t room)
{
    size_t sizes[LOG_FIELDS_SHARED], fixed = 0, total = 0, m = n < LOG_FIELDS_SHARED ? n : LOG_FIELDS_SHARED;
    for (size_t i = 0; i < n; i++) {
        size_t key = (json ? base_buf_json_str_len(fields[i].key, strlen(fields[i].key), room) : strlen(fields[i].key)) + 2;
        size_t v = i < m ? value_size(&fields[i], json, room) : LOG_VALUE_MIN;
        if (i < m)
            sizes[i] = v;
        fixed += key + (fields[i].type == 's' && i < m ? 0 : v);
        total += key + v;
        if (fixed > room)
            return LOG_VALUE_MIN; /* too many fields: the last ones give way */
    }
    if (total <= room)
        return SIZE_MAX;
    size_t cap = fair_cap(sizes, fields, m, room - fixed);
    return cap < LOG_VALUE_MIN ? LOG_VALUE_MIN : cap;
}

/* Appends the fields, each string value cut to cap bytes; a field that
 * still does not fit is left out whole. False when one was. */
static bool append_fields(struct base_buf *b, const struct base_log_field *fields, size_t n, int json, int shaped,
                          size_t cap, size_t *written, bool *cut)
{
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        size_t mark = b->len;
        const char *sep = shaped && *written == 0 ? "" : ",";
        int rc;
        if (json)
            rc = base_buf_append_str(b, sep) ||
                 base_buf_append_json_str(b, fields[i].key, strlen(fields[i].key)) ||
                 base_buf_append(b, ":", 1) || append_value(b, &fields[i], 1, cap, cut);
        else
            rc = base_buf_appendf(b, " %s=", fields[i].key) || append_value(b, &fields[i], 0, cap, cut);
        if (rc) {
            b->len = mark;
            b->data[mark] = '\0';
            all = false;
        } else {
            (*written)++;
        }
    }
    return all;
}

void base_log_write_at(const char *src_file, enum base_log_level level, const char *msg,
                       const struct base_log_field *fields, size_t n)
{
    if (level < log_level || level == BASE_LOG_OFF)
        return;
    char service[BASE_LOG_SERVICE_MAX];
    int json = log_format == BASE_LOG_FORMAT_JSON, shaped = 0;
    if (json) {
        pthread_mutex_lock(&log_mu);
        shaped = log_keys == BASE_LOG_KEYS_SERVICE;
        memcpy(service, log_service, sizeof(service));
        pthread_mutex_unlock(&log_mu);
    }
    char storage[LOG_LINE_MAX];
    /* Keep room for the truncation marker and the newline: a line too long
     * for it has its longest string values cut (each keeps a share of the
     * room), and only when even that is not enough do its last fields give
     * way, whole. */
    struct base_buf b = {storage, 0, sizeof(storage), sizeof(storage) - sizeof(LOG_TRUNCATED_JSON) - 2};
    int rc = append_head(&b, level, msg ? msg : "", json, shaped ? service : NULL, src_file);
    size_t written = 0, head = b.len;
    bool cut = false, dropped = rc != 0;
    if (!rc && !append_fields(&b, fields, n, json, shaped, SIZE_MAX, &written, &cut)) {
        /* Too long whole: again from the head, with the long values cut. */
        b.len = head;
        b.data[head] = '\0';
        written = 0;
        size_t cap = value_cap(fields, n, json, b.max - b.len);
        dropped = !append_fields(&b, fields, n, json, shaped, cap, &written, &cut);
    }
    b.max = sizeof(storage) - 2;
    /* Room for these was kept above, so they cannot fail. */
    int tail_rc = 0;
    bool truncated = dropped || cut;
    if (!json)
        tail_rc = truncated ? base_buf_append_str(&b, LOG_TRUNCATED_TEXT) : 0;
    else if (truncated)
        tail_rc = base_buf_append_str(&b, shaped && written == 0 ? "\"truncated\":true}}"
                                          : shaped ? LOG_TRUNCATED_JSON
                                                   : ",\"truncated\":true}");
    else
        tail_rc = base_buf_append_str(&b, shaped ? "}}" : "}");
    (void)tail_rc;
    b.data[b.len++] = '\n';
    pthread_mutex_lock(&log_mu);
    FILE *out = log_out ? log_out : stderr;
    if (log_batching && level < BASE_LOG_WARN) {
        if (log_pending_len + b.len > sizeof(log_pending))
            flush_locked(out);
        memcpy(log_pending + log_pending_len, b.data, b.len);
        log_pending_len += b.len;
    } else {
        if (log_pending_len)
            fwrite(log_pending, 1, log_pending_len, out);
        log_pending_len = 0;
        fwrite(b.data, 1, b.len, out);
        fflush(out);
    }
    pthread_mutex_unlock(&log_mu);
}

void base_log_write(enum base_log_level level, const char *msg,
                    const struct base_log_field *fields, size_t n)
{
    base_log_write_at(NULL, level, msg, fields, n);
}

static int is_secret_name(const char *k, size_t n)
{
    static const char *words[] = {"pass", "token", "secret", "key", "auth", "sig"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t w = strlen(words[i]);
        for (size_t j = 0; j + w <= n; j++)
            if (strncasecmp(k + j, words[i], w) == 0)
                return 1;
    }
    return 0;
}

char *base_log_redact_url(const char *url, char *out, size_t n)
{
    struct base_buf b = {out, 0, n, n ? n - 1 : 0};
    if (!n)
        return out;
    out[0] = '\0';
    const char *scheme = strstr(url, "://");
    const char *auth_start = scheme ? scheme + 3 : url;
    const char *end_auth = auth_start + strcspn(auth_start, "/?#");
    const char *at = memchr(auth_start, '@', (size_t)(end_auth - auth_start));
    int rc = 0;
    if (at) {
        /* user:password keeps the user; a lone userinfo may itself be a
         * token (https://TOKEN@host), so it is hidden whole. */
        const char *colon = memchr(auth_start, ':', (size_t)(at - auth_start));
        rc |= base_buf_append(&b, url, (size_t)((colon ? colon : auth_start) - url));
        rc |= base_buf_append_str(&b, colon ? ":***" : "***");
        url = at;
    }
    const char *q = strchr(url, '?');
    if (!q) {
        rc |= base_buf_append_str(&b, url);
        (void)rc;
        return out;
    }
    rc |= base_buf_append(&b, url, (size_t)(q - url) + 1);
    const char *p = q + 1;
    while (*p) {
        size_t len = strcspn(p, "&#");
        const char *eq = memchr(p, '=', len);
        if (eq && is_secret_name(p, (size_t)(eq - p))) {
            rc |= base_buf_append(&b, p, (size_t)(eq - p) + 1);
            rc |= base_buf_append_str(&b, "***");
        } else {
            rc |= base_buf_append(&b, p, len);
        }
        p += len;
        if (*p == '&') {
            rc |= base_buf_append(&b, "&", 1);
            p++;
        } else if (*p == '#') {
            rc |= base_buf_append_str(&b, p);
            break;
        }
    }
    (void)rc;
    return out;
}
