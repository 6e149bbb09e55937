/*
 * notify/silence: reading and showing silences (see silence.h).
 */
#include "notify/silence.h"

#include "base/alloc.h"
#include "base/duration.h"
#include "base/time.h"
#include "conf/conf.h"
#include "series/series.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void notify_silence_new_id(char *out, size_t n)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        uint64_t t = (uint64_t)base_time_now_ms();
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)((t >> (8 * (i % 8))) ^ (uintptr_t)out ^ i * 131);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool valid_name(const char *s)
{
    if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return strlen(s) <= 128;
}

json_t *notify_matcher_parse(const char *s, char *why, size_t why_len)
{
    size_t nl = strcspn(s, "=!~");
    char name[160];
    if (nl == 0 || nl >= sizeof(name)) {
        snprintf(why, why_len, "a matcher is name=value, name!=value, name=~regex or name!~regex");
        return NULL;
    }
    memcpy(name, s, nl);
    name[nl] = 0;
    /* amtool writes names and values with spaces around the operator at times */
    while (nl && name[nl - 1] == ' ')
        name[--nl] = 0;
    const char *op = s + strcspn(s, "=!~");
    bool eq = true, re = false;
    size_t ol;
    if (strncmp(op, "=~", 2) == 0) {
        re = true;
        ol = 2;
    } else if (strncmp(op, "!~", 2) == 0) {
        re = true;
        eq = false;
        ol = 2;
    } else if (strncmp(op, "!=", 2) == 0) {
        eq = false;
        ol = 2;
    } else if (op[0] == '=') {
        ol = 1;
    } else {
        snprintf(why, why_len, "a matcher is name=value, name!=value, name=~regex or name!~regex");
        return NULL;
    }
    const char *v = op + ol;
    while (*v == ' ')
        v++;
    char value[NOTIFY_SILENCE_TEXT_MAX + 1];
    size_t vl = strlen(v);
    if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
        /* a quoted value: \" and \\ escapes */
        size_t k = 0;
        for (size_t i = 1; i + 1 < vl && k < NOTIFY_SILENCE_TEXT_MAX; i++) {
            if (v[i] == '\\' && i + 2 < vl)
                i++;
            value[k++] = v[i];
        }
        value[k] = 0;
    } else {
        if (vl > NOTIFY_SILENCE_TEXT_MAX) {
            snprintf(why, why_len, "a matcher's value is longer than %d bytes", NOTIFY_SILENCE_TEXT_MAX);
            return NULL;
        }
        memcpy(value, v, vl + 1);
    }
    return json_pack("{s:s, s:s, s:b, s:b}", "name", name, "value", value, "isRegex", re, "isEqual", eq);
}

/* Checks one matcher object; true when it matches the empty string. */
static int check_matcher(const json_t *m, bool *empty, char *why, size_t why_len)
{
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *value = json_string_value(json_object_get(m, "value"));
    json_t *re = json_object_get(m, "isRegex"), *eq = json_object_get(m, "isEqual");
    if (!json_is_object(m)) {
        snprintf(why, why_len, "a matcher is an object {name, value, isRegex, isEqual} or a string name=value");
        return -1;
    }
    if (!name || !valid_name(name)) {
        snprintf(why, why_len, "'name' must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
        return -1;
    }
    if (!value || strlen(value) > NOTIFY_SILENCE_TEXT_MAX) {
        snprintf(why, why_len, "'value' must be a string of at most %d bytes", NOTIFY_SILENCE_TEXT_MAX);
        return -1;
    }
    if ((re && !json_is_boolean(re)) || (eq && !json_is_boolean(eq))) {
        snprintf(why, why_len, "'isRegex' and 'isEqual' are booleans");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "value") && strcmp(k, "isRegex") && strcmp(k, "isEqual")) {
            snprintf(why, why_len, "unknown member '%.64s' (a matcher has name, value, isRegex, isEqual)", k);
            return -1;
        }
    }
    bool is_re = json_is_true(re), is_eq = !eq || json_is_true(eq);
    struct series_matcher sm;
    char w[200];
    enum series_match_op op = is_re ? (is_eq ? SERIES_MATCH_RE : SERIES_MATCH_NRE)
                                    : (is_eq ? SERIES_MATCH_EQ : SERIES_MATCH_NE);
    if (series_matcher_init(&sm, op, name, value, w, sizeof(w)) != 0) {
        snprintf(why, why_len, "bad regular expression: %s", w);
        return -1;
    }
    *empty = series_matcher_matches(&sm, "");
    series_matcher_free(&sm);
    return 0;
}

