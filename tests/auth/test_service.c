/*
 * Unit tests for the identity service (auth/service with its mirror and
 * verify parts) on a real SQLite store, with a second connection playing
 * the CLI in another process: a token made there works at the next
 * request and a revoked one fails at the next request; a user disabled
 * there loses their session at once and one enabled there can log in at
 * once; requests arriving together share one read of meta.auth_gen; and
 * unknown tokens cost bounded lookups (the head check's cap, the budget,
 * the negative cache). Every scenario runs twice: with the service's own
 * read connection and with its reads on the store thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/miss.h"
#include "auth/service.h"
#include "base/err.h"
#include "store/store_test_pg.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

struct env {
    uv_loop_t loop;
    char dir[256];
    char url[512];
    struct store *st;
    struct auth *a;
    struct store_conn *cli;   /* "another process" */
    bool own_reader;
};

static bool run_until(struct env *e, bool (*pred)(struct env *, void *), void *arg, int timeout_ms)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
    while (!pred(e, arg)) {
        if (uv_hrtime() > deadline)
            return false;
        uv_run(&e->loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    return true;
}

static bool is_loaded(struct env *e, void *arg)
{
    (void)arg;
    struct auth_stats s;
    auth_stats_get(e->a, &s);
    return s.loaded;
}

static bool flag_set(struct env *e, void *arg)
{
    (void)e;
    return *(bool *)arg;
}

static int setup(void **state, bool own_reader)
{
    struct env *e = calloc(1, sizeof(*e));
    char err[256] = "";
    if (!e || uv_loop_init(&e->loop) != 0 || test_mkdtemp(e->dir, sizeof(e->dir)) != 0)
        return -1;
    snprintf(e->url, sizeof(e->url), "sqlite://%s/s.db", e->dir);
    struct store_opts so = {.url = e->url};
    if (store_conn_open(e->url, &e->cli, err, sizeof(err)) != 0 ||
        !(e->st = store_new(&e->loop, &so, err, sizeof(err)))) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    e->own_reader = own_reader;
    struct auth_opts ao = {.jwt_secret = "0123456789abcdef0123456789abcdef-test", .allow_test_login = true,
                           .store_url = own_reader ? e->url : NULL};
    e->a = auth_new(&e->loop, e->st, &ao, err, sizeof(err));
    if (!e->a) {
        fprintf(stderr, "auth_new: %s\n", err);
        return -1;
    }
    auth_start(e->a);
    if (!run_until(e, is_loaded, NULL, 10000))
        return -1;
    *state = e;
    return 0;
}

static int setup_own_reader(void **state)
{
    return setup(state, true);
}

static int setup_store_thread(void **state)
{
    return setup(state, false);
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

static int teardown(void **state)
{
    struct env *e = *state;
    bool auth_closed = false, store_closed = false;
    auth_close(e->a, on_closed, &auth_closed);
    if (!run_until(e, flag_set, &auth_closed, 10000))
        return -1;
    store_close(e->st, on_closed, &store_closed);
    if (!run_until(e, flag_set, &store_closed, 10000))
        return -1;
    store_conn_close(e->cli);
    uv_run(&e->loop, UV_RUN_NOWAIT);
    int rc = uv_loop_close(&e->loop);
    test_rmtree(e->dir);
    free(e);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ---- */

struct answer {
    bool done;
    int status;
    struct auth_principal p;
    char why[128];
};

static void on_answer(void *data, int status, const struct auth_principal *p, const char *why)
{
    struct answer *r = data;
    assert_false(r->done); /* exactly once */
    r->done = true;
    r->status = status;
    r->p = *p;
    snprintf(r->why, sizeof(r->why), "%s", why);
}

static bool answered(struct env *e, void *arg)
{
    (void)e;
    return ((struct answer *)arg)->done;
}

static struct answer authenticate(struct env *e, const char *bearer)
{
    char hdr[1200];
    struct answer r;
    memset(&r, 0, sizeof(r));
    snprintf(hdr, sizeof(hdr), "Bearer %s", bearer);
    assert_int_equal(auth_authenticate_start(e->a, hdr, on_answer, &r), 0);
    assert_true(run_until(e, answered, &r, 5000));
    return r;
}

static struct auth_stats stats(struct env *e)
{
    struct auth_stats s;
    auth_stats_get(e->a, &s);
    return s;
}

/* A token made the way `opshub token create` makes it, on the CLI's connection. */
static void cli_token(struct env *e, const char *id, const char *created_by, char *secret, size_t n)
{
    struct auth_token t;
    memset(&t, 0, sizeof(t));
    assert_int_equal(auth_db_token_generate(AUTH_TOKEN_PREFIX, secret, n, t.prefix, sizeof(t.prefix), t.hash), 0);
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.name, sizeof(t.name), "name-%s", id);
    snprintf(t.created_by, sizeof(t.created_by), "%s", created_by);
    t.role = AUTH_ROLE_ADMIN;
    t.created_at = 1;
    assert_int_equal(auth_db_token_insert(e->cli, &t, NULL, 0), 0);
}

static void random_token(char *out, size_t n)
{
    unsigned char raw[16];
    assert_int_equal(RAND_bytes(raw, sizeof(raw)), 1);
    int w = snprintf(out, n, "%s", AUTH_TOKEN_PREFIX);
    for (size_t i = 0; i < sizeof(raw); i++)
        w += snprintf(out + w, n - (size_t)w, "%02x", raw[i]);
}

/* ---- tests ---- */

static void test_service_token_made_and_revoked_elsewhere_counts_at_once(void **state)
{
    struct env *e = *state;
    char tok[AUTH_TOKEN_MAX];
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof(id), "t_%d", i);
        cli_token(e, id, "cli:test", tok, sizeof(tok));
        uint64_t hits = stats(e).lookup_hits;
        struct answer r = authenticate(e, tok);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.p.kind, AUTH_KIND_TOKEN);
        assert_string_equal(r.p.id, id);
        assert_int_equal(r.p.role, AUTH_ROLE_ADMIN);
        assert_int_equal(stats(e).lookup_hits, hits + 1); /* found by its hash */
        r = authenticate(e, tok);
        assert_int_equal(r.status, 0);
        assert_int_equal(stats(e).lookup_hits, hits + 1); /* now in the mirror */
        assert_int_equal(auth_db_token_revoke(e->cli, id, 5, NULL, 0), 0);
        r = authenticate(e, tok);
        assert_int_equal(r.status, BASE_ERR_INVALID);
        assert_string_equal(r.why, "unknown or revoked API token");
    }
    assert_int_equal(stats(e).stale_decisions, 0);
    /* the synchronous answer on the mirror as it is still exists */
    struct auth_principal p;
    const char *why = NULL;
    assert_int_equal(auth_authenticate(e->a, "Bearer x.y.z", &p, &why), BASE_ERR_INVALID);
    assert_int_equal(auth_authenticate(e->a, NULL, &p, &why), BASE_ERR_NOT_FOUND);
}

