/*
 * rules/template: see rules/template.h. The parser turns the text into a
 * list of nodes (text, an action's pipeline, if/else/end); an action is
 * read token by token. Expansion writes into a bounded buffer; the value
 * functions format as Prometheus' template functions do (Go's %.4g).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "rules/template.h"

#include "base/alloc.h"

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum fn {
    F_NONE = -1, F_HUMANIZE, F_HUMANIZE1024, F_HUMANIZE_PCT, F_HUMANIZE_DUR, F_PRINTF, F_UPPER, F_LOWER, F_TITLE,
    F_REPLACE, F_EQ, F_NE, F_LT, F_LE, F_GT, F_GE, F_COUNT
};
static const char *const fn_names[F_COUNT] = {"humanize", "humanize1024", "humanizePercentage", "humanizeDuration",
                                              "printf", "toUpper", "toLower", "title", "reReplaceAll",
                                              "eq", "ne", "lt", "le", "gt", "ge"};

enum arg_kind { A_VALUE, A_LABELS, A_LABEL, A_EXTERNAL, A_EXTERNAL_LABEL, A_ANNOTATIONS, A_ANNOTATION, A_INCIDENT,
                A_INCIDENT_FIELD, A_STR, A_NUM, A_BOOL, A_PIPE };

struct pipe;
struct arg {
    enum arg_kind kind;
    char *s;
    double num;
    bool b;
    struct pipe *pipe;
};

struct cmd {
    enum fn fn;
    struct arg args[8];
    size_t n;
};

struct pipe {
    struct cmd cmds[8];
    size_t n;
};

enum node_kind { N_TEXT, N_ACTION, N_IF };
struct node {
    enum node_kind kind;
    char *text;
    struct pipe *pipe;
    struct node *then, *els;
    struct node *next;
};

struct template {
    struct node *first;
};

/* ---- freeing ---- */

static void pipe_free(struct pipe *p);

static void cmd_free(struct cmd *c)
{
    for (size_t i = 0; i < c->n; i++) {
        base_free(c->args[i].s);
        pipe_free(c->args[i].pipe);
    }
}

static void pipe_free(struct pipe *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        cmd_free(&p->cmds[i]);
    base_free(p);
}

static void nodes_free(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        base_free(n->text);
        pipe_free(n->pipe);
        nodes_free(n->then);
        nodes_free(n->els);
        base_free(n);
        n = next;
    }
}

void template_free(struct template *t)
{
    if (!t)
        return;
    nodes_free(t->first);
    base_free(t);
}

/* ---- parsing ---- */

struct parser {
    const char *text;
    size_t pos;        /* in text */
    size_t end;        /* of the current action (before }}) */
    int depth;
    char *why;
    size_t why_len;
    size_t err_pos;
    bool failed;
    unsigned flags;    /* TEMPLATE_PARSE_* */
};

static void fail(struct parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err_pos = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, p->why_len, fmt, ap);
    va_end(ap);
}

