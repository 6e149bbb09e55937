/*
 * base/cron: cron schedules (see cron.h).
 */
#include "base/cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct field {
    const char *what;
    int lo, hi;
    const char *const *names;   /* names[i] is lo + i */
};

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const wdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL}, {"hour", 0, 23, NULL}, {"day of month", 1, 31, NULL},
    {"month", 1, 12, months}, {"day of week", 0, 7, wdays},
};

static int fail(char *why, size_t n, size_t *pos, size_t at, const char *msg, const char *what)
{
    if (why && n)
        snprintf(why, n, "%s%s%s", what ? what : "", what ? ": " : "", msg);
    if (pos)
        *pos = at;
    return -1;
}

/* A number or a name at s[*i]. */
static int value(const struct field *f, const char *s, size_t len, size_t *i, int *out)
{
    if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        int v = 0, digits = 0;
        while (*i < len && s[*i] >= '0' && s[*i] <= '9' && digits < 3) {
            v = v * 10 + (s[*i] - '0');
            (*i)++;
            digits++;
        }
        if (*i < len && s[*i] >= '0' && s[*i] <= '9')
            return -1;
        *out = v;
        return v >= f->lo && v <= f->hi ? 0 : -1;
    }
    if (f->names && *i + 3 <= len) {
        int count = f == &fields[3] ? 12 : 7;
        for (int k = 0; k < count; k++)
            if (strncasecmp(s + *i, f->names[k], 3) == 0) {
                *i += 3;
                *out = f->lo + k;
                return 0;
            }
    }
    return -1;
}

static int parse_field(const struct field *f, const char *s, size_t len, size_t base, uint64_t *bits, bool *star,
                       char *why, size_t why_len, size_t *pos)
{
    size_t i = 0;
    *bits = 0;
    *star = len == 1 && s[0] == '*';
    while (i <= len) {
        int a, b, step = 1;
        size_t start = i;
        if (i < len && s[i] == '*') {
            a = f->lo;
            b = f->hi == 7 ? 6 : f->hi;
            i++;
        } else {
            if (value(f, s, len, &i, &a) != 0)
                return fail(why, why_len, pos, base + start, "expected a number or a name in range", f->what);
            b = a;
            if (i < len && s[i] == '-') {
                i++;
                size_t at = i;
                if (value(f, s, len, &i, &b) != 0)
                    return fail(why, why_len, pos, base + at, "expected the end of the range", f->what);
                if (b < a)
                    return fail(why, why_len, pos, base + at, "a range must not end before it starts", f->what);
            }
        }
        if (i < len && s[i] == '/') {
            i++;
            size_t at = i;
            int v = 0, digits = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
                v = v * 10 + (s[i] - '0');
                i++;
                digits++;
            }
            if (!digits || v < 1 || v > f->hi)
                return fail(why, why_len, pos, base + at, "a step is a number from 1", f->what);
            step = v;
            if (start < len && s[start] != '*' && b == a)
                b = f->hi == 7 ? 6 : f->hi; /* "5/15" means 5-max/15 */
        }
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << (f->hi == 7 && v == 7 ? 0 : v);
        if (i == len)
            break;
        if (s[i] != ',')
            return fail(why, why_len, pos, base + i, "unexpected character", f->what);
        i++;
        if (i == len)
            return fail(why, why_len, pos, base + i, "a list must not end with ','", f->what);
    }
    return 0;
}

int base_cron_parse(const char *text, struct base_cron *out, char *why, size_t why_len, size_t *pos)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(text);
    if (len > BASE_CRON_TEXT_MAX)
        return fail(why, why_len, pos, 0, "a schedule is at most 256 characters", NULL);
    static const struct {
        const char *name, *expr;
    } macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                  {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                  {"@hourly", "0 * * * *"}};
    if (len && text[0] == '@') {
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strcmp(text, macros[i].name) == 0)
                return base_cron_parse(macros[i].expr, out, why, why_len, pos);
        return fail(why, why_len, pos, 0, "unknown macro (@yearly, @monthly, @weekly, @daily, @hourly)", NULL);
    }
    size_t i = 0;
    uint64_t bits[5];
    bool star[5];
    for (int f = 0; f < 5; f++) {
        while (i < len && (text[i] == ' ' || text[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && text[i] != ' ' && text[i] != '\t')
            i++;
        if (i == start)
            return fail(why, why_len, pos, i,
                        "a schedule has 5 fields: minute hour day-of-month month day-of-week", NULL);
        if (parse_field(&fields[f], text + start, i - start, start, &bits[f], &star[f], why, why_len, pos) != 0)
            return -1;
    }
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i < len)
        return fail(why, why_len, pos, i, "a schedule has 5 fields (opshub has no seconds or years field)", NULL);
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)bits[4];
    out->mday_star = star[2];
    out->wday_star = star[4];
    return 0;
}

static bool day_matches(const struct base_cron *c, int64_t day, int m, int d)
{
    if (!(c->months & (1u << m)))
        return false;
    int wd = (int)(((day % 7) + 7 + 4) % 7);
    bool md = (c->mdays >> d) & 1, w = (c->wdays >> wd) & 1;
    if (c->mday_star || c->wday_star)
        return (c->mday_star || md) && (c->wday_star || w);
    return md || w;
}

int64_t base_cron_next(const struct base_cron *c, const struct base_tz *tz, int64_t after_ms)
{
    int64_t after = after_ms >= 0 ? after_ms / 1000 : -((-after_ms + 999) / 1000);
    int64_t local = after + base_tz_offset(tz, after);
    int64_t day0 = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    /* a day back too: a time skipped forward may land after `after` */
    for (int64_t day = day0 - 1; day < day0 + 8 * 366; day++) {
        int64_t y;
        int m, d;
        base_tz_civil_from_days(day, &y, &m, &d);
        if (!day_matches(c, day, m, d))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!((c->hours >> h) & 1))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!((c->minutes >> mi) & 1))
                    continue;
                int64_t t = base_tz_from_local(tz, day * 86400 + h * 3600 + mi * 60);
                if (t * 1000 > after_ms)
                    return t * 1000;
            }
        }
    }
    return -1;
}