struct login_answer {
    bool done;
    int status;
    char access[AUTH_ACCESS_TOKEN_MAX];
    char refresh[AUTH_TOKEN_MAX];
};

static void on_login(void *data, int status, const struct auth_login_result *r)
{
    struct login_answer *l = data;
    l->done = true;
    l->status = status;
    snprintf(l->access, sizeof(l->access), "%s", status == 0 ? r->access_token : "");
    snprintf(l->refresh, sizeof(l->refresh), "%s", status == 0 ? r->refresh_token : "");
}

static bool logged_in(struct env *e, void *arg)
{
    (void)e;
    return ((struct login_answer *)arg)->done;
}

static struct login_answer login(struct env *e, const char *username)
{
    struct login_answer l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(auth_login(e->a, username, "", 0, "127.0.0.1", true, NULL, on_login, &l), 0);
    assert_true(run_until(e, logged_in, &l, 10000));
    return l;
}

static void test_service_user_changed_elsewhere_counts_at_once(void **state)
{
    struct env *e = *state;
    struct auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "u_1");
    snprintf(u.username, sizeof(u.username), "alice");
    snprintf(u.password_hash, sizeof(u.password_hash), "$argon2id$unused");
    u.role = AUTH_ROLE_OPERATOR;
    assert_int_equal(auth_db_user_insert(e->cli, &u, NULL, 0), 0);
    struct login_answer l = login(e, "alice"); /* added elsewhere a moment ago */
    assert_int_equal(l.status, 0);
    struct answer r = authenticate(e, l.access);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.p.kind, AUTH_KIND_USER);
    assert_string_equal(r.p.name, "alice");
    /* `opshub user disable`: the flag and the end of every session */
    u.disabled = true;
    assert_int_equal(auth_db_user_update(e->cli, &u, NULL, 0), 0);
    assert_int_equal(auth_db_session_revoke_user(e->cli, "u_1", 10, NULL, 0), 0);
    r = authenticate(e, l.access);
    assert_int_equal(r.status, BASE_ERR_INVALID);
    assert_int_equal(login(e, "alice").status, BASE_ERR_INVALID);
    u.disabled = false; /* `opshub user enable`, then a login at once */
    assert_int_equal(auth_db_user_update(e->cli, &u, NULL, 0), 0);
    l = login(e, "alice");
    assert_int_equal(l.status, 0);
    assert_int_equal(authenticate(e, l.access).status, 0);
    /* a role change elsewhere applies at the next request */
    u.role = AUTH_ROLE_VIEWER;
    assert_int_equal(auth_db_user_update(e->cli, &u, NULL, 0), 0);
    r = authenticate(e, l.access);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.p.role, AUTH_ROLE_VIEWER);
}