static void skip_space(struct parser *p)
{
    while (p->pos < p->end && isspace((unsigned char)p->text[p->pos]))
        p->pos++;
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static char *dup_n(const char *s, size_t n)
{
    char *d = base_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* A quoted string at p->pos: "..." with Go's common escapes, or `raw`. */
static char *parse_string(struct parser *p)
{
    char q = p->text[p->pos];
    size_t start = p->pos++;
    char *out = base_malloc(p->end - start + 1);
    size_t n = 0;
    if (!out) {
        fail(p, start, "out of memory");
        return NULL;
    }
    while (p->pos < p->end && p->text[p->pos] != q) {
        char c = p->text[p->pos++];
        if (c == '\\' && q == '"' && p->pos < p->end) {
            char e = p->text[p->pos++];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (!strchr("ntr\\\"", e)) {
                base_free(out);
                fail(p, p->pos - 2, "unknown escape sequence \\%c", e);
                return NULL;
            }
        }
        out[n++] = c;
    }
    if (p->pos >= p->end) {
        base_free(out);
        fail(p, start, "unterminated quoted string");
        return NULL;
    }
    p->pos++;
    out[n] = 0;
    return out;
}

static struct pipe *parse_pipe(struct parser *p, bool in_paren);

/* One operand or function name; returns false at the end of a command. */
static bool parse_arg(struct parser *p, struct cmd *c, bool first)
{
    skip_space(p);
    if (p->pos >= p->end || p->text[p->pos] == '|' || p->text[p->pos] == ')')
        return false;
    if (c->n == sizeof(c->args) / sizeof(c->args[0])) {
        fail(p, p->pos, "too many arguments");
        return false;
    }
    struct arg *a = &c->args[c->n];
    memset(a, 0, sizeof(*a));
    size_t at = p->pos;
    const char *t = p->text + p->pos;
    if (*t == '"' || *t == '`') {
        a->kind = A_STR;
        if (!(a->s = parse_string(p)))
            return false;
    } else if (*t == '(') {
        p->pos++;
        a->kind = A_PIPE;
        if (!(a->pipe = parse_pipe(p, true)))
            return false;
    } else if (*t == '$' || *t == '.') {
        size_t i = 1;
        while (p->pos + i < p->end && (ident_char(t[i]) || t[i] == '.'))
            i++;
        char word[128];
        snprintf(word, sizeof(word), "%.*s", (int)(i < 127 ? i : 127), t);
        p->pos += i;
        const char *dot = strchr(word + 1, '.');
        size_t base_len = dot ? (size_t)(dot - word) : strlen(word);
        if (!strncmp(word, "$value", base_len) && base_len == 6 && !dot)
            a->kind = A_VALUE;
        else if (!strcmp(word, ".Value"))
            a->kind = A_VALUE;
        else if ((base_len == 7 && !strncmp(word, "$labels", 7)) || (base_len == 7 && !strncmp(word, ".Labels", 7)))
            a->kind = dot ? A_LABEL : A_LABELS;
        else if ((base_len == 15 && !strncmp(word, "$externalLabels", 15)) ||
                 (base_len == 15 && !strncmp(word, ".ExternalLabels", 15)))
            a->kind = dot ? A_EXTERNAL_LABEL : A_EXTERNAL;
        else if ((p->flags & TEMPLATE_PARSE_ANNOTATIONS) &&
                 ((base_len == 12 && !strncmp(word, "$annotations", 12)) ||
                  (base_len == 12 && !strncmp(word, ".Annotations", 12))))
            a->kind = dot ? A_ANNOTATION : A_ANNOTATIONS;
        else if ((p->flags & TEMPLATE_PARSE_INCIDENT) &&
                 ((base_len == 9 && !strncmp(word, "$incident", 9)) || (base_len == 9 && !strncmp(word, ".Incident", 9))))
            a->kind = dot ? A_INCIDENT_FIELD : A_INCIDENT;
        else {
            fail(p, at, "undefined variable or field \"%s\" (known: $value, $labels, $externalLabels%s%s)", word,
                 (p->flags & TEMPLATE_PARSE_ANNOTATIONS) ? ", $annotations" : "",
                 (p->flags & TEMPLATE_PARSE_INCIDENT) ? ", $incident" : "");
            return false;
        }
        if (dot && (!dot[1] || strchr(dot + 1, '.'))) {
            fail(p, at, "bad label reference \"%s\"", word);
            return false;
        }
        if (dot && !(a->s = dup_n(dot + 1, strlen(dot + 1)))) {
            fail(p, at, "out of memory");
            return false;
        }
    } else if (isdigit((unsigned char)*t) || ((*t == '-' || *t == '+') && isdigit((unsigned char)t[1]))) {
        char *endp;
        a->kind = A_NUM;
        a->num = strtod(t, &endp);
        p->pos += (size_t)(endp - t);
    } else if (isalpha((unsigned char)*t)) {
        size_t i = 0;
        while (p->pos + i < p->end && ident_char(t[i]))
            i++;
        p->pos += i;
        if ((i == 4 && !strncmp(t, "true", 4)) || (i == 5 && !strncmp(t, "false", 5))) {
            a->kind = A_BOOL;
            a->b = *t == 't';
        } else {
            int f = 0;
            while (f < F_COUNT && !(strlen(fn_names[f]) == i && !strncmp(fn_names[f], t, i)))
                f++;
            if (f == F_COUNT) {
                fail(p, at, "function \"%.*s\" not defined", (int)(i < 60 ? i : 60), t);
                return false;
            }
            if (!first) {
                fail(p, at, "a function (%s) can only start a command", fn_names[f]);
                return false;
            }
            c->fn = (enum fn)f;
            return true;
        }
    } else {
        fail(p, at, "unexpected \"%c\" in action", *t);
        return false;
    }
    c->n++;
    return true;
}

static struct pipe *parse_pipe(struct parser *p, bool in_paren)
{
    if (++p->depth > TEMPLATE_DEPTH_MAX) {
        fail(p, p->pos, "nested deeper than %d", TEMPLATE_DEPTH_MAX);
        return NULL;
    }
    struct pipe *pp = base_calloc(1, sizeof(*pp));
    if (!pp) {
        fail(p, p->pos, "out of memory");
        return NULL;
    }
    for (;;) {
        if (pp->n == sizeof(pp->cmds) / sizeof(pp->cmds[0])) {
            fail(p, p->pos, "too many commands in a pipeline");
            break;
        }
        struct cmd *c = &pp->cmds[pp->n++];
        memset(c, 0, sizeof(*c));
        c->fn = F_NONE;
        size_t at = p->pos;
        bool first = true;
        while (!p->failed && parse_arg(p, c, first))
            first = false;
        if (p->failed)
            break;
        if (c->fn == F_NONE && c->n != 1) {
            fail(p, at, c->n ? "a value cannot take arguments" : "missing value in a pipeline");
            break;
        }
        skip_space(p);
        if (p->pos < p->end && p->text[p->pos] == '|') {
            p->pos++;
            continue;
        }
        if (in_paren) {
            if (p->pos < p->end && p->text[p->pos] == ')')
                p->pos++;
            else
                fail(p, p->pos, "unclosed left parenthesis");
        } else if (p->pos < p->end) {
            fail(p, p->pos, "unexpected \"%c\" in action", p->text[p->pos]);
        }
        break;
    }
    p->depth--;
    if (p->failed) {
        pipe_free(pp);
        return NULL;
    }
    return pp;
}

/* The nodes up to {{else}}, {{end}} or the end of the text; *stop says which. */
enum stop { S_EOF, S_ELSE, S_END };

static struct node *parse_list(struct parser *p, enum stop *stop);

static bool keyword(struct parser *p, const char *kw)
{
    size_t n = strlen(kw);
    if (p->end - p->pos >= n && !strncmp(p->text + p->pos, kw, n) &&
        (p->pos + n == p->end || !ident_char(p->text[p->pos + n]))) {
        p->pos += n;
        return true;
    }
    return false;
}

static struct node *parse_if(struct parser *p, size_t at)
{
    struct node *n = base_calloc(1, sizeof(*n));
    if (!n) {
        fail(p, at, "out of memory");
        return NULL;
    }
    n->kind = N_IF;
    if (!(n->pipe = parse_pipe(p, false))) {
        nodes_free(n);
        return NULL;
    }
    p->pos = p->end + 2;   /* past }} (and a trim marker, handled by parse_list) */
    enum stop stop;
    n->then = parse_list(p, &stop);
    if (p->failed) {
        nodes_free(n);
        return NULL;
    }
    if (stop == S_ELSE) {
        n->els = parse_list(p, &stop);
        if (!p->failed && stop != S_END)
            fail(p, at, "{{if}} without {{end}}");
    } else if (stop != S_END) {
        fail(p, at, "{{if}} without {{end}}");
    }
    if (p->failed) {
        nodes_free(n);
        return NULL;
    }
    return n;
}

static struct node *parse_list(struct parser *p, enum stop *stop)
{
    struct node *first = NULL, **tail = &first;
    *stop = S_EOF;
    const char *t = p->text;
    while (!p->failed && t[p->pos]) {
        const char *open = strstr(t + p->pos, "{{");
        size_t text_end = open ? (size_t)(open - t) : strlen(t);
        size_t act = text_end + 2;
        bool trim_left = open && t[act] == '-' && (t[act + 1] == ' ' || t[act + 1] == '\t' || t[act + 1] == '\n');
        size_t keep = text_end;
        if (trim_left)
            while (keep > p->pos && isspace((unsigned char)t[keep - 1]))
                keep--;
        if (keep > p->pos) {
            struct node *n = base_calloc(1, sizeof(*n));
            if (!n || !(n->text = dup_n(t + p->pos, keep - p->pos))) {
                base_free(n);
                fail(p, p->pos, "out of memory");
                break;
            }
            n->kind = N_TEXT;
            *tail = n;
            tail = &n->next;
        }
        if (!open) {
            p->pos = strlen(t);
            break;
        }
        if (trim_left)
            act++;
        const char *close = strstr(t + act, "}}");
        if (!close) {
            fail(p, text_end, "unclosed action (no }})");
            break;
        }
        size_t end = (size_t)(close - t);
        bool trim_right = end > act && t[end - 1] == '-' && end - 1 > act && isspace((unsigned char)t[end - 2]);
        p->pos = act;
        p->end = trim_right ? end - 1 : end;
        skip_space(p);
        size_t after = end + 2;
        if (trim_right)
            while (t[after] && isspace((unsigned char)t[after]))
                after++;
        if (p->end - p->pos >= 2 && !strncmp(t + p->pos, "/*", 2)) {
            p->pos = after;   /* a comment */
            continue;
        }
        size_t at = p->pos;
        if (keyword(p, "end")) {
            *stop = S_END;
            p->pos = after;
            break;
        }
        if (keyword(p, "else")) {
            skip_space(p);
            if (keyword(p, "if")) {
                fail(p, at, "{{else if}} is not supported: nest {{if}} inside {{else}}");
                break;
            }
            *stop = S_ELSE;
            p->pos = after;
            break;
        }
        struct node *n = NULL;
        if (keyword(p, "if")) {
            n = parse_if(p, at);   /* it stops after its {{end}} */
        } else if (keyword(p, "range") || keyword(p, "with") || keyword(p, "define") || keyword(p, "template") ||
                   keyword(p, "block")) {
            fail(p, at, "{{%.*s}} is not supported in opshub templates", (int)(p->pos - at), t + at);
            break;
        } else {
            n = base_calloc(1, sizeof(*n));
            if (!n) {
                fail(p, at, "out of memory");
                break;
            }
            n->kind = N_ACTION;
            if (!(n->pipe = parse_pipe(p, false))) {
                base_free(n);
                n = NULL;
            }
            p->pos = after;
        }
        if (!n)
            break;
        *tail = n;
        tail = &n->next;
    }
    if (p->failed) {
        nodes_free(first);
        return NULL;
    }
    return first;
}

struct template *template_parse(const char *text, char *why, size_t why_len, size_t *pos)
{
    return template_parse_flags(text, 0, why, why_len, pos);
}

struct template *template_parse_flags(const char *text, unsigned flags, char *why, size_t why_len, size_t *pos)
{
    struct parser p = {.text = text, .why = why, .why_len = why_len, .flags = flags};
    *pos = 0;
    if (strlen(text) > TEMPLATE_TEXT_MAX) {
        snprintf(why, why_len, "template longer than %u bytes", TEMPLATE_TEXT_MAX);
        return NULL;
    }
    enum stop stop;
    struct node *n = parse_list(&p, &stop);
    if (!p.failed && stop != S_EOF)
        fail(&p, p.pos, stop == S_END ? "unexpected {{end}}" : "unexpected {{else}}");
    struct template *t = p.failed ? NULL : base_calloc(1, sizeof(*t));
    if (!t) {
        if (!p.failed)
            fail(&p, 0, "out of memory");
        nodes_free(n);
        *pos = p.err_pos;
        return NULL;
    }
    t->first = n;
    return t;
}

bool template_is_plain(const char *text)
{
    return !strstr(text, "{{");
}

/* ---- expansion ---- */

enum vkind { V_STR, V_NUM, V_BOOL, V_MAP };
struct val {
    enum vkind kind;
    double num;
    bool b;
    const char *str;
    const struct template_kv *map;
    size_t n_map;
    char buf[96];      /* a string made here */
};

struct out {
    char *p;
    size_t n, len;
    bool failed;
    char err[200];
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n >= o->n)
        n = o->n - 1 - o->len;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void ofail(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ofail(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    o->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, sizeof(o->err), fmt, ap);
    va_end(ap);
}

/* Go's %.4g (NaN and infinities as Go writes them). */
static void g4(char *buf, size_t n, double v, const char *suffix)
{
    if (isnan(v))
        snprintf(buf, n, "NaN%s", suffix);
    else if (isinf(v))
        snprintf(buf, n, "%sInf%s", v > 0 ? "+" : "-", suffix);
    else
        snprintf(buf, n, "%.4g%s", v, suffix);
}

/* Go's %v of a float64 (strconv 'g', -1): the shortest digits, in exponent
 * form when the exponent is below -4 or 6 and above (1e+06, 123456). */
static void gofloat(char *buf, size_t n, double v)
{
    if (isnan(v) || isinf(v)) {
        g4(buf, n, v, "");
        return;
    }
    char e[40];
    int prec = 0;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, v);
        if (strtod(e, NULL) == v)
            break;
    }
    int x = atoi(strchr(e, 'e') + 1);
    if (x < -4 || x >= 6) {
        /* Go writes e+06 / e-07 like C */
        snprintf(buf, n, "%s", e);
        return;
    }
    snprintf(buf, n, "%.*f", prec - x > 0 ? prec - x : 0, v);
}

