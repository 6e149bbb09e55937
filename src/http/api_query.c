/*
 * http/api_query: the Prometheus HTTP API over opshub's series, so that
 * Grafana's Prometheus data source (and anything else that speaks it)
 * reads opshub directly: /api/v1/query, /api/v1/query_range,
 * /api/v1/series, /api/v1/labels and /api/v1/label/{name}/values, by GET
 * or by POST with a form body, with Prometheus' parameters, response
 * shapes ({"status":"success","data":...}) and errors
 * ({"status":"error","errorType":"bad_data","error":"..."}: 400 for a bad
 * request, 422 for an execution error). Evaluation runs on the loop,
 * bounded by the evaluator's sample limit.
 */
#include "http/api_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/time.h"
#include "rules/promql.h"
#include "series/series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_PARAMS_MAX 64
#define QUERY_MATCH_MAX 32
#define QUERY_POINTS_MAX 11000           /* Prometheus' limit per series of a range query */
#define QUERY_OUT_MAX (256u * 1024 * 1024)

/* Parameters from the query string and a form body together. */
struct qparams {
    struct {
        char *name, *value;
    } kv[QUERY_PARAMS_MAX];
    size_t n;
};

static void qparams_free(struct qparams *q)
{
    for (size_t i = 0; i < q->n; i++) {
        base_free(q->kv[i].name);
        base_free(q->kv[i].value);
    }
    q->n = 0;
}

static int parse_pairs(struct qparams *q, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            size_t klen = eq ? (size_t)(eq - (s + i)) : j - i;
            size_t vlen = eq ? j - i - klen - 1 : 0;
            if (q->n == QUERY_PARAMS_MAX)
                return -1;
            char *k = base_malloc(klen + 1), *v = base_malloc(vlen + 1);
            size_t dk, dv;
            if (!k || !v || !http_request_percent_decode(s + i, klen, k, &dk, true) ||
                !http_request_percent_decode(eq ? eq + 1 : "", vlen, v, &dv, true)) {
                base_free(k);
                base_free(v);
                return -1;
            }
            q->kv[q->n].name = k;
            q->kv[q->n].value = v;
            q->n++;
        }
        i = j + 1;
    }
    return 0;
}

static int qparams_read(struct qparams *q, const struct http_request *req)
{
    q->n = 0;
    if (req->query && parse_pairs(q, req->query, strlen(req->query)) < 0)
        return -1;
    const char *ct = http_request_header(req, "Content-Type");
    if (strcmp(req->method, "POST") == 0 && req->body_len && ct &&
        strncmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        return parse_pairs(q, req->body, req->body_len);
    return 0;
}

static const char *qget(const struct qparams *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->kv[i].name, name) == 0)
            return q->kv[i].value;
    return NULL;
}

/* ---- answers ---- */

static void send_prom_error(struct http_api *api, struct http_request *req, int status, const char *type,
                            const char *msg)
{
    struct base_buf b;
    base_buf_init(&b, 64 * 1024);
    int rc = base_buf_appendf(&b, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
    rc |= base_buf_append_json_str_max(&b, msg, strlen(msg), 4096, "...", NULL);
    rc |= base_buf_append_str(&b, "}");
    if (rc)
        api_send_error(api, req, 500, "internal", "out of memory", NULL);
    else
        api_send(api, req, status, "application/json", NULL, b.data, b.len);
    base_buf_free(&b);
}

static void send_bad(struct http_api *api, struct http_request *req, const char *fmt, const char *arg)
    __attribute__((format(printf, 3, 0)));
static void send_bad(struct http_api *api, struct http_request *req, const char *fmt, const char *arg)
{
    char msg[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
#pragma GCC diagnostic pop
    send_prom_error(api, req, 400, "bad_data", msg);
}

/* Prometheus' times: unix seconds (fractions to the ms) or RFC 3339. */
static int parse_time(const char *s, int64_t *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (*s && end && !*end && isfinite(v)) {
        if (fabs(v) > 9.2e15)
            return -1;
        double whole = trunc(v);
        *ms = (int64_t)whole * 1000 + (int64_t)llround((v - whole) * 1000);
        return 0;
    }
    return base_time_parse(s, ms) == 0 ? 0 : -1;
}

/* A step: a float of seconds or a PromQL duration (`15s`, `1m`). */
static int parse_step(const char *s, int64_t *ms)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (*s && end && !*end && isfinite(v)) {
        if (v > 9.2e15)
            return -1;
        *ms = (int64_t)llround(v * 1000);
        return 0;
    }
    struct promql_error err;
    char text[80];
    snprintf(text, sizeof(text), "x[%s]", s);
    struct promql_expr *e = strlen(s) < 64 ? promql_parse(text, &err) : NULL;
    if (!e)
        return -1;
    *ms = promql_expr_range(e);
    promql_expr_free(e);
    return *ms > 0 ? 0 : -1;
}

static int put_time(struct base_buf *b, int64_t ms)
{
    int64_t s = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        s -= 1;
    }
    if (!frac)
        return base_buf_appendf(b, "%lld", (long long)s);
    char f[8];
    snprintf(f, sizeof(f), "%03lld", (long long)frac);
    size_t n = strlen(f);
    while (n > 1 && f[n - 1] == '0')
        f[--n] = 0;
    return base_buf_appendf(b, "%lld.%s", (long long)s, f);
}

