/*
 * rules/promql_lex: PromQL's tokens, as Prometheus' lexer reads them:
 * numbers (decimal, exponent, hex, Inf and NaN in any case), strings in
 * double, single or back quotes (Go's escapes in the first two), durations
 * (`1h30m`, units y w d h m s ms in decreasing order), identifiers (metric
 * names may hold ':'), operators, and `#` comments to the end of a line.
 */
#include "rules/promql_lex.h"

#include "base/alloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lex_fail(struct pql_lexer *lx, size_t pos, const char *msg)
{
    lx->tok.kind = PT_ERR;
    lx->tok.pos = pos;
    lx->err_pos = pos;
    snprintf(lx->err, sizeof(lx->err), "%s", msg);
    return -1;
}

/* A duration at s: `([0-9]+(ms|[smhdwy]))+` with units in decreasing
 * order; *len 0 when s does not hold one. */
static int scan_duration(const char *s, size_t *len, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},           {"s", 1000},             {"ms", 1}};
    size_t i = 0;
    int last = -1;
    int64_t total = 0;
    *len = 0;
    while (is_digit(s[i])) {
        size_t j = i;
        int64_t n = 0;
        while (is_digit(s[j])) {
            if (n > (INT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (s[j] - '0');
            j++;
        }
        int u = -1;
        if (s[j] == 'm' && s[j + 1] == 's')
            u = 6;
        else
            for (int k = 0; k < 6; k++)
                if (s[j] == units[k].unit[0])
                    u = k;
        if (u < 0)
            break;
        if (u <= last)
            return -1;   /* units out of order or repeated */
        last = u;
        j += strlen(units[u].unit);
        if (n > INT64_MAX / units[u].ms || total > INT64_MAX - n * units[u].ms)
            return -1;
        total += n * units[u].ms;
        i = j;
    }
    if (last < 0 || is_alpha(s[i]) || is_digit(s[i]))
        return 0;
    *len = i;
    *ms = total;
    return 0;
}

static int scan_number(struct pql_lexer *lx, size_t start)
{
    const char *s = lx->text + start;
    size_t i = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex(s[2])) {
        i = 2;
        while (is_hex(s[i]))
            i++;
    } else {
        while (is_digit(s[i]))
            i++;
        if (s[i] == '.') {
            i++;
            while (is_digit(s[i]))
                i++;
        }
        if ((s[i] == 'e' || s[i] == 'E') &&
            (is_digit(s[i + 1]) || ((s[i + 1] == '+' || s[i + 1] == '-') && is_digit(s[i + 2])))) {
            i += 2;
            while (is_digit(s[i]))
                i++;
        }
    }
    if (is_alpha(s[i]) || s[i] == '.' || i == 0 || (i == 1 && s[0] == '.'))
        return lex_fail(lx, start, "bad number or duration syntax");
    char buf[128];
    if (i >= sizeof(buf))
        return lex_fail(lx, start, "number too long");
    memcpy(buf, s, i);
    buf[i] = 0;
    errno = 0;
    double v;
    if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
        v = (double)strtoull(buf, NULL, 16);
    else
        v = strtod(buf, NULL);
    lx->tok.kind = PT_NUM;
    lx->tok.num = v;
    lx->tok.len = i;
    return 0;
}

