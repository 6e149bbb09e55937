/*
 * probe/perfdata: Nagios plugin output and performance data (see
 * perfdata.h). Written by hand: the format is a few lines of the plugin
 * guidelines and no Debian library parses it. Every read is bounded by
 * the input's length; nothing is allocated.
 */
#include "probe/perfdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    const char *uom;
    const char *suffix;
    double factor;
};

/* The units of the plugin guidelines, and the binary spellings some
 * plugins print. Sizes step by 1024, as monitoring-plugins compute them. */
static const struct unit units[] = {
    {"s", "_seconds", 1},        {"ms", "_seconds", 1e-3},
    {"us", "_seconds", 1e-6},    {"%", "_ratio", 0.01},
    {"B", "_bytes", 1},          {"KB", "_bytes", 1024.0},
    {"kB", "_bytes", 1024.0},    {"MB", "_bytes", 1048576.0},
    {"GB", "_bytes", 1073741824.0}, {"TB", "_bytes", 1099511627776.0},
    {"KiB", "_bytes", 1024.0},   {"MiB", "_bytes", 1048576.0},
    {"GiB", "_bytes", 1073741824.0}, {"TiB", "_bytes", 1099511627776.0},
    {"c", "_total", 1},
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool probe_perfdata_name(const char *label, size_t label_len, const char *unit, size_t unit_len,
                         char name[SAMPLE_VALUE_NAME_MAX], double *factor)
{
    const struct unit *u = NULL;
    for (size_t i = 0; unit_len && i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].uom) == unit_len && memcmp(units[i].uom, unit, unit_len) == 0)
            u = &units[i];
    const char *suffix = u ? u->suffix : "";
    *factor = u ? u->factor : 1;

    /* [a-z0-9_], runs of anything else as one '_', none at the ends */
    char base[SAMPLE_VALUE_NAME_MAX];
    size_t n = 0, room = SAMPLE_VALUE_NAME_MAX - 1 - strlen(suffix);
    bool slashes = label_len > 0;
    for (size_t i = 0; i < label_len && n < room; i++) {
        unsigned char c = (unsigned char)label[i];
        if (c != '/')
            slashes = false;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (ok)
            base[n++] = (char)c;
        else if (n && base[n - 1] != '_')
            base[n++] = '_';
    }
    while (n && base[n - 1] == '_')
        n--;
    if (!n) {
        const char *word = slashes ? "root" : "value";
        n = strlen(word);
        memcpy(base, word, n);
    }
    size_t at = 0;
    if (base[0] >= '0' && base[0] <= '9')
        name[at++] = '_';
    if (at + n > room)
        n = room - at;
    memcpy(name + at, base, n);
    at += n;
    if (!ends_with(name, at, suffix)) {
        memcpy(name + at, suffix, strlen(suffix));
        at += strlen(suffix);
    }
    name[at] = '\0';
    return u != NULL || unit_len == 0;
}

/* A decimal number: [+-]digits[.digits][e[+-]digits], at least one digit;
 * its length, or 0. No hex, inf or nan (strtod would take them). */
static size_t number_len(const char *p, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        i++;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++, digits++;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (p[j] == '+' || p[j] == '-'))
            j++;
        size_t exp_digits = 0;
        while (j < n && p[j] >= '0' && p[j] <= '9')
            j++, exp_digits++;
        if (exp_digits)
            i = j;
    }
    return i;
}

static bool unit_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%';
}

/* One datum at p[0..n) (no leading blanks): adds it to out or counts it
 * dropped; returns the bytes consumed (the datum up to the next blank
 * outside a quoted label). */
static size_t datum(const char *p, size_t n, struct probe_perfdata *out)
{
    char label[PROBE_PERFDATA_LABEL_MAX];
    size_t ll = 0, i = 0;
    bool ok = true;
    if (p[0] == '\'') {
        for (i = 1; i < n; i++) {
            if (p[i] == '\'') {
                if (i + 1 < n && p[i + 1] == '\'')
                    i++;    /* '' is a quote */
                else
                    break;
            }
            if (ll < sizeof(label) - 1)
                label[ll++] = p[i];
        }
        if (i >= n) {
            out->dropped++; /* unterminated quote: the rest is lost */
            return n;
        }
        i++;
    } else {
        for (; i < n && p[i] != '=' && !is_blank(p[i]); i++)
            if (ll < sizeof(label) - 1)
                label[ll++] = p[i];
    }
    label[ll] = '\0';
    if (i >= n || p[i] != '=' || ll == 0)
        ok = false;
    else
        i++;
    size_t start = i, end = i;
    while (end < n && !is_blank(p[end]))
        end++;
    if (!ok) {
        out->dropped++;
        return end;
    }
    size_t vend = start;
    while (vend < end && p[vend] != ';')
        vend++;
    size_t num = number_len(p + start, vend - start), u = start + num;
    while (u < vend && unit_char(p[u]))
        u++;
    if (!num || u != vend || out->n_items == PROBE_PERFDATA_ITEMS_MAX) {
        out->dropped++;     /* "U", a comma decimal, junk, or no room */
        return end;
    }
    char text[64];
    if (num >= sizeof(text)) {
        out->dropped++;
        return end;
    }
    memcpy(text, p + start, num);
    text[num] = '\0';
    struct probe_perfdata_item *it = &out->items[out->n_items];
    double factor;
    probe_perfdata_name(label, ll, p + start + num, vend - start - num, it->name, &factor);
    double v = strtod(text, NULL) * factor;
    for (size_t k = 0; k < out->n_items; k++)
        if (!strcmp(out->items[k].name, it->name))
            ok = false;
    if (!ok || !isfinite(v)) {
        out->dropped++;
        return end;
    }
    memcpy(it->label, label, ll + 1);
    it->value = v;
    out->n_items++;
    return end;
}

static void data(const char *p, size_t n, struct probe_perfdata *out)
{
    size_t i = 0;
    while (i < n) {
        if (is_blank(p[i])) {
            i++;
            continue;
        }
        size_t used = datum(p + i, n - i, out);
        i += used ? used : 1;
    }
}

void probe_perfdata_parse(const char *text, size_t len, struct probe_perfdata *out)
{
    memset(out, 0, sizeof(*out));
    if (!text)
        len = 0;
    const char *nl = len ? memchr(text, '\n', len) : NULL;
    size_t first = nl ? (size_t)(nl - text) : len;
    const char *bar = first ? memchr(text, '|', first) : NULL;
    size_t text_end = bar ? (size_t)(bar - text) : first;
    size_t s = 0;
    while (s < text_end && is_blank(text[s]))
        s++;
    while (text_end > s && is_blank(text[text_end - 1]))
        text_end--;
    out->summary = len ? text + s : "";
    out->summary_len = text_end - s;
    if (bar)
        data(bar + 1, first - (size_t)(bar - text) - 1, out);
    if (!nl)
        return;
    /* long text, until the first line with a bar; all after it is data */
    size_t rest = first + 1;
    const char *bar2 = rest < len ? memchr(text + rest, '|', len - rest) : NULL;
    if (bar2)
        data(bar2 + 1, len - (size_t)(bar2 - text) - 1, out);
}