static const char *to_str(struct val *v)
{
    switch (v->kind) {
    case V_STR: return v->str;
    case V_NUM: gofloat(v->buf, sizeof(v->buf), v->num); return v->buf;
    case V_BOOL: return v->b ? "true" : "false";
    case V_MAP: return "map[...]";
    }
    return "";
}

static bool to_num(struct out *o, const struct val *v, double *d)
{
    if (v->kind == V_NUM) {
        *d = v->num;
        return true;
    }
    if (v->kind == V_STR) {
        char *end;
        *d = strtod(v->str, &end);
        if (*v->str && !*end)
            return true;
        ofail(o, "cannot convert \"%.60s\" to a number", v->str);
        return false;
    }
    ofail(o, "expected a number");
    return false;
}

static bool truthy(const struct val *v)
{
    switch (v->kind) {
    case V_STR: return v->str[0] != 0;
    case V_NUM: return v->num != 0;
    case V_BOOL: return v->b;
    case V_MAP: return v->n_map != 0;
    }
    return false;
}

static const char *lookup(const struct template_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].name, name))
            return kv[i].value;
    return "";   /* missingkey=zero, as Prometheus sets it */
}

struct ctx {
    const struct template_data *d;
    struct out *o;
    char scratch[8][512];  /* strings made by functions, one per pipeline stage */
    int used;
};