static int put_point(struct base_buf *b, int64_t t, double v)
{
    char num[PROMQL_FLOAT_MAX];
    promql_format_float(v, num);
    int rc = base_buf_append_str(b, "[");
    rc |= put_time(b, t);
    rc |= base_buf_appendf(b, ",\"%s\"]", num);
    return rc;
}

static int put_labels(struct base_buf *b, const struct series_label *l, size_t n)
{
    int rc = base_buf_append_str(b, "{");
    for (size_t i = 0; i < n && !rc; i++) {
        if (i)
            rc |= base_buf_append_str(b, ",");
        rc |= base_buf_append_json_str(b, l[i].name, strlen(l[i].name));
        rc |= base_buf_append_str(b, ":");
        rc |= base_buf_append_json_str(b, l[i].value, strlen(l[i].value));
    }
    return rc | base_buf_append_str(b, "}");
}

static int put_result(struct base_buf *b, const struct promql_result *r)
{
    static const char *const names[] = {"scalar", "vector", "matrix", "string"};
    int rc = base_buf_appendf(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":", names[r->type]);
    if (r->type == PROMQL_SCALAR) {
        rc |= put_point(b, r->t, r->scalar);
    } else if (r->type == PROMQL_STRING) {
        rc |= base_buf_append_str(b, "[");
        rc |= put_time(b, r->t);
        rc |= base_buf_append_str(b, ",");
        rc |= base_buf_append_json_str(b, r->string, strlen(r->string));
        rc |= base_buf_append_str(b, "]");
    } else {
        rc |= base_buf_append_str(b, "[");
        for (size_t i = 0; i < r->n && !rc; i++) {
            const struct promql_series *s = &r->series[i];
            rc |= base_buf_append_str(b, i ? ",{\"metric\":" : "{\"metric\":");
            rc |= put_labels(b, s->labels, s->n_labels);
            if (r->type == PROMQL_VECTOR) {
                rc |= base_buf_append_str(b, ",\"value\":");
                rc |= put_point(b, s->t[0], s->v[0]);
            } else {
                rc |= base_buf_append_str(b, ",\"values\":[");
                for (size_t k = 0; k < s->n && !rc; k++) {
                    if (k)
                        rc |= base_buf_append_str(b, ",");
                    rc |= put_point(b, s->t[k], s->v[k]);
                }
                rc |= base_buf_append_str(b, "]");
            }
            rc |= base_buf_append_str(b, "}");
        }
        rc |= base_buf_append_str(b, "]");
    }
    return rc | base_buf_append_str(b, "}}");
}

static void send_buf(struct http_api *api, struct http_request *req, struct base_buf *b, int rc)
{
    if (rc)
        send_prom_error(api, req, 422, "execution", "the response is larger than the server's limit");
    else
        api_send(api, req, 200, "application/json", NULL, b->data, b->len);
}