static void set_field(char *field, size_t n, size_t i)
{
    snprintf(field, n, "matchers[%zu]", i);
}

static int64_t time_member(const json_t *body, const char *name, int64_t def, bool *bad)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return def;
    int64_t ms;
    if (!json_is_string(v) || base_time_parse(json_string_value(v), &ms) != 0) {
        *bad = true;
        return 0;
    }
    return ms;
}

static char *text_member(const json_t *body, const char *name, bool *bad)
{
    json_t *v = json_object_get(body, name);
    if (!v || json_is_null(v))
        return base_strdup("");
    const char *s = json_string_value(v);
    if (!s || strlen(s) > NOTIFY_SILENCE_TEXT_MAX) {
        *bad = true;
        return NULL;
    }
    return base_strdup(s);
}

int notify_silence_from_json(const json_t *body, int64_t now, struct store_silence *out, char *why, size_t why_len,
                             char *field, size_t field_len)
{
    memset(out, 0, sizeof(*out));
    field[0] = 0;
    if (!json_is_object(body)) {
        snprintf(why, why_len, "the body must be a JSON object (a silence)");
        return -1;
    }
    static const char *const known[] = {"id", "matchers", "startsAt", "endsAt", "createdBy", "comment", "duration",
                                        "status", "updatedAt"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]) && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok) {
            snprintf(why, why_len, "unknown member '%.64s'", k);
            snprintf(field, field_len, "%.64s", k);
            return -1;
        }
    }
    json_t *id = json_object_get(body, "id");
    if (id && !json_is_null(id)) {
        const char *s = json_string_value(id);
        if (!s || !*s || strlen(s) >= STORE_SILENCE_ID_MAX) {
            snprintf(why, why_len, "'id' must be a silence id");
            snprintf(field, field_len, "id");
            return -1;
        }
        snprintf(out->id, sizeof(out->id), "%s", s);
    } else {
        notify_silence_new_id(out->id, sizeof(out->id));
    }
    json_t *ms = json_object_get(body, "matchers");
    if (!json_is_array(ms) || json_array_size(ms) == 0 || json_array_size(ms) > NOTIFY_SILENCE_MATCHERS_MAX) {
        snprintf(why, why_len, "'matchers' must be a list of 1 to %d matchers", NOTIFY_SILENCE_MATCHERS_MAX);
        snprintf(field, field_len, "matchers");
        return -1;
    }
    json_t *canon = json_array();
    bool all_empty = true;
    size_t i;
    json_array_foreach(ms, i, v)
    {
        json_t *m = json_is_string(v) ? notify_matcher_parse(json_string_value(v), why, why_len) : json_incref(v);
        bool empty = false;
        if (!m || check_matcher(m, &empty, why, why_len) != 0) {
            json_decref(m);
            json_decref(canon);
            set_field(field, field_len, i);
            return -1;
        }
        all_empty = all_empty && empty;
        json_t *c = json_pack("{s:O, s:O, s:b, s:b}", "name", json_object_get(m, "name"), "value",
                              json_object_get(m, "value"), "isRegex", json_is_true(json_object_get(m, "isRegex")),
                              "isEqual", !json_object_get(m, "isEqual") || json_is_true(json_object_get(m, "isEqual")));
        json_decref(m);
        json_array_append_new(canon, c);
    }
    if (all_empty) {
        json_decref(canon);
        snprintf(why, why_len, "at least one matcher must not match the empty string (a silence of everything)");
        snprintf(field, field_len, "matchers");
        return -1;
    }
    bool bad = false;
    out->starts_ms = time_member(body, "startsAt", now, &bad);
    if (bad) {
        json_decref(canon);
        snprintf(why, why_len, "'startsAt' must be an RFC 3339 time");
        snprintf(field, field_len, "startsAt");
        return -1;
    }
    if (out->starts_ms < now)
        out->starts_ms = now; /* as Alertmanager: a silence never starts in the past */
    json_t *dur = json_object_get(body, "duration");
    if (dur && json_object_get(body, "endsAt")) {
        json_decref(canon);
        snprintf(why, why_len, "give endsAt or duration, not both");
        snprintf(field, field_len, "duration");
        return -1;
    }
    if (dur) {
        int64_t d = 0;
        if (!json_is_string(dur) || base_duration_parse(json_string_value(dur), strlen(json_string_value(dur)), &d) != 0 || d <= 0) {
            json_decref(canon);
            snprintf(why, why_len, "'duration' must be a duration such as 2h or 30m");
            snprintf(field, field_len, "duration");
            return -1;
        }
        out->ends_ms = out->starts_ms + d;
    } else {
        out->ends_ms = time_member(body, "endsAt", 0, &bad);
        if (bad || !json_object_get(body, "endsAt")) {
            json_decref(canon);
            snprintf(why, why_len, bad ? "'endsAt' must be an RFC 3339 time" : "give 'endsAt' (or 'duration')");
            snprintf(field, field_len, "endsAt");
            return -1;
        }
    }
    if (out->ends_ms <= out->starts_ms || out->ends_ms <= now) {
        json_decref(canon);
        snprintf(why, why_len, "'endsAt' must be in the future and after 'startsAt'");
        snprintf(field, field_len, "endsAt");
        return -1;
    }
    char *cb = text_member(body, "createdBy", &bad);
    char *cm = bad ? NULL : text_member(body, "comment", &bad);
    if (bad) {
        base_free(cb);
        json_decref(canon);
        snprintf(why, why_len, "'createdBy' and 'comment' are strings of at most %d bytes", NOTIFY_SILENCE_TEXT_MAX);
        snprintf(field, field_len, cb ? "comment" : "createdBy");
        return -1;
    }
    char *mt = json_dumps(canon, JSON_COMPACT);
    json_decref(canon);
    if (!mt || !cb || !cm) {
        base_free(mt);
        base_free(cb);
        base_free(cm);
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    out->matchers = mt;
    out->created_by = cb;
    out->comment = cm;
    out->created_ms = out->updated_ms = now;
    return 0;
}

void notify_silence_clear(struct store_silence *s)
{
    base_free((char *)s->matchers);
    base_free((char *)s->created_by);
    base_free((char *)s->comment);
    s->matchers = s->created_by = s->comment = NULL;
}

const char *notify_silence_state(const struct store_silence *s, int64_t now)
{
    if (s->ends_ms <= now)
        return "expired";
    return s->starts_ms > now ? "pending" : "active";
}

static json_t *iso(int64_t ms)
{
    char buf[40];
    return json_string(base_time_format_iso8601(ms, buf, sizeof(buf)));
}

json_t *notify_silence_json(const struct store_silence *s, int64_t now)
{
    json_t *m = json_loads(s->matchers ? s->matchers : "[]", 0, NULL);
    if (!json_is_array(m)) {
        json_decref(m);
        m = json_array();
    }
    return json_pack("{s:s, s:{s:s}, s:o, s:s, s:s, s:o, s:o, s:o}", "id", s->id, "status", "state",
                     notify_silence_state(s, now), "updatedAt", iso(s->updated_ms), "comment",
                     s->comment ? s->comment : "", "createdBy", s->created_by ? s->created_by : "", "endsAt",
                     iso(s->ends_ms), "startsAt", iso(s->starts_ms), "matchers", m);
}
