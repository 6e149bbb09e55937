/*
 * probe/promsel: series selectors (see promsel.h). Hand-written: a
 * selector is the smallest piece of PromQL's grammar.
 */
#include "probe/promsel.h"

#include "base/alloc.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REGEX_MATCH_LIMIT 100000
#define REGEX_DEPTH_LIMIT 1000

enum op { OP_EQ, OP_NE, OP_RE, OP_NRE };

struct matcher {
    char label[PROBE_PROMTEXT_NAME_MAX];
    enum op op;
    char *value;               /* = and != */
    pcre2_code *re;            /* =~ and !~ */
};

struct probe_promsel {
    size_t n;
    struct matcher m[PROBE_PROMSEL_MATCHERS_MAX];
    pcre2_match_data *md;
    pcre2_match_context *mc;
};

struct parser {
    const char *text, *p;
    char *why;
    size_t why_len, *col;
};

static void *fail(struct parser *ps, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void *fail(struct parser *ps, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->why, ps->why_len, fmt, ap);
    va_end(ap);
    *ps->col = (size_t)(at - ps->text) + 1;
    return NULL;
}

static void blanks(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static size_t name_len(const char *p, bool metric)
{
    size_t n = 0;
    if (!name_start(p[0]) && !(metric && p[0] == ':'))
        return 0;
    while (name_start(p[n]) || (p[n] >= '0' && p[n] <= '9') || (metric && p[n] == ':'))
        n++;
    return n;
}

static int add(struct parser *ps, struct probe_promsel *sel, const char *label, size_t ll, enum op op,
               const char *value, size_t vl, const char *at)
{
    if (sel->n == PROBE_PROMSEL_MATCHERS_MAX) {
        fail(ps, at, "more than %d matchers", PROBE_PROMSEL_MATCHERS_MAX);
        return -1;
    }
    if (ll >= PROBE_PROMTEXT_NAME_MAX) {
        fail(ps, at, "label name longer than %d bytes", PROBE_PROMTEXT_NAME_MAX - 1);
        return -1;
    }
    struct matcher *m = &sel->m[sel->n];
    memcpy(m->label, label, ll);
    m->label[ll] = '\0';
    m->op = op;
    if (op == OP_EQ || op == OP_NE) {
        if (!(m->value = base_malloc(vl + 1))) {
            fail(ps, at, "out of memory");
            return -1;
        }
        memcpy(m->value, value, vl);
        m->value[vl] = '\0';
        sel->n++;
        return 0;
    }
    int err;
    PCRE2_SIZE off;
    m->re = pcre2_compile((PCRE2_SPTR)value, vl, PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C,
                          &err, &off, NULL);
    if (!m->re) {
        PCRE2_UCHAR msg[120];
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "cannot be compiled");
        fail(ps, at, "bad regex for %s: %s at offset %zu", m->label, (const char *)msg, (size_t)off);
        return -1;
    }
    sel->n++;
    return 0;
}

/* A quoted string into buf (escapes resolved): its length, or -1. */
static long quoted(struct parser *ps, char *buf, size_t cap)
{
    char q = *ps->p;
    if (q != '"' && q != '\'') {
        fail(ps, ps->p, "expected a quoted value");
        return -1;
    }
    const char *open = ps->p++;
    size_t n = 0;
    while (*ps->p && *ps->p != q) {
        char c = *ps->p++;
        if (c == '\\') {
            if (!*ps->p)
                break;          /* unterminated, below */
            char e = *ps->p++;
            if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else if (e == '\\' || e == '"' || e == '\'')
                c = e;
            else {
                fail(ps, ps->p - 2, "invalid escape in a quoted value");
                return -1;
            }
        }
        if (n + 1 >= cap) {
            fail(ps, open, "value longer than %zu bytes", cap - 1);
            return -1;
        }
        buf[n++] = c;
    }
    if (*ps->p != q) {
        fail(ps, open, "unterminated quoted value");
        return -1;
    }
    ps->p++;
    return (long)n;
}