static char *scratch(struct ctx *c)
{
    return c->scratch[c->used++ % 8];
}

static void eval_pipe(struct ctx *c, const struct pipe *p, struct val *out);

static void eval_arg(struct ctx *c, const struct arg *a, struct val *v)
{
    memset(v, 0, sizeof(*v));
    const struct template_data *d = c->d;
    switch (a->kind) {
    case A_VALUE: v->kind = V_NUM; v->num = d->value; break;
    case A_LABELS: v->kind = V_MAP; v->map = d->labels; v->n_map = d->n_labels; break;
    case A_EXTERNAL: v->kind = V_MAP; v->map = d->external; v->n_map = d->n_external; break;
    case A_LABEL: v->kind = V_STR; v->str = lookup(d->labels, d->n_labels, a->s); break;
    case A_EXTERNAL_LABEL: v->kind = V_STR; v->str = lookup(d->external, d->n_external, a->s); break;
    case A_ANNOTATIONS: v->kind = V_MAP; v->map = d->annotations; v->n_map = d->n_annotations; break;
    case A_ANNOTATION: v->kind = V_STR; v->str = lookup(d->annotations, d->n_annotations, a->s); break;
    case A_INCIDENT: v->kind = V_MAP; v->map = d->incident; v->n_map = d->n_incident; break;
    case A_INCIDENT_FIELD: v->kind = V_STR; v->str = lookup(d->incident, d->n_incident, a->s); break;
    case A_STR: v->kind = V_STR; v->str = a->s; break;
    case A_NUM: v->kind = V_NUM; v->num = a->num; break;
    case A_BOOL: v->kind = V_BOOL; v->b = a->b; break;
    case A_PIPE: eval_pipe(c, a->pipe, v); break;
    }
}

