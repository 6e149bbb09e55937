/*
 * conf/interp: ${VAR} / ${VAR:-default} / $$ expansion for config scalars.
 * Owns nothing beyond the arena copy it returns; builds the result in a
 * bounded buffer (CONF_INTERP_MAX). Must not put a variable's value in an
 * error message: callers print those messages to terminals and logs.
 */
#include "conf/interp.h"

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Parses "${NAME}" or "${NAME:-default}" starting at s[i] == '$', s[i+1] == '{'.
 * On success sets the name, the default (def NULL when none) and *end (index
 * after the closing brace). */
static int parse_ref(const char *s, size_t n, size_t i, size_t *name_off, size_t *name_len,
                     const char **def, size_t *def_len, size_t *end, char *err, size_t errn)
{
    size_t j = i + 2;
    *def = NULL;
    *def_len = 0;
    if (j >= n || !is_name_start(s[j])) {
        snprintf(err, errn, "malformed '${': expected a variable name after '${'");
        return BASE_ERR_INVALID;
    }
    *name_off = j;
    while (j < n && is_name_char(s[j]))
        j++;
    *name_len = j - *name_off;
    if (*name_len > CONF_INTERP_NAME_MAX) {
        snprintf(err, errn, "environment variable name is longer than %d characters",
                 CONF_INTERP_NAME_MAX);
        return BASE_ERR_INVALID;
    }
    if (j < n && s[j] == '}') {
        *end = j + 1;
        return 0;
    }
    if (j + 1 < n && s[j] == ':' && s[j + 1] == '-') {
        const char *close = memchr(s + j + 2, '}', n - (j + 2));
        if (!close) {
            snprintf(err, errn, "unterminated '${%.*s:-': missing '}'", (int)*name_len, s + *name_off);
            return BASE_ERR_INVALID;
        }
        *def = s + j + 2;
        *def_len = (size_t)(close - *def);
        *end = (size_t)(close - s) + 1;
        return 0;
    }
    if (j >= n)
        snprintf(err, errn, "unterminated '${%.*s': missing '}'", (int)*name_len, s + *name_off);
    else
        snprintf(err, errn, "malformed '${%.*s': expected '}' or ':-' after the variable name",
                 (int)*name_len, s + *name_off);
    return BASE_ERR_INVALID;
}

int conf_interp_expand(struct base_arena *a, const char *s, size_t n, char **out,
                       size_t *out_len, int *expanded, char *err, size_t errn)
{
    struct base_buf b;
    int rc = 0;
    if (errn)
        err[0] = '\0';
    if (expanded)
        *expanded = 0;
    if (!memchr(s, '$', n)) {
        *out = base_arena_strndup(a, s, n);
        *out_len = n;
        return *out ? 0 : BASE_ERR_NOMEM;
    }
    base_buf_init(&b, CONF_INTERP_MAX);
    size_t i = 0;
    while (i < n && !rc) {
        const char *dollar = memchr(s + i, '$', n - i);
        size_t run = dollar ? (size_t)(dollar - (s + i)) : n - i;
        rc = base_buf_append(&b, s + i, run);
        i += run;
        if (rc || i >= n)
            break;
        if (i + 1 < n && s[i + 1] == '$') {
            rc = base_buf_append(&b, "$", 1);
            i += 2;
            continue;
        }
        if (i + 1 >= n || s[i + 1] != '{') {
            rc = base_buf_append(&b, "$", 1);
            i++;
            continue;
        }
        size_t name_off, name_len, def_len, end;
        const char *def;
        rc = parse_ref(s, n, i, &name_off, &name_len, &def, &def_len, &end, err, errn);
        if (rc)
            break;
        if (expanded)
            *expanded = 1;
        char name[CONF_INTERP_NAME_MAX + 1];
        memcpy(name, s + name_off, name_len);
        name[name_len] = '\0';
        const char *value = getenv(name);
        if (def && (!value || !*value))
            rc = base_buf_append(&b, def, def_len);
        else if (value)
            rc = base_buf_append_str(&b, value);
        else {
            snprintf(err, errn, "environment variable '%s' is not set", name);
            rc = BASE_ERR_INVALID;
        }
        i = end;
    }
    if (rc == BASE_ERR_TOO_BIG) {
        snprintf(err, errn, "value is longer than %u bytes after expansion", CONF_INTERP_MAX);
        rc = BASE_ERR_INVALID;
    }
    if (!rc) {
        *out = base_arena_strndup(a, b.data ? b.data : "", b.len);
        *out_len = b.len;
        if (!*out)
            rc = BASE_ERR_NOMEM;
    }
    base_buf_free(&b);
    return rc;
}
