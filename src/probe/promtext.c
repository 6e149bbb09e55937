/*
 * probe/promtext: the Prometheus text format reader (see promtext.h).
 * One pass over the body, line by line; every read is bounded by the
 * line's end.
 */
#include "probe/promtext.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cursor {
    const char *p, *end;       /* the line, without its newline */
    const char *line_start;
    size_t line_no;
    struct probe_promtext_error *err;
};

static int fail(struct cursor *c, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct cursor *c, const char *at, const char *fmt, ...)
{
    if (c->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
        va_end(ap);
        /* what it quotes of the page is printable ASCII only */
        for (char *m = c->err->message; *m; m++)
            if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
                *m = '?';
        c->err->line = c->line_no;
        c->err->col = (size_t)(at - c->line_start) + 1;
    }
    return -1;
}

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool name_start(char ch, bool metric)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || (metric && ch == ':');
}

static bool name_char(char ch, bool metric)
{
    return name_start(ch, metric) || (ch >= '0' && ch <= '9');
}

/* A metric (colons allowed) or label name into out. */
static int read_name(struct cursor *c, bool metric, char out[PROBE_PROMTEXT_NAME_MAX])
{
    const char *s = c->p;
    if (c->p >= c->end || !name_start(*c->p, metric))
        return fail(c, c->p, "expected a %s name", metric ? "metric" : "label");
    while (c->p < c->end && name_char(*c->p, metric))
        c->p++;
    size_t n = (size_t)(c->p - s);
    if (n >= PROBE_PROMTEXT_NAME_MAX)
        return fail(c, s, "name longer than %d bytes", PROBE_PROMTEXT_NAME_MAX - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* A double-quoted label value with \\, \" and \n escapes. */
static int read_value_string(struct cursor *c, struct probe_promtext_label *l)
{
    if (c->p >= c->end || *c->p != '"')
        return fail(c, c->p, "expected '\"' to start the value of label %s", l->name);
    const char *open = c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            if (c->p >= c->end)
                break;
            char e = *c->p++;
            if (e == 'n')
                ch = '\n';
            else if (e == '\\' || e == '"')
                ch = e;
            else
                return fail(c, c->p - 2, "invalid escape '\\%c' in the value of label %s", e, l->name);
        } else if (ch == '\0') {
            return fail(c, c->p - 1, "NUL byte in the value of label %s", l->name);
        }
        if (n + 1 >= PROBE_PROMTEXT_LABEL_VALUE_MAX)
            return fail(c, open, "the value of label %s is longer than %d bytes", l->name,
                        PROBE_PROMTEXT_LABEL_VALUE_MAX - 1);
        l->value[n++] = ch;
    }
    if (c->p >= c->end)
        return fail(c, open, "unterminated value of label %s", l->name);
    c->p++;
    l->value[n] = '\0';
    l->value_len = n;
    return 0;
}

static int read_labels(struct cursor *c, struct probe_promtext_sample *s)
{
    c->p++; /* '{' */
    for (;;) {
        skip_blanks(c);
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        if (s->n_labels == PROBE_PROMTEXT_LABELS_MAX)
            return fail(c, c->p, "more than %d labels", PROBE_PROMTEXT_LABELS_MAX);
        struct probe_promtext_label *l = &s->labels[s->n_labels];
        const char *at = c->p;
        if (read_name(c, false, l->name))
            return -1;
        for (size_t i = 0; i < s->n_labels; i++)
            if (!strcmp(s->labels[i].name, l->name))
                return fail(c, at, "label %s appears twice", l->name);
        skip_blanks(c);
        if (c->p >= c->end || *c->p != '=')
            return fail(c, c->p, "expected '=' after label %s", l->name);
        c->p++;
        skip_blanks(c);
        if (read_value_string(c, l))
            return -1;
        s->n_labels++;
        skip_blanks(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 0;
        }
        return fail(c, c->p, "expected ',' or '}' after the value of label %s", l->name);
    }
}

/* A token up to the next blank (or the end). */
static size_t token(struct cursor *c, const char **start)
{
    *start = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
        c->p++;
    return (size_t)(c->p - *start);
}

/* Go's ParseFloat as Prometheus uses it, for the decimal forms and
 * NaN/Inf (case-insensitive, with a sign): no hex, no underscores. */
