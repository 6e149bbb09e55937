/*
 * base/tz: TZif files and POSIX TZ rules (see tz.h).
 */
#include "base/tz.h"

#include "base/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRANSITIONS_MAX 4096
#define TYPES_MAX 256

/* One side of a rule: when it changes (Mm.w.d, Jn or n) and at what local time. */
struct rule_date {
    char kind;           /* 'M', 'J', 'D' (zero-based day of year) */
    int m, w, d;         /* M: month, week 1-5, weekday 0-6; J/D: day in d */
    int32_t secs;        /* local time of day of the change, may be negative or past 24h */
};

struct rule {
    int32_t std_off, dst_off;   /* seconds east of UTC */
    bool has_dst;
    struct rule_date start, end;
};

struct base_tz {
    char name[BASE_TZ_NAME_MAX];
    int64_t *trans;             /* transition instants, ascending */
    uint8_t *trans_type;        /* the type after each */
    size_t n_trans;
    int32_t *type_off;          /* each type's offset */
    size_t n_types;
    int32_t first_off;          /* before the first transition */
    bool has_rule;
    struct rule rule;
};

/* ---- calendar ---- */

int64_t base_tz_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void base_tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- POSIX TZ rules ---- */

struct rd {
    const char *p, *end;
};

static bool rd_more(const struct rd *r)
{
    return r->p < r->end;
}

/* A zone abbreviation: 3+ letters, or <...> with letters, digits, + and -. */
static int parse_abbr(struct rd *r)
{
    if (rd_more(r) && *r->p == '<') {
        const char *s = ++r->p;
        while (rd_more(r) && *r->p != '>') {
            char c = *r->p;
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '-'))
                return -1;
            r->p++;
        }
        if (!rd_more(r) || r->p - s < 3)
            return -1;
        r->p++;
        return 0;
    }
    const char *s = r->p;
    while (rd_more(r) && ((*r->p >= 'A' && *r->p <= 'Z') || (*r->p >= 'a' && *r->p <= 'z')))
        r->p++;
    return r->p - s >= 3 ? 0 : -1;
}