/* Appends the UTF-8 of code point cp. */
static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexval(char c)
{
    return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* One escape after the backslash at s[*i]; writes to o, returns bytes or -1. */
static int unescape(const char *s, size_t *i, char quote, char *o)
{
    char c = s[*i];
    static const char from[] = "abfnrtv\\";
    static const char to[] = "\a\b\f\n\r\t\v\\";
    const char *p = c ? strchr(from, c) : NULL;
    if (p) {
        o[0] = to[p - from];
        (*i)++;
        return 1;
    }
    if (c == quote) {
        o[0] = c;
        (*i)++;
        return 1;
    }
    if (c >= '0' && c <= '7') {
        int v = 0;
        for (int k = 0; k < 3; k++) {
            if (s[*i + k] < '0' || s[*i + k] > '7')
                return -1;
            v = v * 8 + (s[*i + k] - '0');
        }
        if (v > 255)
            return -1;
        o[0] = (char)v;
        *i += 3;
        return 1;
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (!digits)
        return -1;
    uint32_t v = 0;
    for (int k = 1; k <= digits; k++) {
        if (!is_hex(s[*i + k]))
            return -1;
        v = v * 16 + (uint32_t)hexval(s[*i + k]);
    }
    *i += (size_t)digits + 1;
    if (c == 'x') {
        o[0] = (char)v;
        return 1;
    }
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
        return -1;
    return (int)put_utf8(o, v);
}

static int scan_string(struct pql_lexer *lx, size_t start)
{
    const char *s = lx->text + start;
    char quote = s[0];
    size_t i = 1, n = 0;
    char *out = base_malloc(strlen(s) + 1);
    if (!out)
        return lex_fail(lx, start, "out of memory");
    for (;;) {
        char c = s[i];
        if (!c || (c == '\n' && quote != '`')) {
            base_free(out);
            return lex_fail(lx, start, "unterminated quoted string");
        }
        if (c == quote) {
            i++;
            break;
        }
        if (c == '\\' && quote != '`') {
            i++;
            int w = unescape(s, &i, quote, out + n);
            if (w < 0) {
                base_free(out);
                return lex_fail(lx, start + i, "unknown escape sequence in string");
            }
            n += (size_t)w;
            continue;
        }
        out[n++] = c;
        i++;
    }
    out[n] = 0;
    lx->tok.kind = PT_STR;
    lx->tok.str = out;
    lx->tok.str_len = n;
    lx->tok.len = i;
    return 0;
}

static const struct {
    const char *text;
    enum pql_tok kind;
} ops[] = {
    {"==", PT_EQ},   {"!=", PT_NE},   {"=~", PT_RE},   {"!~", PT_NRE},  {"<=", PT_LE},    {">=", PT_GE},
    {"=", PT_ASSIGN}, {"<", PT_LT},   {">", PT_GT},    {"+", PT_ADD},   {"-", PT_SUB},    {"*", PT_MUL},
    {"/", PT_DIV},   {"%", PT_MOD},   {"^", PT_POW},   {"(", PT_LPAREN}, {")", PT_RPAREN}, {"{", PT_LBRACE},
    {"}", PT_RBRACE}, {"[", PT_LBRACK}, {"]", PT_RBRACK}, {",", PT_COMMA}, {":", PT_COLON}, {"@", PT_AT},
};

int pql_lex_next(struct pql_lexer *lx)
{
    base_free(lx->tok.str);
    memset(&lx->tok, 0, sizeof(lx->tok));
    const char *t = lx->text;
    size_t p = lx->pos;
    for (;;) {
        while (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')
            p++;
        if (t[p] != '#')
            break;
        while (t[p] && t[p] != '\n')
            p++;
    }
    lx->tok.pos = p;
    if (!t[p]) {
        lx->tok.kind = PT_EOF;
        lx->pos = p;
        return 0;
    }
    int rc = 0;
    char c = t[p];
    if (is_digit(c) || (c == '.' && is_digit(t[p + 1]))) {
        size_t dlen = 0;
        int64_t ms = 0;
        if (is_digit(c) && scan_duration(t + p, &dlen, &ms) < 0)
            return lex_fail(lx, p, "bad duration: units must be y, w, d, h, m, s, ms, each once, largest first");
        if (dlen) {
            lx->tok.kind = PT_DUR;
            lx->tok.dur = ms;
            lx->tok.len = dlen;
        } else {
            rc = scan_number(lx, p);
        }
    } else if (is_alpha(c) || (c == ':' && !lx->brackets)) {
        size_t i = p;
        while (is_alpha(t[i]) || is_digit(t[i]) || t[i] == ':')
            i++;
        lx->tok.len = i - p;
        lx->tok.kind = PT_IDENT;
        if ((i - p == 3 && (strncasecmp(t + p, "inf", 3) == 0 || strncasecmp(t + p, "nan", 3) == 0))) {
            lx->tok.kind = PT_NUM;
            lx->tok.num = (t[p] | 0x20) == 'i' ? INFINITY : NAN;
        }
    } else if (c == '"' || c == '\'' || c == '`') {
        rc = scan_string(lx, p);
    } else {
        size_t k = 0;
        while (k < sizeof(ops) / sizeof(ops[0]) && strncmp(t + p, ops[k].text, strlen(ops[k].text)) != 0)
            k++;
        if (k == sizeof(ops) / sizeof(ops[0])) {
            char msg[64];
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
            else
                snprintf(msg, sizeof(msg), "unexpected character 0x%02x", (unsigned char)c);
            return lex_fail(lx, p, msg);
        }
        lx->tok.kind = ops[k].kind;
        lx->tok.len = strlen(ops[k].text);
        /* inside [] a ':' separates a subquery's range and step */
        if (ops[k].kind == PT_LBRACK)
            lx->brackets++;
        else if (ops[k].kind == PT_RBRACK && lx->brackets)
            lx->brackets--;
    }
    if (rc)
        return rc;
    lx->pos = p + lx->tok.len;
    return 0;
}

void pql_lex_init(struct pql_lexer *lx, const char *text)
{
    memset(lx, 0, sizeof(*lx));
    lx->text = text;
}

void pql_lex_free(struct pql_lexer *lx)
{
    base_free(lx->tok.str);
    lx->tok.str = NULL;
}

const char *pql_tok_name(enum pql_tok k)
{
    switch (k) {
    case PT_EOF: return "end of input";
    case PT_ERR: return "error";
    case PT_NUM: return "number";
    case PT_STR: return "string";
    case PT_IDENT: return "identifier";
    case PT_DUR: return "duration";
    default: break;
    }
    for (size_t k2 = 0; k2 < sizeof(ops) / sizeof(ops[0]); k2++)
        if (ops[k2].kind == k)
            return ops[k2].text;
    return "token";
}