/* A double as an integer, saturated (Go's conversion of a value out of
 * range is unspecified; C's is undefined). */
static long long to_ll(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9.2e18)
        return INT64_MAX;
    if (d <= -9.2e18)
        return INT64_MIN;
    return (long long)d;
}

static void humanize(char *buf, size_t n, double v, int fn)
{
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const bin[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    const char *prefix = "";
    if (fn == F_HUMANIZE_PCT) {
        g4(buf, n, v * 100, "%");
        return;
    }
    if (fn == F_HUMANIZE1024) {
        if (fabs(v) <= 1 || isnan(v) || isinf(v)) {
            g4(buf, n, v, "");
            return;
        }
        for (size_t i = 0; i < 8 && fabs(v) >= 1024; i++) {
            prefix = bin[i];
            v /= 1024;
        }
        g4(buf, n, v, prefix);
        return;
    }
    if (fn == F_HUMANIZE_DUR && !isnan(v) && !isinf(v) && fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        double a = fabs(v);
        int64_t s = to_ll(a);
        int64_t secs = s % 60, mins = (s / 60) % 60, hours = (s / 3600) % 24, days = s / 86400;
        if (days)
            snprintf(buf, n, "%s%lldd %lldh %lldm %llds", sign, (long long)days, (long long)hours, (long long)mins,
                     (long long)secs);
        else if (hours)
            snprintf(buf, n, "%s%lldh %lldm %llds", sign, (long long)hours, (long long)mins, (long long)secs);
        else if (mins)
            snprintf(buf, n, "%s%lldm %llds", sign, (long long)mins, (long long)secs);
        else
            snprintf(buf, n, "%s%.4gs", sign, a);
        return;
    }
    if (v == 0 || isnan(v) || isinf(v)) {
        g4(buf, n, v, fn == F_HUMANIZE_DUR ? "s" : "");
        return;
    }
    if (fabs(v) >= 1) {
        for (size_t i = 0; i < 8 && fabs(v) >= 1000; i++) {
            prefix = big[i];
            v /= 1000;
        }
    } else {
        for (size_t i = 0; i < 8 && fabs(v) < 1; i++) {
            prefix = small[i];
            v *= 1000;
        }
    }
    char suffix[8];
    snprintf(suffix, sizeof(suffix), "%s%s", prefix, fn == F_HUMANIZE_DUR ? "s" : "");
    g4(buf, n, v, suffix);
}

/* The verbs are rebuilt from a checked set of characters (flags, width,
 * precision, one verb), so passing them to snprintf is safe. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* Go's printf for the verbs templates use: %s %v %d %f %e %g %x %q %%,
 * with flags, width and precision. */
static void do_printf(struct ctx *c, const char *fmt, struct val *args, size_t n, char *buf, size_t len)
{
    size_t at = 0, used = 0;
    buf[0] = 0;
    for (const char *p = fmt; *p && at + 1 < len; p++) {
        if (*p != '%') {
            buf[at++] = *p;
            buf[at] = 0;
            continue;
        }
        const char *start = p++;
        while (*p && strchr("+- #0", *p))
            p++;
        while (isdigit((unsigned char)*p) || *p == '.')
            p++;
        if (!*p)
            break;
        char spec[32];
        size_t sl = (size_t)(p - start);
        if (sl > 20) {
            ofail(c->o, "printf: a verb is too long");
            return;
        }
        if (*p == '%') {
            buf[at++] = '%';
            buf[at] = 0;
            continue;
        }
        if (used >= n) {
            at += (size_t)snprintf(buf + at, len - at, "%%!%c(MISSING)", *p);
            if (at >= len)
                at = len - 1;
            continue;
        }
        struct val *a = &args[used++];
        char verb = *p;
        double d;
        int w;
        if (strchr("dfeEgGx", verb)) {
            if (!to_num(c->o, a, &d))
                return;
            if (verb == 'd' || verb == 'x') {
                snprintf(spec, sizeof(spec), "%.*sll%c", (int)sl, start, verb);
                w = snprintf(buf + at, len - at, spec, to_ll(d));
            } else {
                snprintf(spec, sizeof(spec), "%.*s%c", (int)sl, start, verb);
                w = snprintf(buf + at, len - at, spec, d);
            }
        } else {
            snprintf(spec, sizeof(spec), "%.*ss", (int)sl, start);
            const char *s = to_str(a);
            if (verb == 'q') {
                w = snprintf(buf + at, len - at, "\"%s\"", s);
            } else {
                w = snprintf(buf + at, len - at, spec, s);
            }
        }
        if (w > 0)
            at += (size_t)w < len - at ? (size_t)w : len - at - 1;
    }
}

#pragma GCC diagnostic pop

static void replace_all(struct ctx *c, const char *pat, const char *repl, const char *text, char *buf, size_t len)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof(msg));
        ofail(c->o, "reReplaceAll: bad pattern: %s", (char *)msg);
        return;
    }
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (mc) {
        pcre2_set_match_limit(mc, 100000);
        pcre2_set_depth_limit(mc, 1000);
    }
    PCRE2_SIZE outlen = len;
    int rc = pcre2_substitute(re, (PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0,
                              PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_SUBSTITUTE_UNKNOWN_UNSET,
                              NULL, mc, (PCRE2_SPTR)repl, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)buf, &outlen);
    if (rc < 0) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        ofail(c->o, "reReplaceAll: %s", (char *)msg);
    }
    pcre2_match_context_free(mc);
    pcre2_code_free(re);
}