static int matchers(struct parser *ps, struct probe_promsel *sel)
{
    char value[PROBE_PROMSEL_TEXT_MAX];
    ps->p++; /* '{' */
    for (;;) {
        blanks(ps);
        if (*ps->p == '}')
            break;
        const char *at = ps->p;
        size_t ll = name_len(ps->p, false);
        if (!ll) {
            fail(ps, ps->p, "expected a label name");
            return -1;
        }
        const char *label = ps->p;
        ps->p += ll;
        blanks(ps);
        enum op op;
        if (!strncmp(ps->p, "=~", 2))
            op = OP_RE, ps->p += 2;
        else if (!strncmp(ps->p, "!~", 2))
            op = OP_NRE, ps->p += 2;
        else if (!strncmp(ps->p, "!=", 2))
            op = OP_NE, ps->p += 2;
        else if (*ps->p == '=')
            op = OP_EQ, ps->p++;
        else {
            fail(ps, ps->p, "expected =, !=, =~ or !~ after %.*s", (int)ll, label);
            return -1;
        }
        blanks(ps);
        long vl = quoted(ps, value, sizeof(value));
        if (vl < 0 || add(ps, sel, label, ll, op, value, (size_t)vl, at))
            return -1;
        blanks(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p != '}') {
            fail(ps, ps->p, "expected ',' or '}'");
            return -1;
        }
        break;
    }
    ps->p++;
    return 0;
}

struct probe_promsel *probe_promsel_parse(const char *text, char *why, size_t why_len, size_t *col)
{
    struct parser ps = {.text = text, .p = text, .why = why, .why_len = why_len, .col = col};
    *col = 0;
    if (strlen(text) > PROBE_PROMSEL_TEXT_MAX)
        return fail(&ps, text, "selector longer than %d bytes", PROBE_PROMSEL_TEXT_MAX);
    struct probe_promsel *sel = base_calloc(1, sizeof(*sel));
    if (!sel) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    blanks(&ps);
    size_t nl = name_len(ps.p, true);
    if (nl && add(&ps, sel, "__name__", 8, OP_EQ, ps.p, nl, ps.p))
        goto fail;
    ps.p += nl;
    blanks(&ps);
    if (!nl && *ps.p != '{') {
        fail(&ps, ps.p, "expected a metric name or '{'");
        goto fail;
    }
    if (*ps.p == '{' && matchers(&ps, sel))
        goto fail;
    blanks(&ps);
    if (*ps.p) {
        fail(&ps, ps.p, "unexpected text after the selector");
        goto fail;
    }
    /* like Prometheus: at least one matcher that does not match "" */
    bool anchored = false;
    for (size_t i = 0; i < sel->n; i++) {
        struct probe_promtext_sample empty = {.n_labels = 0};
        struct probe_promsel one = {.n = 1, .m = {sel->m[i]}};
        sel->mc = sel->mc ? sel->mc : pcre2_match_context_create(NULL);
        sel->md = sel->md ? sel->md : pcre2_match_data_create(1, NULL);
        if (!sel->mc || !sel->md) {
            snprintf(why, why_len, "out of memory");
            *col = 0;
            goto fail;
        }
        one.mc = sel->mc;
        one.md = sel->md;
        if (!probe_promsel_match(&one, &empty))
            anchored = true;
    }
    if (!anchored) {
        fail(&ps, text, "the selector matches every series: give a metric name or a matcher that does not "
             "match the empty string");
        goto fail;
    }
    pcre2_set_match_limit(sel->mc, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(sel->mc, REGEX_DEPTH_LIMIT);
    return sel;
fail:
    probe_promsel_destroy(sel);
    return NULL;
}

static const char *label_value(const struct probe_promtext_sample *s, const char *label, size_t *len)
{
    if (!strcmp(label, "__name__")) {
        *len = strlen(s->name);
        return s->name;
    }
    for (size_t i = 0; i < s->n_labels; i++)
        if (!strcmp(s->labels[i].name, label)) {
            *len = s->labels[i].value_len;
            return s->labels[i].value;
        }
    *len = 0;
    return "";
}

bool probe_promsel_match(const struct probe_promsel *sel, const struct probe_promtext_sample *s)
{
    for (size_t i = 0; i < sel->n; i++) {
        const struct matcher *m = &sel->m[i];
        size_t len;
        const char *v = label_value(s, m->label, &len);
        bool ok;
        if (m->op == OP_EQ || m->op == OP_NE)
            ok = (strlen(m->value) == len && !memcmp(m->value, v, len)) == (m->op == OP_EQ);
        else    /* a match over the limit counts as no match */
            ok = (pcre2_match(m->re, (PCRE2_SPTR)v, len, 0, 0, sel->md, sel->mc) >= 0) == (m->op == OP_RE);
        if (!ok)
            return false;
    }
    return true;
}

void probe_promsel_destroy(struct probe_promsel *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        base_free(sel->m[i].value);
        pcre2_code_free(sel->m[i].re);
    }
    pcre2_match_data_free(sel->md);
    pcre2_match_context_free(sel->mc);
    base_free(sel);
}
