/*
 * store/sql: the dialect-neutral face of the store's backends for domain
 * modules: argument checks common to both dialects (parameter count, UTF-8
 * text), transactions, result accessors, the row builder the backends fill
 * (one allocation per result) and synchronous connections for CLI commands.
 * Owns no connection of the daemon's; never runs on the loop (everything
 * here blocks). Error messages carry the SQL's first words, never a value.
 */
#include "store/sql.h"

#include "base/alloc.h"
#include "base/err.h"
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_ERR_HEAD 40   /* characters of the SQL text quoted in messages */
#define SQL_SCRUB_MIN 4   /* text values this long or longer are blanked from messages */

/* ---- row builder ---- */

void store_sql_rows_init(struct store_sql_rows *b, size_t cols)
{
    memset(b, 0, sizeof(*b));
    b->cols = cols;
}

void store_sql_rows_free(struct store_sql_rows *b)
{
    base_free(b->cells);
    base_free(b->text);
    memset(b, 0, sizeof(*b));
}

int store_sql_rows_add(struct store_sql_rows *b, const struct store_cell *cell)
{
    size_t tlen = cell->type == STORE_SQL_TEXT ? cell->len + 1 : 0;
    size_t used = (b->ncells + 1) * sizeof(struct store_cell) + b->text_len;
    if (tlen > STORE_SQL_MAX_BYTES || used > STORE_SQL_MAX_BYTES - tlen)
        return BASE_ERR_TOO_BIG;
    if (b->ncells == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct store_cell *p = base_realloc(b->cells, cap * sizeof(*p));
        if (!p)
            return BASE_ERR_NOMEM;
        b->cells = p;
        b->cap = cap;
    }
    struct store_cell *c = &b->cells[b->ncells];
    *c = *cell;
    if (cell->type == STORE_SQL_TEXT) {
        if (b->text_len + tlen > b->text_cap) {
            size_t cap = b->text_cap ? b->text_cap : 1024;
            while (cap < b->text_len + tlen)
                cap *= 2;
            char *p = base_realloc(b->text, cap);
            if (!p)
                return BASE_ERR_NOMEM;
            b->text = p;
            b->text_cap = cap;
        }
        if (cell->len)
            memcpy(b->text + b->text_len, cell->s, cell->len);
        b->text[b->text_len + cell->len] = '\0';
        c->s = NULL;
        c->i = (int64_t)b->text_len; /* offset until finish */
        b->text_len += tlen;
    } else {
        c->s = NULL;
        c->len = 0;
    }
    b->ncells++;
    return 0;
}

int store_sql_rows_end_row(struct store_sql_rows *b)
{
    if (b->rows >= STORE_SQL_MAX_ROWS)
        return BASE_ERR_TOO_BIG;
    b->rows++;
    return 0;
}

int store_sql_rows_finish(struct store_sql_rows *b, struct store_result *out)
{
    if (b->ncells != b->rows * b->cols)
        return BASE_ERR_INVALID; /* a backend bug: a row with the wrong width */
    out->rows = b->rows;
    out->cols = b->cols;
    out->cells = NULL;
    out->mem = NULL;
    size_t cell_bytes = b->ncells * sizeof(struct store_cell);
    if (cell_bytes + b->text_len > 0) {
        char *mem = base_malloc(cell_bytes + b->text_len);
        if (!mem)
            return BASE_ERR_NOMEM;
        struct store_cell *cells = (struct store_cell *)(void *)mem;
        char *text = mem + cell_bytes;
        if (cell_bytes)
            memcpy(cells, b->cells, cell_bytes);
        if (b->text_len)
            memcpy(text, b->text, b->text_len);
        for (size_t k = 0; k < b->ncells; k++) {
            if (cells[k].type == STORE_SQL_TEXT) {
                cells[k].s = text + cells[k].i;
                cells[k].i = 0;
            }
        }
        out->cells = b->ncells ? cells : NULL;
        out->mem = mem;
    }
    store_sql_rows_free(b);
    return 0;
}