static void call(struct ctx *c, const struct cmd *cmd, struct val *args, size_t n, struct val *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = V_STR;
    out->str = "";
    static const int arity[F_COUNT] = {1, 1, 1, 1, -1, 1, 1, 1, 3, 2, 2, 2, 2, 2, 2};
    if ((arity[cmd->fn] >= 0 && (int)n != arity[cmd->fn]) || (cmd->fn == F_PRINTF && n < 1)) {
        ofail(c->o, "wrong number of arguments for %s: %zu", fn_names[cmd->fn], n);
        return;
    }
    char *buf = scratch(c);
    double a;
    switch (cmd->fn) {
    case F_HUMANIZE: case F_HUMANIZE1024: case F_HUMANIZE_PCT: case F_HUMANIZE_DUR:
        if (!to_num(c->o, &args[0], &a))
            return;
        humanize(buf, 512, a, cmd->fn);
        break;
    case F_PRINTF: do_printf(c, to_str(&args[0]), args + 1, n - 1, buf, 512); break;
    case F_UPPER: case F_LOWER: case F_TITLE: {
        const char *s = to_str(&args[0]);
        size_t i = 0;
        bool start = true;
        for (; s[i] && i < 511; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (cmd->fn == F_UPPER || (cmd->fn == F_TITLE && start))
                buf[i] = (char)toupper(ch);
            else if (cmd->fn == F_LOWER)
                buf[i] = (char)tolower(ch);
            else
                buf[i] = (char)ch;
            start = !isalnum(ch) && ch != '_' && ch != '\'';
        }
        buf[i] = 0;
        break;
    }
    case F_REPLACE: {
        const char *pat = to_str(&args[0]);
        char p0[512], r0[512];
        snprintf(p0, sizeof(p0), "%s", pat);
        snprintf(r0, sizeof(r0), "%s", to_str(&args[1]));
        replace_all(c, p0, r0, to_str(&args[2]), buf, 512);
        break;
    }
    default: {
        /* eq ne lt le gt ge: numbers when both are, else strings */
        int cmp;
        if (args[0].kind == V_NUM && args[1].kind == V_NUM)
            cmp = args[0].num < args[1].num ? -1 : args[0].num > args[1].num;
        else {
            char l[512];
            snprintf(l, sizeof(l), "%s", to_str(&args[0]));
            cmp = strcmp(l, to_str(&args[1]));
        }
        out->kind = V_BOOL;
        switch (cmd->fn) {
        case F_EQ: out->b = cmp == 0; break;
        case F_NE: out->b = cmp != 0; break;
        case F_LT: out->b = cmp < 0; break;
        case F_LE: out->b = cmp <= 0; break;
        case F_GT: out->b = cmp > 0; break;
        default: out->b = cmp >= 0; break;
        }
        return;
    }
    }
    out->str = buf;
}