/* "1:7: parse error: unexpected ..." as Prometheus words it. */
static void send_parse_error(struct http_api *api, struct http_request *req, const char *text,
                             const struct promql_error *err)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < err->pos && text[i]; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[PROMQL_MSG_MAX + 64];
    snprintf(msg, sizeof(msg), "%zu:%zu: parse error: %s", line, col, err->msg);
    send_prom_error(api, req, 400, "bad_data", msg);
}

static void send_eval_error(struct http_api *api, struct http_request *req, int rc, const struct promql_error *err)
{
    if (rc == PROMQL_ERR_NOMEM)
        send_prom_error(api, req, 503, "internal", "out of memory");
    else
        send_prom_error(api, req, 422, "execution", err->msg);
}

static bool series_ready(struct http_api *api, struct http_request *req)
{
    if (api->deps.series)
        return true;
    send_prom_error(api, req, 503, "unavailable", "the series store is not running");
    return false;
}

static struct promql_expr *parse_query(struct http_api *api, struct http_request *req, const struct qparams *q)
{
    const char *text = qget(q, "query");
    if (!text || !*text) {
        send_bad(api, req, "invalid parameter \"query\": no query given%s", NULL);
        return NULL;
    }
    struct promql_error err;
    struct promql_expr *e = promql_parse(text, &err);
    if (!e)
        send_parse_error(api, req, text, &err);
    return e;
}

/* One query, evaluated now or once the archive (api_archive.c) is in. */
struct query_ctx {
    struct http_api *api;
    struct http_request *req;
    struct promql_expr *e;
    bool range;
    int64_t start, end, step;
};

static void run_query(struct query_ctx *c, struct series_db *archive)
{
    struct promql_opts o;
    promql_opts_default(&o);
    o.archive = archive;
    struct promql_result r;
    struct promql_error err;
    int rc = c->range ? promql_eval_range(c->api->deps.series, c->e, c->start, c->end, c->step, &o, &r, &err)
                      : promql_eval_instant(c->api->deps.series, c->e, c->start, &o, &r, &err);
    if (rc) {
        send_eval_error(c->api, c->req, rc, &err);
    } else {
        struct base_buf b;
        base_buf_init(&b, QUERY_OUT_MAX);
        send_buf(c->api, c->req, &b, put_result(&b, &r));
        base_buf_free(&b);
    }
    promql_result_free(&r);
}

static void query_free(struct query_ctx *c)
{
    promql_expr_free(c->e);
    base_free(c);
}

static void on_archive(void *data, struct series_db *archive)
{
    struct query_ctx *c = data;
    run_query(c, archive);   /* without the archive when the store failed: what the window holds */
    series_db_destroy(archive);
    http_request_unref(c->req);
    query_free(c);
}

/* Takes c (and its expression). A query that reads before the series
 * window waits for the rollups of that span. */
static void query_start(struct query_ctx *c)
{
    struct promql_opts o;
    promql_opts_default(&o);
    int64_t from = c->start - promql_expr_reach(c->e, o.lookback_ms);
    int64_t oldest = series_db_oldest(c->api->deps.series);
    if (oldest != INT64_MIN && from < oldest) {
        http_request_ref(c->req);
        if (api_archive_build(c->api, from, c->end, on_archive, c) == 0)
            return;
        http_request_unref(c->req);
    }
    run_query(c, NULL);
    query_free(c);
}

static struct query_ctx *query_new(struct http_api *api, struct http_request *req, struct promql_expr *e)
{
    struct query_ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        promql_expr_free(e);
        send_prom_error(api, req, 500, "internal", "out of memory");
        return NULL;
    }
    c->api = api;
    c->req = req;
    c->e = e;
    return c;
}

void api_query_instant(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct qparams q;
    if (qparams_read(&q, req) < 0) {
        qparams_free(&q);
        send_bad(api, req, "malformed or too many parameters%s", NULL);
        return;
    }
    int64_t t = base_time_now_ms();
    const char *ts = qget(&q, "time");
    struct promql_expr *e = NULL;
    if (ts && *ts && parse_time(ts, &t) < 0) {
        send_bad(api, req, "invalid parameter \"time\": cannot parse \"%.100s\" to a valid timestamp", ts);
    } else if (series_ready(api, req) && (e = parse_query(api, req, &q))) {
        struct query_ctx *c = query_new(api, req, e);
        if (c) {
            c->start = c->end = t;
            query_start(c);
        }
    }
    qparams_free(&q);
}