static bool parse_float(const char *s, size_t n, double *out)
{
    char buf[64];
    if (!n || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *b = buf + (buf[0] == '+' || buf[0] == '-');
    if (!strcasecmp(b, "nan") || !strcasecmp(b, "inf") || !strcasecmp(b, "infinity")) {
        double v = (b[0] == 'n' || b[0] == 'N') ? NAN : INFINITY;
        *out = buf[0] == '-' ? -v : v;
        return true;
    }
    for (const char *p = b; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
            return false;
    char *end;
    *out = strtod(buf, &end);
    return end == buf + n && b[0] != '\0' && (b[0] != 'e' && b[0] != 'E');
}

static enum probe_promtext_type family_type(const char *name, const char *fam, enum probe_promtext_type t)
{
    static const char *const suffixes[] = {"", "_bucket", "_count", "_sum", "_total", "_created"};
    size_t fl = strlen(fam);
    if (!fl || strncmp(name, fam, fl) != 0)
        return PROBE_PROMTEXT_UNTYPED;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (!strcmp(name + fl, suffixes[i]))
            return t;
    return PROBE_PROMTEXT_UNTYPED;
}

struct family {
    char name[PROBE_PROMTEXT_NAME_MAX];
    enum probe_promtext_type type;
};

static int comment(struct cursor *c, struct family *fam, bool *eof)
{
    c->p++; /* '#' */
    skip_blanks(c);
    const char *kw;
    size_t kl = token(c, &kw);
    if (kl == 3 && !memcmp(kw, "EOF", 3)) {
        *eof = true;
        return 0;
    }
    if (!(kl == 4 && !memcmp(kw, "TYPE", 4)))
        return 0;   /* HELP, UNIT and plain comments say nothing we keep */
    skip_blanks(c);
    char name[PROBE_PROMTEXT_NAME_MAX];
    if (read_name(c, true, name))
        return -1;
    skip_blanks(c);
    const char *ts;
    size_t tl = token(c, &ts);
    static const struct {
        const char *word;
        enum probe_promtext_type type;
    } types[] = {
        {"counter", PROBE_PROMTEXT_COUNTER}, {"gauge", PROBE_PROMTEXT_GAUGE},
        {"histogram", PROBE_PROMTEXT_HISTOGRAM}, {"summary", PROBE_PROMTEXT_SUMMARY},
        {"untyped", PROBE_PROMTEXT_UNTYPED}, {"unknown", PROBE_PROMTEXT_UNTYPED},
        {"gaugehistogram", PROBE_PROMTEXT_HISTOGRAM}, {"info", PROBE_PROMTEXT_GAUGE},
        {"stateset", PROBE_PROMTEXT_GAUGE},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i].word) == tl && !memcmp(types[i].word, ts, tl)) {
            memcpy(fam->name, name, sizeof(name));
            fam->type = types[i].type;
            return 0;
        }
    return fail(c, ts, "unknown metric type '%.*s'", (int)(tl > 32 ? 32 : tl), ts);
}

static int sample_line(struct cursor *c, const struct family *fam, bool openmetrics, struct probe_promtext_sample *s)
{
    s->n_labels = 0;
    s->has_timestamp = false;
    if (read_name(c, true, s->name))
        return -1;
    s->type = family_type(s->name, fam->name, fam->type);
    skip_blanks(c);
    if (c->p < c->end && *c->p == '{' && read_labels(c, s))
        return -1;
    skip_blanks(c);
    const char *v;
    size_t vl = token(c, &v);
    if (!vl)
        return fail(c, c->p, "expected a value after %s", s->name);
    if (!parse_float(v, vl, &s->value))
        return fail(c, v, "invalid value '%.*s'", (int)(vl > 32 ? 32 : vl), v);
    skip_blanks(c);
    if (c->p < c->end && *c->p != '#') {
        const char *ts;
        size_t tl = token(c, &ts);
        double t;
        if (!parse_float(ts, tl, &t) || !isfinite(t) || fabs(t) > 9.2e15)
            return fail(c, ts, "invalid timestamp '%.*s'", (int)(tl > 32 ? 32 : tl), ts);
        /* 0.0.4: integer milliseconds; OpenMetrics: seconds */
        if (!openmetrics && memchr(ts, '.', tl))
            return fail(c, ts, "invalid timestamp '%.*s' (milliseconds are whole)", (int)(tl > 32 ? 32 : tl), ts);
        s->timestamp_ms = openmetrics ? (int64_t)(t * 1000.0) : (int64_t)t;
        s->has_timestamp = true;
        skip_blanks(c);
    }
    /* an OpenMetrics exemplar (" # {...} value [ts]") is not kept */
    if (c->p < c->end && *c->p != '#')
        return fail(c, c->p, "unexpected text after the sample");
    return 0;
}

int probe_promtext_parse(const char *text, size_t len, bool openmetrics, struct probe_promtext_sample *scratch,
                         probe_promtext_sample_cb cb, void *data, struct probe_promtext_error *err)
{
    struct family fam = {.name = "", .type = PROBE_PROMTEXT_UNTYPED};
    struct cursor c = {.err = err};
    const char *p = text, *end = text + len;
    bool eof = false;
    while (p < end && !eof) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        c.line_no++;
        c.p = c.line_start = p;
        c.end = le > p && le[-1] == '\r' ? le - 1 : le;
        p = nl ? nl + 1 : end;
        if ((size_t)(c.end - c.p) > PROBE_PROMTEXT_LINE_MAX)
            return fail(&c, c.p, "line longer than %d bytes", PROBE_PROMTEXT_LINE_MAX);
        skip_blanks(&c);
        if (c.p == c.end)
            continue;
        if (*c.p == '#') {
            if (comment(&c, &fam, &eof))
                return -1;
            continue;
        }
        if (sample_line(&c, &fam, openmetrics, scratch))
            return -1;
        int rc = cb(data, scratch);
        if (rc)
            return rc;
    }
    return 0;
}

const char *probe_promtext_type_name(enum probe_promtext_type t)
{
    switch (t) {
    case PROBE_PROMTEXT_COUNTER: return "counter";
    case PROBE_PROMTEXT_GAUGE: return "gauge";
    case PROBE_PROMTEXT_HISTOGRAM: return "histogram";
    case PROBE_PROMTEXT_SUMMARY: return "summary";
    default: return "untyped";
    }
}