void store_sql_error(char *errbuf, size_t errlen, const char *backend, const char *sql,
                     const char *msg)
{
    if (!errbuf || !errlen)
        return;
    char head[SQL_ERR_HEAD + 1];
    size_t n = 0;
    bool space = false;
    const char *p = sql ? sql : "";
    while (*p) {
        unsigned char ch = (unsigned char)*p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            space = n > 0;
            p++;
            continue;
        }
        /* Whole UTF-8 sequences only: never cut a character in half. */
        size_t len = ch < 0x80 ? 1 : ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC0 ? 2 : 1;
        if (n + (space ? 1 : 0) + len > SQL_ERR_HEAD)
            break;
        if (space)
            head[n++] = ' ';
        space = false;
        for (size_t k = 0; k < len && *p; k++, p++)
            head[n++] = (unsigned char)*p < 0x20 ? '?' : *p;
    }
    head[n] = '\0';
    snprintf(errbuf, errlen, "%s \"%s%s\": %s", backend, head, *p ? "..." : "", msg ? msg : "");
}

/* ---- statements ---- */

static bool utf8_is_valid(const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    while (*p) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                   : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len)
            return false;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        if (len > 2) {
            unsigned d = p[1];
            if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) ||
                (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F))
                return false;
        }
        p += len;
    }
    return true;
}

static int check_params(const char *sql, const struct store_param *params, size_t n,
                        char *errbuf, size_t errlen)
{
    char msg[96];
    if (n > STORE_SQL_MAX_PARAMS) {
        snprintf(msg, sizeof(msg), "%zu parameters, at most %d", n, STORE_SQL_MAX_PARAMS);
        goto fail;
    }
    if (n && !params) {
        snprintf(msg, sizeof(msg), "parameters missing");
        goto fail;
    }
    for (size_t k = 0; k < n; k++) {
        const struct store_param *p = &params[k];
        if ((unsigned)p->type > STORE_SQL_TEXT) {
            snprintf(msg, sizeof(msg), "parameter %zu has an unknown type", k + 1);
            goto fail;
        }
        if (p->type == STORE_SQL_TEXT && (!p->s || !utf8_is_valid(p->s))) {
            snprintf(msg, sizeof(msg), "parameter %zu is not valid UTF-8 text", k + 1);
            goto fail;
        }
    }
    return 0;
fail:
    store_sql_error(errbuf, errlen, "sql", sql, msg);
    return BASE_ERR_INVALID;
}

/* Defence in depth: blanks every text value (of SQL_SCRUB_MIN bytes or
 * more) that a database message might have quoted. */
static void scrub_values(char *errbuf, const struct store_param *params, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (params[k].type != STORE_SQL_TEXT)
            continue;
        const char *v = params[k].s;
        size_t vl = strlen(v);
        if (vl < SQL_SCRUB_MIN)
            continue;
        char *p;
        while ((p = strstr(errbuf, v)) != NULL) {
            memset(p, '*', 3);
            memmove(p + 3, p + vl, strlen(p + vl) + 1);
        }
    }
}

int store_sql_exec(struct store_conn *c, const char *sql, const struct store_param *params,
                   size_t n_params, struct store_result *out, char *errbuf, size_t errlen)
{
    struct store_result local;
    struct store_result *r = out ? out : &local;
    memset(r, 0, sizeof(*r));
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!c || !c->ops || !c->db || !sql) {
        store_sql_error(errbuf, errlen, "sql", sql, "no connection or no statement");
        return BASE_ERR_INVALID;
    }
    int rc = check_params(sql, params, n_params, errbuf, errlen);
    if (rc)
        return rc;
    rc = c->ops->sql_exec(c->db, sql, params, n_params, r, errbuf, errlen);
    if (rc) {
        store_result_free(r);
        if (errbuf && errlen)
            scrub_values(errbuf, params, n_params);
    }
    if (!out)
        store_result_free(&local);
    return rc;
}

int store_sql_begin(struct store_conn *c, char *errbuf, size_t errlen)
{
    bool lite = c && c->ops && c->ops->dialect == STORE_DIALECT_SQLITE;
    return store_sql_exec(c, lite ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0, NULL, errbuf, errlen);
}

int store_sql_commit(struct store_conn *c, char *errbuf, size_t errlen)
{
    int rc = store_sql_exec(c, "COMMIT", NULL, 0, NULL, errbuf, errlen);
    /* A failed COMMIT on SQLite (busy) leaves the transaction open: end it
     * so the connection is usable again. */
    if (rc && c && c->ops && c->db && c->ops->in_transaction(c->db))
        store_sql_rollback(c);
    return rc;
}