void api_query_range(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct qparams q;
    if (qparams_read(&q, req) < 0) {
        qparams_free(&q);
        send_bad(api, req, "malformed or too many parameters%s", NULL);
        return;
    }
    int64_t start = 0, end = 0, step = 0;
    const char *s = qget(&q, "start"), *en = qget(&q, "end"), *st = qget(&q, "step");
    struct promql_expr *e = NULL;
    if (!s || parse_time(s, &start) < 0)
        send_bad(api, req, "invalid parameter \"start\": cannot parse \"%.100s\" to a valid timestamp", s);
    else if (!en || parse_time(en, &end) < 0)
        send_bad(api, req, "invalid parameter \"end\": cannot parse \"%.100s\" to a valid timestamp", en);
    else if (end < start)
        send_bad(api, req, "invalid parameter \"end\": end timestamp must not be before start time%s", NULL);
    else if (!st || parse_step(st, &step) < 0)
        send_bad(api, req, "invalid parameter \"step\": cannot parse \"%.100s\" to a valid duration", st);
    else if (step <= 0)
        send_bad(api, req, "invalid parameter \"step\": zero or negative query resolution step widths are not "
                           "accepted. Try a positive integer%s", NULL);
    else if ((end - start) / step > QUERY_POINTS_MAX)
        send_bad(api, req, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                           "resolution (?step=XX)%s", NULL);
    else if (series_ready(api, req) && (e = parse_query(api, req, &q))) {
        enum promql_type type = promql_expr_type(e);
        if (type != PROMQL_SCALAR && type != PROMQL_VECTOR) {
            send_bad(api, req, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
                     promql_type_name(type));
            promql_expr_free(e);
        } else {
            struct query_ctx *c = query_new(api, req, e);
            if (c) {
                c->range = true;
                c->start = start;
                c->end = end;
                c->step = step;
                query_start(c);
            }
        }
    }
    qparams_free(&q);
}

/* ---- series and labels ---- */

struct matchsets {
    struct promql_expr *e[QUERY_MATCH_MAX];
    size_t n;
    int64_t start, end;
};

static void matchsets_free(struct matchsets *m)
{
    for (size_t i = 0; i < m->n; i++)
        promql_expr_free(m->e[i]);
    m->n = 0;
}

/* match[] selectors, start and end; false when an answer was sent. */
static bool read_matchsets(struct http_api *api, struct http_request *req, const struct qparams *q,
                           struct matchsets *m, bool required)
{
    m->n = 0;
    m->start = INT64_MIN / 4;
    m->end = INT64_MAX / 4;
    const char *s = qget(q, "start"), *e = qget(q, "end");
    if (s && *s && parse_time(s, &m->start) < 0) {
        send_bad(api, req, "invalid parameter \"start\": cannot parse \"%.100s\" to a valid timestamp", s);
        return false;
    }
    if (e && *e && parse_time(e, &m->end) < 0) {
        send_bad(api, req, "invalid parameter \"end\": cannot parse \"%.100s\" to a valid timestamp", e);
        return false;
    }
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(q->kv[i].name, "match[]") != 0)
            continue;
        if (m->n == QUERY_MATCH_MAX) {
            send_bad(api, req, "too many match[] selectors (at most 32)%s", NULL);
            return false;
        }
        struct promql_error err;
        struct promql_expr *x = promql_parse(q->kv[i].value, &err);
        size_t nm;
        if (!x || !promql_expr_selector(x, &nm)) {
            promql_expr_free(x);
            send_bad(api, req, "invalid parameter \"match[]\": %s", x ? "not a series selector" : err.msg);
            return false;
        }
        m->e[m->n++] = x;
    }
    if (required && !m->n) {
        send_bad(api, req, "no match[] parameter provided%s", NULL);
        return false;
    }
    return true;
}

static int cmp_ref(const void *a, const void *b)
{
    series_ref x = *(const series_ref *)a, y = *(const series_ref *)b;
    return x < y ? -1 : x > y;
}