static void eval_pipe(struct ctx *c, const struct pipe *p, struct val *out)
{
    struct val prev;
    bool have = false;
    memset(out, 0, sizeof(*out));
    out->kind = V_STR;
    out->str = "";
    for (size_t i = 0; i < p->n && !c->o->failed; i++) {
        const struct cmd *cmd = &p->cmds[i];
        struct val args[9];
        size_t n = 0;
        for (size_t k = 0; k < cmd->n; k++)
            eval_arg(c, &cmd->args[k], &args[n++]);
        if (have)
            args[n++] = prev;
        if (cmd->fn == F_NONE) {
            if (n != 1) {
                ofail(c->o, "a value cannot take arguments");
                return;
            }
            prev = args[0];
        } else {
            call(c, cmd, args, n, &prev);
        }
        have = true;   /* strings live in the template or the context's scratch, never in a val */
    }
    if (have)
        *out = prev;
}

static void expand_nodes(struct ctx *c, const struct node *n)
{
    for (; n && !c->o->failed; n = n->next) {
        if (n->kind == N_TEXT) {
            put(c->o, n->text, strlen(n->text));
        } else if (n->kind == N_ACTION) {
            struct val v;
            eval_pipe(c, n->pipe, &v);
            const char *s = to_str(&v);
            put(c->o, s, strlen(s));
        } else {
            struct val v;
            eval_pipe(c, n->pipe, &v);
            expand_nodes(c, truthy(&v) ? n->then : n->els);
        }
    }
}

int template_expand(const struct template *t, const struct template_data *d, char *out, size_t n)
{
    if (!n)
        return -1;
    struct out o = {.p = out, .n = n};
    out[0] = 0;
    struct ctx *c = base_calloc(1, sizeof(*c));
    if (!c) {
        snprintf(out, n, "<error expanding template: out of memory>");
        return -1;
    }
    c->d = d;
    c->o = &o;
    expand_nodes(c, t->first);
    base_free(c);
    if (o.failed) {
        snprintf(out, n, "<error expanding template: %s>", o.err);
        return -1;
    }
    return 0;
}