static void test_service_requests_together_share_one_read(void **state)
{
    struct env *e = *state;
    char tok[AUTH_TOKEN_MAX];
    cli_token(e, "t_c", "cli:test", tok, sizeof(tok));
    assert_int_equal(authenticate(e, tok).status, 0);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    enum { N = 50 };
    struct answer r[N];
    memset(r, 0, sizeof(r));
    struct auth_stats s0 = stats(e);
    for (int i = 0; i < N; i++)
        assert_int_equal(auth_authenticate_start(e->a, hdr, on_answer, &r[i]), 0);
    for (int i = 0; i < N; i++) {
        assert_true(run_until(e, answered, &r[i], 5000));
        assert_int_equal(r[i].status, 0);
    }
    struct auth_stats s1 = stats(e);
    assert_int_equal(s1.fresh_waits - s0.fresh_waits, N);
    /* the first starts a read, the other 49 arrived during it and share the next one
     * (one more if the poll timer's read was in flight) */
    assert_true(s1.fresh_reads - s0.fresh_reads <= 3);
    assert_true(s1.fresh_reads - s0.fresh_reads >= 1);
    assert_int_equal(s1.token_auth_ok - s0.token_auth_ok, N);
}

static void test_service_unknown_tokens_cost_bounded_lookups(void **state)
{
    struct env *e = *state;
    char tok[AUTH_MISS_INFLIGHT_MAX + 20][AUTH_TOKEN_MAX], hdr[160];
    struct auth_principal p;
    const char *why = NULL;
    int undecided = 0, busy = 0;
    /* the head check: lookups start, AUTH_MISS_INFLIGHT_MAX at once, the rest 503 */
    for (int i = 0; i < AUTH_MISS_INFLIGHT_MAX + 20; i++) {
        random_token(tok[i], sizeof(tok[i]));
        snprintf(hdr, sizeof(hdr), "Bearer %.63s", tok[i]);
        int rc = auth_check(e->a, hdr, &p, &why);
        undecided += rc == BASE_ERR_UNAVAILABLE;
        busy += rc == BASE_ERR_BUSY;
    }
    assert_int_equal(undecided, AUTH_MISS_INFLIGHT_MAX);
    assert_int_equal(busy, 20);
    uint64_t misses = (uint64_t)AUTH_MISS_INFLIGHT_MAX;
    while (stats(e).lookup_misses < misses)
        uv_run(&e->loop, UV_RUN_ONCE);
    for (int i = 0; i < AUTH_MISS_INFLIGHT_MAX; i++) { /* now known absent: refused before any body */
        snprintf(hdr, sizeof(hdr), "Bearer %.63s", tok[i]);
        assert_int_equal(auth_check(e->a, hdr, &p, &why), BASE_ERR_INVALID);
        assert_int_equal(authenticate(e, tok[i]).status, BASE_ERR_INVALID);
    }
    assert_true(stats(e).negative_hits >= (uint64_t)AUTH_MISS_INFLIGHT_MAX);
    /* the full path: a flood in one go is answered 401 throughout, with at
     * most the budget's lookups; the rest are decided on a fresh mirror */
    enum { N = 100 };
    static char flood[N][AUTH_TOKEN_MAX], hdrs[N][160];
    struct answer r[N];
    memset(r, 0, sizeof(r));
    struct auth_stats s0 = stats(e);
    for (int i = 0; i < N; i++) {
        random_token(flood[i], sizeof(flood[i]));
        snprintf(hdrs[i], sizeof(hdrs[i]), "Bearer %.63s", flood[i]);
        assert_int_equal(auth_authenticate_start(e->a, hdrs[i], on_answer, &r[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        assert_true(run_until(e, answered, &r[i], 5000));
        assert_int_equal(r[i].status, BASE_ERR_INVALID);
    }
    struct auth_stats s1 = stats(e);
    uint64_t looked = (s1.lookup_hits + s1.lookup_misses + s1.lookup_errors) -
                      (s0.lookup_hits + s0.lookup_misses + s0.lookup_errors);
    assert_true(looked <= AUTH_MISS_INFLIGHT_MAX); /* the rest of N could not join a slot */
    assert_int_equal(looked + (s1.lookup_refused - s0.lookup_refused), N);
    assert_int_equal(s1.token_auth_fail - s0.token_auth_fail, N);
}

/* ---- session changes and their audit rows ---- */

static int64_t count(struct env *e, const char *sql)
{
    struct store_result r = {0};
    assert_int_equal(store_sql_exec(e->cli, sql, NULL, 0, &r, NULL, 0), 0);
    int64_t n = store_result_int(&r, 0, 0);
    store_result_free(&r);
    return n;
}

static void refuse_audit_rows(struct env *e, bool refuse)
{
    const char *sql = refuse ? "CREATE TRIGGER test_refuse BEFORE INSERT ON audit_log"
                               " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                             : "DROP TRIGGER test_refuse";
    assert_int_equal(store_sql_exec(e->cli, sql, NULL, 0, NULL, NULL, 0), 0);
}

static struct auth_audit audit_row(const char *action, const char *target)
{
    struct auth_audit row;
    memset(&row, 0, sizeof(row));
    row.ts = 1;
    row.id = 42; /* the service clears it, and sets it only when the row commits */
    auth_audit_actor(&row, NULL);
    snprintf(row.action, sizeof(row.action), "%s", action);
    snprintf(row.target, sizeof(row.target), "%s", target);
    snprintf(row.result, sizeof(row.result), "ok");
    row.status = 200;
    return row;
}

static struct login_answer login_audited(struct env *e, const char *username, struct auth_audit *row)
{
    struct login_answer l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(auth_login(e->a, username, "", 0, "127.0.0.1", true, row, on_login, &l), 0);
    assert_true(run_until(e, logged_in, &l, 10000));
    return l;
}

static struct login_answer refresh_audited(struct env *e, const char *refresh, struct auth_audit *row)
{
    struct login_answer l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(auth_refresh(e->a, refresh, "127.0.0.1", row, on_login, &l), 0);
    assert_true(run_until(e, logged_in, &l, 10000));
    return l;
}

struct done_answer {
    bool done;
    int status;
};

static void on_done(void *data, int status)
{
    struct done_answer *d = data;
    d->done = true;
    d->status = status;
}

static bool done_set(struct env *e, void *arg)
{
    (void)e;
    return ((struct done_answer *)arg)->done;
}

static int logout_audited(struct env *e, const struct auth_principal *p, struct auth_audit *row)
{
    struct done_answer d = {0};
    assert_int_equal(auth_logout(e->a, p, row, on_done, &d), 0);
    assert_true(run_until(e, done_set, &d, 10000));
    return d.status;
}

static void test_service_session_changes_commit_with_their_audit_rows(void **state)
{
    struct env *e = *state;
    struct auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "u_1");
    snprintf(u.username, sizeof(u.username), "alice");
    snprintf(u.password_hash, sizeof(u.password_hash), "$argon2id$unused");
    u.role = AUTH_ROLE_OPERATOR;
    assert_int_equal(auth_db_user_insert(e->cli, &u, NULL, 0), 0);
    /* login: no row, no session */
    struct auth_audit row = audit_row("auth.login", "user alice");
    refuse_audit_rows(e, true);
    assert_int_equal(login_audited(e, "alice", &row).status, BASE_ERR_IO);
    assert_int_equal(row.id, 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM sessions"), 0);
    refuse_audit_rows(e, false);
    struct login_answer l = login_audited(e, "alice", &row);
    assert_int_equal(l.status, 0);
    assert_true(row.id > 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM sessions"), 1);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login'"
                              " AND target = 'user alice'"), 1);
    /* refresh: no row, no rotation */
    row = audit_row("auth.refresh", "");
    refuse_audit_rows(e, true);
    assert_int_equal(refresh_audited(e, l.refresh, &row).status, BASE_ERR_IO);
    assert_int_equal(row.id, 0);
    refuse_audit_rows(e, false);
    struct login_answer r = refresh_audited(e, l.refresh, &row); /* still the current one */
    assert_int_equal(r.status, 0);
    assert_true(row.id > 0);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.refresh'"
                              " AND target = 'user alice'"), 1);
    /* logout: no row, the session goes on */
    struct answer who = authenticate(e, r.access);
    assert_int_equal(who.status, 0);
    row = audit_row("auth.logout", "session");
    refuse_audit_rows(e, true);
    assert_int_equal(logout_audited(e, &who.p, &row), BASE_ERR_IO);
    assert_int_equal(row.id, 0);
    refuse_audit_rows(e, false);
    assert_int_equal(authenticate(e, r.access).status, 0);
    assert_int_equal(logout_audited(e, &who.p, &row), 0);
    assert_true(row.id > 0);
    assert_int_equal(authenticate(e, r.access).status, BASE_ERR_INVALID);
    assert_int_equal(count(e, "SELECT COUNT(*) FROM audit_log WHERE action = 'auth.logout'"), 1);
}

#define BOTH(t) cmocka_unit_test_setup_teardown(t, setup_own_reader, teardown), \
                cmocka_unit_test_setup_teardown(t, setup_store_thread, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_service_token_made_and_revoked_elsewhere_counts_at_once),
        BOTH(test_service_user_changed_elsewhere_counts_at_once),
        BOTH(test_service_requests_together_share_one_read),
        BOTH(test_service_unknown_tokens_cost_bounded_lookups),
        BOTH(test_service_session_changes_commit_with_their_audit_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