void api_query_series(void *data, struct http_request *req, const struct http_params *p)
{
    struct http_api *api = data;
    struct qparams q;
    struct matchsets m = {0};
    if (qparams_read(&q, req) < 0)
        send_bad(api, req, "malformed or too many parameters%s", NULL);
    else if (series_ready(api, req) && read_matchsets(api, req, &q, &m, true)) {
        series_ref *all = NULL;
        size_t n_all = 0;
        int rc = 0;
        for (size_t i = 0; i < m.n && !rc; i++) {
            size_t nm;
            const struct series_matcher *ms = promql_expr_selector(m.e[i], &nm);
            series_ref *refs = NULL;
            size_t n = 0;
            rc = series_db_select(api->deps.series, ms, nm, m.start, m.end, &refs, &n);
            series_ref *grown = rc ? NULL : base_realloc(all, (n_all + n + 1) * sizeof(*all));
            if (grown) {
                all = grown;
                memcpy(all + n_all, refs, n * sizeof(*refs));
                n_all += n;
            } else {
                rc = -1;
            }
            base_free(refs);
        }
        qsort(all, n_all, sizeof(*all), cmp_ref);
        struct base_buf b;
        base_buf_init(&b, QUERY_OUT_MAX);
        rc |= base_buf_append_str(&b, "{\"status\":\"success\",\"data\":[");
        size_t written = 0;
        for (size_t i = 0; i < n_all && !rc; i++) {
            if (i && all[i] == all[i - 1])
                continue;
            const struct series_label *l;
            size_t nl = series_db_labels(api->deps.series, all[i], &l);
            if (written++)
                rc |= base_buf_append_str(&b, ",");
            rc |= put_labels(&b, l, nl);
        }
        rc |= base_buf_append_str(&b, "]}");
        send_buf(api, req, &b, rc);
        base_buf_free(&b);
        base_free(all);
    }
    matchsets_free(&m);
    qparams_free(&q);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Names (name NULL) or one label's values, over every match[] set. */
static void send_label_strings(struct http_api *api, struct http_request *req, const char *name)
{
    struct qparams q;
    struct matchsets m = {0};
    if (qparams_read(&q, req) < 0) {
        send_bad(api, req, "malformed or too many parameters%s", NULL);
    } else if (series_ready(api, req) && read_matchsets(api, req, &q, &m, false)) {
        const char **all = NULL;
        size_t n_all = 0;
        int rc = 0;
        for (size_t i = 0; i < (m.n ? m.n : 1) && !rc; i++) {
            size_t nm = 0;
            const struct series_matcher *ms = m.n ? promql_expr_selector(m.e[i], &nm) : NULL;
            const char **got = NULL;
            size_t n = 0;
            rc = name ? series_db_label_values(api->deps.series, name, ms, nm, m.start, m.end, &got, &n)
                      : series_db_label_names(api->deps.series, ms, nm, m.start, m.end, &got, &n);
            const char **grown = rc ? NULL : base_realloc(all, (n_all + n + 1) * sizeof(*all));
            if (grown) {
                all = grown;
                memcpy(all + n_all, got, n * sizeof(*got));
                n_all += n;
            } else {
                rc = -1;
            }
            base_free(got);
        }
        qsort(all, n_all, sizeof(*all), cmp_str);
        struct base_buf b;
        base_buf_init(&b, QUERY_OUT_MAX);
        rc |= base_buf_append_str(&b, "{\"status\":\"success\",\"data\":[");
        size_t written = 0;
        for (size_t i = 0; i < n_all && !rc; i++) {
            if (i && strcmp(all[i], all[i - 1]) == 0)
                continue;
            if (written++)
                rc |= base_buf_append_str(&b, ",");
            rc |= base_buf_append_json_str(&b, all[i], strlen(all[i]));
        }
        rc |= base_buf_append_str(&b, "]}");
        send_buf(api, req, &b, rc);
        base_buf_free(&b);
        base_free(all);
    }
    matchsets_free(&m);
    qparams_free(&q);
}

void api_query_labels(void *data, struct http_request *req, const struct http_params *p)
{
    send_label_strings(data, req, NULL);
}

void api_query_label_values(void *data, struct http_request *req, const struct http_params *p)
{
    const char *name = http_params_get(p, "name");
    send_label_strings(data, req, name ? name : "");
}