void store_sql_rollback(struct store_conn *c)
{
    if (!c || !c->ops || !c->db || !c->ops->in_transaction(c->db))
        return;
    store_sql_exec(c, "ROLLBACK", NULL, 0, NULL, NULL, 0);
}

int store_sql_end(struct store_conn *c, int rc, char *errbuf, size_t errlen)
{
    if (rc) {
        store_sql_rollback(c);
        return rc;
    }
    return store_sql_commit(c, errbuf, errlen);
}

enum store_sql_dialect store_sql_dialect(const struct store_conn *c)
{
    return c && c->ops && c->ops->dialect == STORE_DIALECT_POSTGRES ? STORE_SQL_POSTGRES
                                                                    : STORE_SQL_SQLITE;
}

/* ---- results ---- */

void store_result_free(struct store_result *r)
{
    if (!r)
        return;
    base_free(r->mem);
    memset(r, 0, sizeof(*r));
}

static const struct store_cell *cell_at(const struct store_result *r, size_t row, size_t col)
{
    if (!r || !r->cells || row >= r->rows || col >= r->cols)
        return NULL;
    return &r->cells[row * r->cols + col];
}

int64_t store_result_int(const struct store_result *r, size_t row, size_t col)
{
    const struct store_cell *c = cell_at(r, row, col);
    if (!c)
        return 0;
    switch (c->type) {
    case STORE_SQL_INT:
        return c->i;
    case STORE_SQL_REAL:
        /* Truncates; out of int64 range (or NaN) gives 0 rather than UB. */
        return c->d > -9223372036854775808.0 && c->d < 9223372036854775808.0 ? (int64_t)c->d : 0;
    case STORE_SQL_TEXT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(c->s, &end, 10);
        if (end == c->s || *end != '\0' || errno == ERANGE)
            return 0;
        return (int64_t)v;
    }
    default:
        return 0;
    }
}

double store_result_real(const struct store_result *r, size_t row, size_t col)
{
    const struct store_cell *c = cell_at(r, row, col);
    if (!c)
        return 0;
    switch (c->type) {
    case STORE_SQL_INT:
        return (double)c->i;
    case STORE_SQL_REAL:
        return c->d;
    case STORE_SQL_TEXT: {
        char *end = NULL;
        double v = strtod(c->s, &end);
        return end == c->s || *end != '\0' ? 0 : v;
    }
    default:
        return 0;
    }
}

const char *store_result_text(const struct store_result *r, size_t row, size_t col)
{
    const struct store_cell *c = cell_at(r, row, col);
    return c && c->type == STORE_SQL_TEXT ? c->s : NULL;
}

bool store_result_is_null(const struct store_result *r, size_t row, size_t col)
{
    const struct store_cell *c = cell_at(r, row, col);
    return !c || c->type == STORE_SQL_NULL;
}

/* ---- synchronous connections (CLI) ---- */

int store_conn_open(const char *url, struct store_conn **out, char *errbuf, size_t errlen)
{
    struct store_conn *c = NULL;
    struct store_db *db = NULL;
    int rc;
    if (out)
        *out = NULL;
    const struct store_backend_ops *ops = store_backend_for_url(url);
    if (!out || !ops) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "store: unsupported URL scheme (want sqlite:// or postgres://)");
        return BASE_ERR_INVALID;
    }
    c = base_calloc(1, sizeof(*c));
    if (!c) {
        rc = BASE_ERR_NOMEM;
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "store: %s", base_strerror(rc));
        goto fail;
    }
    rc = ops->open(url, &db, errbuf, errlen);
    if (rc)
        goto fail;
    rc = ops->migrate(db, errbuf, errlen);
    if (rc)
        goto fail;
    c->ops = ops;
    c->db = db;
    *out = c;
    return 0;
fail:
    if (db)
        ops->close(db);
    base_free(c);
    return rc;
}

void store_conn_close(struct store_conn *c)
{
    if (!c)
        return;
    store_sql_rollback(c);
    if (c->db)
        c->ops->close(c->db);
    base_free(c);
}