static int parse_num(struct rd *r, int lo, int hi, int *out)
{
    int v = 0, digits = 0;
    while (rd_more(r) && *r->p >= '0' && *r->p <= '9' && digits < 4) {
        v = v * 10 + (*r->p - '0');
        r->p++;
        digits++;
    }
    if (!digits || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* [+-]hh[:mm[:ss]], hours up to max_h. */
static int parse_hms(struct rd *r, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (rd_more(r) && (*r->p == '+' || *r->p == '-')) {
        sign = *r->p == '-' ? -1 : 1;
        r->p++;
    }
    if (parse_num(r, 0, max_h, &h) != 0)
        return -1;
    if (rd_more(r) && *r->p == ':') {
        r->p++;
        if (parse_num(r, 0, 59, &m) != 0)
            return -1;
        if (rd_more(r) && *r->p == ':') {
            r->p++;
            if (parse_num(r, 0, 59, &s) != 0)
                return -1;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 0;
}

static int parse_date(struct rd *r, struct rule_date *d)
{
    d->secs = 7200; /* 02:00 by default */
    if (!rd_more(r))
        return -1;
    if (*r->p == 'M') {
        r->p++;
        d->kind = 'M';
        if (parse_num(r, 1, 12, &d->m) || !rd_more(r) || *r->p++ != '.' || parse_num(r, 1, 5, &d->w) ||
            !rd_more(r) || *r->p++ != '.' || parse_num(r, 0, 6, &d->d))
            return -1;
    } else if (*r->p == 'J') {
        r->p++;
        d->kind = 'J';
        if (parse_num(r, 1, 365, &d->d))
            return -1;
    } else {
        d->kind = 'D';
        if (parse_num(r, 0, 365, &d->d))
            return -1;
    }
    if (rd_more(r) && *r->p == '/') {
        r->p++;
        if (parse_hms(r, 167, &d->secs) != 0)
            return -1;
    }
    return 0;
}

static int parse_rule(const char *s, size_t len, struct rule *out)
{
    struct rd r = {s, s + len};
    memset(out, 0, sizeof(*out));
    int32_t std;
    if (parse_abbr(&r) != 0 || parse_hms(&r, 24, &std) != 0)
        return -1;
    out->std_off = -std; /* POSIX offsets are west of UTC */
    if (!rd_more(&r))
        return 0;
    if (parse_abbr(&r) != 0)
        return -1;
    out->has_dst = true;
    out->dst_off = out->std_off + 3600;
    if (rd_more(&r) && *r.p != ',') {
        int32_t dst;
        if (parse_hms(&r, 24, &dst) != 0)
            return -1;
        out->dst_off = -dst;
    }
    if (!rd_more(&r)) {
        /* no dates: the US rules, as POSIX allows implementations to assume */
        out->start = (struct rule_date){'M', 3, 2, 0, 7200};
        out->end = (struct rule_date){'M', 11, 1, 0, 7200};
        return 0;
    }
    if (*r.p++ != ',' || parse_date(&r, &out->start) != 0 || !rd_more(&r) || *r.p++ != ',' ||
        parse_date(&r, &out->end) != 0)
        return -1;
    return rd_more(&r) ? -1 : 0;
}

int base_tz_rule_check(const char *rule, size_t len)
{
    struct rule r;
    return parse_rule(rule, len, &r);
}

/* Local seconds since 1970 (in the year y) of a rule's date, at its time. */
static int64_t rule_local(const struct rule_date *d, int64_t y)
{
    int64_t day;
    if (d->kind == 'J') {
        /* 1..365, February 29 never counted */
        int n = d->d;
        day = base_tz_days_from_civil(y, 1, 1) + n - 1 + (leap(y) && n >= 60);
    } else if (d->kind == 'D') {
        day = base_tz_days_from_civil(y, 1, 1) + d->d;
    } else {
        int64_t first = base_tz_days_from_civil(y, d->m, 1);
        int wd_first = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
        int64_t dd = first + (d->d - wd_first + 7) % 7 + (int64_t)(d->w - 1) * 7;
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int dim = mdays[d->m - 1] + (d->m == 2 && leap(y));
        while (dd - first >= dim)
            dd -= 7;
        day = dd;
    }
    return day * 86400 + d->secs;
}

static int32_t rule_offset(const struct rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    int m, d;
    base_tz_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
    /* DST starts at the start date's local standard time and ends at the end date's local DST time */
    int64_t start = rule_local(&r->start, y) - r->std_off;
    int64_t end = rule_local(&r->end, y) - r->dst_off;
    if (start < end) /* northern hemisphere */
        return t >= start && t < end ? r->dst_off : r->std_off;
    /* southern: DST over the new year */
    return t >= end && t < start ? r->std_off : r->dst_off;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
    uint32_t isut, isstd, leap, time, type, chr;
};

static int header(const unsigned char *p, size_t len, struct counts *c, int *version)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    *version = p[4] ? p[4] - '0' : 1;
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chr = be32(p + 40);
    if (c->time > TRANSITIONS_MAX || c->type == 0 || c->type > TYPES_MAX || c->chr > 1024 || c->leap > 1024 ||
        (c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type))
        return -1;
    return 0;
}

static size_t block_len(const struct counts *c, int tsize)
{
    return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chr + (size_t)c->leap * (tsize + 4) +
           c->isstd + c->isut;
}

static void set_why(char *why, size_t n, const char *name, const char *what)
{
    if (why && n)
        snprintf(why, n, "time zone '%s': %s", name, what);
}

struct base_tz *base_tz_parse(const char *name, const unsigned char *data, size_t len, char *why, size_t why_len)
{
    struct counts c;
    int version;
    if (header(data, len, &c, &version) != 0) {
        set_why(why, why_len, name, "not a TZif file");
        return NULL;
    }
    size_t off = 44 + block_len(&c, 4);
    int tsize = 4;
    if (version >= 2) {
        /* skip the 32-bit block: the second header and 64-bit data follow */
        if (off > len || header(data + off, len - off, &c, &version) != 0) {
            set_why(why, why_len, name, "a truncated TZif file");
            return NULL;
        }
        off += 44;
        tsize = 8;
    } else {
        off = 44;
    }
    if (off + block_len(&c, tsize) > len) {
        set_why(why, why_len, name, "a truncated TZif file");
        return NULL;
    }
    struct base_tz *tz = base_calloc(1, sizeof(*tz));
    if (!tz)
        return NULL;
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    tz->trans = c.time ? base_calloc(c.time, sizeof(*tz->trans)) : NULL;
    tz->trans_type = c.time ? base_calloc(c.time, 1) : NULL;
    tz->type_off = base_calloc(c.type, sizeof(*tz->type_off));
    if ((c.time && (!tz->trans || !tz->trans_type)) || !tz->type_off) {
        base_tz_free(tz);
        return NULL;
    }
    const unsigned char *p = data + off;
    for (uint32_t i = 0; i < c.time; i++, p += tsize) {
        tz->trans[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (i && tz->trans[i] <= tz->trans[i - 1]) {
            set_why(why, why_len, name, "transitions out of order");
            base_tz_free(tz);
            return NULL;
        }
    }
    for (uint32_t i = 0; i < c.time; i++, p++) {
        if (*p >= c.type) {
            set_why(why, why_len, name, "a transition to an unknown type");
            base_tz_free(tz);
            return NULL;
        }
        tz->trans_type[i] = *p;
    }
    for (uint32_t i = 0; i < c.type; i++, p += 6) {
        int32_t o = (int32_t)be32(p);
        if (o < -25 * 3600 || o > 26 * 3600) {
            set_why(why, why_len, name, "an offset out of range");
            base_tz_free(tz);
            return NULL;
        }
        tz->type_off[i] = o;
    }
    tz->n_trans = c.time;
    tz->n_types = c.type;
    tz->first_off = tz->type_off[0];
    off += block_len(&c, tsize);
    /* the footer: "\n<rule>\n" (version 2+) */
    if (version >= 2 && off < len && data[off] == '\n') {
        const unsigned char *s = data + off + 1;
        const unsigned char *e = memchr(s, '\n', len - off - 1);
        if (e && e > s) {
            if (parse_rule((const char *)s, (size_t)(e - s), &tz->rule) == 0)
                tz->has_rule = true;
            else {
                set_why(why, why_len, name, "a footer that is not a POSIX TZ rule");
                base_tz_free(tz);
                return NULL;
            }
        }
    }
    return tz;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= BASE_TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' ||
              *p == '_' || *p == '-' || *p == '+'))
            return false;
    return true;
}

struct base_tz *base_tz_load(const char *name, char *why, size_t why_len)
{
    if (!name_ok(name)) {
        if (why && why_len)
            snprintf(why, why_len, "'%.64s' is not a time zone name (such as Asia/Dhaka or UTC)", name);
        return NULL;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", BASE_TZ_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        fd = open(path, O_RDONLY | O_CLOEXEC); /* Debian links aliases (UTC -> Etc/UTC) */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BASE_TZ_FILE_MAX) {
        if (fd >= 0)
            close(fd);
        if (why && why_len)
            snprintf(why, why_len, "unknown time zone '%s' (not in %s)", name, BASE_TZ_DIR);
        return NULL;
    }
    unsigned char *buf = base_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    struct base_tz *tz = buf ? base_tz_parse(name, buf, got, why, why_len) : NULL;
    base_free(buf);
    return tz;
}

struct base_tz *base_tz_utc(void)
{
    struct base_tz *tz = base_calloc(1, sizeof(*tz));
    if (tz)
        snprintf(tz->name, sizeof(tz->name), "UTC");
    return tz;
}

void base_tz_free(struct base_tz *tz)
{
    if (!tz)
        return;
    base_free(tz->trans);
    base_free(tz->trans_type);
    base_free(tz->type_off);
    base_free(tz);
}

const char *base_tz_name(const struct base_tz *tz)
{
    return tz->name;
}

int32_t base_tz_offset(const struct base_tz *tz, int64_t t)
{
    if (tz->n_trans == 0)
        return tz->has_rule ? rule_offset(&tz->rule, t) : tz->n_types ? tz->first_off : 0;
    if (t < tz->trans[0])
        return tz->first_off;
    if (t >= tz->trans[tz->n_trans - 1] && tz->has_rule)
        return rule_offset(&tz->rule, t);
    size_t lo = 0, hi = tz->n_trans; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->type_off[tz->trans_type[lo]];
}

int64_t base_tz_from_local(const struct base_tz *tz, int64_t local)
{
    /* the offsets a day around it: the earliest instant that reads as `local` */
    int32_t a = base_tz_offset(tz, local - 86400), b = base_tz_offset(tz, local + 86400);
    int32_t cands[2] = {a > b ? a : b, a > b ? b : a}; /* the larger offset gives the earlier instant */
    for (int i = 0; i < 2; i++) {
        int64_t t = local - cands[i];
        if (base_tz_offset(tz, t) == cands[i])
            return t;
    }
    /* in a gap: as if the change had not happened yet */
    int32_t before = base_tz_offset(tz, local - cands[0] - 86400);
    return local - before;
}
