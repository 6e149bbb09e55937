/*
 * Unit tests for auth/db against a real SQLite store (store_conn_open on a
 * temp file): users (duplicates, updates, admin count), tokens (revoke
 * once, snapshot excludes revoked and expired), sessions (rotation only
 * from the current refresh hash, revoke per user), meta.auth_gen bumps,
 * and the audit log (filters, prefix match with LIKE wildcards escaped,
 * pages, append-only trigger, retention purge in chunks); the daemon's
 * token lookup by hash (with meta.auth_gen and the owner in one read) and
 * the rows a login writes or checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth/db.h"
#include "base/alloc.h"
#include "base/err.h"
#include "store/store_test_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void user(struct store_conn *c, const char *id, const char *name, enum auth_role role)
{
    struct auth_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", id);
    snprintf(u.username, sizeof(u.username), "%s", name);
    snprintf(u.password_hash, sizeof(u.password_hash), "$argon2id$fake");
    u.role = role;
    u.created_at = u.updated_at = 1;
    assert_int_equal(auth_db_user_insert(c, &u, NULL, 0), 0);
}

static void test_db_users_tokens_sessions_and_gen(void **state)
{
    struct fx *f = *state;
    int64_t g0 = 0, g = 0;
    assert_int_equal(auth_db_gen(f->c, &g0, NULL, 0), 0);
    user(f->c, "u_1", "alice", AUTH_ROLE_ADMIN);
    user(f->c, "u_2", "bob", AUTH_ROLE_VIEWER);
    struct auth_user dup;
    memset(&dup, 0, sizeof(dup));
    snprintf(dup.id, sizeof(dup.id), "u_3");
    snprintf(dup.username, sizeof(dup.username), "alice");
    snprintf(dup.password_hash, sizeof(dup.password_hash), "x");
    dup.role = AUTH_ROLE_VIEWER;
    assert_int_equal(auth_db_user_insert(f->c, &dup, NULL, 0), BASE_ERR_EXISTS);
    int64_t admins = 0;
    assert_int_equal(auth_db_user_count_admins(f->c, &admins, NULL, 0), 0);
    assert_int_equal(admins, 1);

    struct auth_token t;
    memset(&t, 0, sizeof(t));
    char secret[AUTH_TOKEN_MAX];
    assert_int_equal(auth_db_token_generate(AUTH_TOKEN_PREFIX, secret, sizeof(secret), t.prefix, sizeof(t.prefix),
                                            t.hash), 0);
    assert_int_equal(strlen(secret), 7 + 43);
    assert_int_equal(strncmp(secret, t.prefix, strlen(t.prefix)), 0);
    snprintf(t.id, sizeof(t.id), "t_1");
    snprintf(t.name, sizeof(t.name), "ci");
    snprintf(t.created_by, sizeof(t.created_by), "test");
    t.role = AUTH_ROLE_VIEWER;
    t.created_at = 1;
    assert_int_equal(auth_db_token_insert(f->c, &t, NULL, 0), 0);
    snprintf(t.id, sizeof(t.id), "t_2");
    assert_int_equal(auth_db_token_insert(f->c, &t, NULL, 0), BASE_ERR_EXISTS); /* same hash */
    assert_int_equal(auth_db_token_generate(AUTH_TOKEN_PREFIX, secret, sizeof(secret), t.prefix, sizeof(t.prefix),
                                            t.hash), 0);
    t.expires_at = 5; /* already expired at now = 10 */
    assert_int_equal(auth_db_token_insert(f->c, &t, NULL, 0), 0);
    assert_int_equal(auth_db_token_revoke(f->c, "t_1", 9, NULL, 0), 0);
    assert_int_equal(auth_db_token_revoke(f->c, "t_1", 9, NULL, 0), BASE_ERR_NOT_FOUND);

    struct auth_session s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "s_1");
    snprintf(s.user_id, sizeof(s.user_id), "u_2");
    snprintf(s.refresh_hash, sizeof(s.refresh_hash), "h1");
    s.created_at = s.refreshed_at = 1;
    s.expires_at = 1000;
    assert_int_equal(auth_db_session_insert(f->c, &s, NULL, 0), 0);
    assert_int_equal(auth_db_session_rotate(f->c, "s_1", "wrong", "h2", 10, 2000, NULL, 0), BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_db_session_rotate(f->c, "s_1", "h1", "h2", 10, 2000, NULL, 0), 0);
    assert_int_equal(auth_db_session_rotate(f->c, "s_1", "h1", "h3", 10, 2000, NULL, 0), BASE_ERR_NOT_FOUND);
    /* Every replaced hash stays known with its session, not only the last. */
    assert_int_equal(auth_db_session_rotate(f->c, "s_1", "h2", "h3", 11, 2000, NULL, 0), 0);
    assert_int_equal(auth_db_session_rotate(f->c, "s_1", "h3", "h4", 12, 2000, NULL, 0), 0);
    char sid[AUTH_ID_MAX] = "";
    assert_int_equal(auth_db_session_by_used_refresh(f->c, "h1", sid, sizeof(sid), NULL, 0), 0);
    assert_string_equal(sid, "s_1");
    assert_int_equal(auth_db_session_by_used_refresh(f->c, "h3", sid, sizeof(sid), NULL, 0), 0);
    assert_int_equal(auth_db_session_by_used_refresh(f->c, "h4", sid, sizeof(sid), NULL, 0), BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_db_session_by_used_refresh(f->c, "never", sid, sizeof(sid), NULL, 0), BASE_ERR_NOT_FOUND);

    struct auth_snapshot snap;
    assert_int_equal(auth_db_load(f->c, 10, &snap, NULL, 0), 0);
    assert_int_equal(snap.n_users, 2);
    assert_string_equal(snap.users[0].username, "alice"); /* by username */
    assert_int_equal(snap.n_tokens, 0);                   /* one revoked, one expired */
    assert_int_equal(snap.n_sessions, 1);
    assert_string_equal(snap.sessions[0].refresh_hash, "h4");
    assert_string_equal(snap.sessions[0].prev_hash, "h3");
    auth_snapshot_free(&snap);
    for (int i = 2; i <= 5; i++) { /* five active sessions of u_2 in all, s_1 the oldest */
        memset(&s, 0, sizeof(s));
        snprintf(s.id, sizeof(s.id), "s_%d", i);
        snprintf(s.user_id, sizeof(s.user_id), "u_2");
        snprintf(s.refresh_hash, sizeof(s.refresh_hash), "hh%d", i);
        s.created_at = s.refreshed_at = 1 + i;
        s.expires_at = 1000;
        assert_int_equal(auth_db_session_insert(f->c, &s, NULL, 0), 0);
    }
    assert_int_equal(auth_db_session_cap(f->c, "u_2", 3, 15, NULL, 0), 0);
    assert_int_equal(auth_db_load(f->c, 16, &snap, NULL, 0), 0);
    assert_int_equal(snap.n_sessions, 3);
    for (size_t i = 0; i < snap.n_sessions; i++) /* the three newest stay */
        assert_true(strcmp(snap.sessions[i].id, "s_3") == 0 || strcmp(snap.sessions[i].id, "s_4") == 0 ||
                    strcmp(snap.sessions[i].id, "s_5") == 0);
    auth_snapshot_free(&snap);
    assert_int_equal(auth_db_session_revoke_user(f->c, "u_2", 20, NULL, 0), 0);
    assert_int_equal(auth_db_load(f->c, 30, &snap, NULL, 0), 0);
    assert_int_equal(snap.n_sessions, 0);
    auth_snapshot_free(&snap);
    assert_int_equal(auth_db_gen(f->c, &g, NULL, 0), 0);
    assert_true(g >= g0 + 7); /* every change above bumped it */
}

static void audit(struct store_conn *c, int64_t ts, const char *actor, const char *action)
{
    struct auth_audit a;
    memset(&a, 0, sizeof(a));
    a.ts = ts;
    snprintf(a.actor, sizeof(a.actor), "%s", actor);
    snprintf(a.actor_kind, sizeof(a.actor_kind), "user");
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.result, sizeof(a.result), "ok");
    assert_int_equal(auth_db_audit_append(c, &a, NULL, 0), 0);
    assert_true(a.id > 0);
}

static void test_db_audit_filters_pages_trigger_and_purge(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 10; i++)
        audit(f->c, i * 100, i % 2 ? "alice" : "bob", i <= 5 ? "user.create" : "token.revoke");
    audit(f->c, 1100, "eve", "user_create"); /* '_' must not act as a LIKE wildcard */
    struct auth_audit *rows = NULL;
    size_t n = 0;
    bool more = false;
    struct auth_audit_query q = {.limit = 100};
    q.action = "user.*";
    assert_int_equal(auth_db_audit_query(f->c, &q, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(rows[i].action, "user.create");
    base_free(rows);
    q.action = NULL;
    q.actor = "bob";
    q.from_ms = 300;
    q.to_ms = 800;
    assert_int_equal(auth_db_audit_query(f->c, &q, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 3); /* 400, 600, 800 */
    assert_int_equal(rows[0].ts, 800); /* newest first */
    base_free(rows);
    struct auth_audit_query page = {.limit = 4};
    assert_int_equal(auth_db_audit_query(f->c, &page, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 4);
    assert_true(more);
    page.before_id = rows[3].id;
    base_free(rows);
    assert_int_equal(auth_db_audit_query(f->c, &page, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 4);
    assert_true(rows[0].id < page.before_id);
    base_free(rows);
    char err[256] = "";
    assert_int_not_equal(store_sql_exec(f->c, "UPDATE audit_log SET actor = 'mallory'", NULL, 0, NULL, err,
                                        sizeof(err)), 0);
    assert_non_null(strstr(err, "append-only"));
    uint64_t deleted = 0;
    assert_int_equal(auth_db_audit_purge(f->c, 650, 2, &deleted, NULL, 0), 0);
    assert_int_equal(deleted, 2); /* chunked */
    assert_int_equal(auth_db_audit_purge(f->c, 650, 100, &deleted, NULL, 0), 0);
    assert_int_equal(deleted, 4); /* 100..600 gone in total */
    struct auth_audit_query all = {.limit = 100};
    assert_int_equal(auth_db_audit_query(f->c, &all, &rows, &n, &more, NULL, 0), 0);
    assert_int_equal(n, 5);
    assert_int_equal(rows[n - 1].ts, 700);
    base_free(rows);
}

static void token(struct store_conn *c, const char *id, const char *created_by, char *hash_out)
{
    struct auth_token t;
    char secret[AUTH_TOKEN_MAX];
    memset(&t, 0, sizeof(t));
    assert_int_equal(auth_db_token_generate(AUTH_TOKEN_PREFIX, secret, sizeof(secret), t.prefix, sizeof(t.prefix),
                                            t.hash), 0);
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.name, sizeof(t.name), "n-%s", id);
    snprintf(t.created_by, sizeof(t.created_by), "%s", created_by);
    t.role = AUTH_ROLE_OPERATOR;
    t.created_at = 7;
    t.expires_at = 99;
    assert_int_equal(auth_db_token_insert(c, &t, NULL, 0), 0);
    snprintf(hash_out, AUTH_HASH_HEX, "%s", t.hash);
}

static void test_db_token_lookup_reads_gen_token_and_owner(void **state)
{
    struct fx *f = *state;
    struct auth_token_lookup l;
    int64_t gen = 0;
    char absent[AUTH_HASH_HEX];
    auth_db_sha256_hex("opshub_nobody", 13, absent);
    assert_int_equal(auth_db_token_lookup(f->c, absent, &l, NULL, 0), 0);
    assert_false(l.found);
    assert_int_equal(auth_db_gen(f->c, &gen, NULL, 0), 0);
    assert_int_equal(l.gen, gen);

    char h_cli[AUTH_HASH_HEX], h_alice[AUTH_HASH_HEX], h_ghost[AUTH_HASH_HEX];
    user(f->c, "u_1", "alice", AUTH_ROLE_VIEWER);
    token(f->c, "t_cli", "cli:root", h_cli);
    token(f->c, "t_alice", "user:alice", h_alice);
    token(f->c, "t_ghost", "user:ghost", h_ghost);
    assert_int_equal(auth_db_gen(f->c, &gen, NULL, 0), 0);

    assert_int_equal(auth_db_token_lookup(f->c, h_cli, &l, NULL, 0), 0);
    assert_true(l.found);
    assert_int_equal(l.gen, gen); /* the insert's bump is visible in the same read */
    assert_string_equal(l.token.id, "t_cli");
    assert_string_equal(l.token.name, "n-t_cli");
    assert_string_equal(l.token.hash, h_cli);
    assert_int_equal(l.token.role, AUTH_ROLE_OPERATOR);
    assert_int_equal(l.token.created_at, 7);
    assert_int_equal(l.token.expires_at, 99);
    assert_int_equal(l.token.revoked_at, 0);
    assert_false(l.owner_found); /* not made by a user */

    assert_int_equal(auth_db_token_lookup(f->c, h_alice, &l, NULL, 0), 0);
    assert_true(l.found && l.owner_found);
    assert_false(l.owner_disabled);
    assert_int_equal(l.owner_role, AUTH_ROLE_VIEWER);
    struct auth_user u;
    assert_int_equal(auth_db_user_get(f->c, "u_1", &u, NULL, 0), 0);
    u.disabled = true;
    assert_int_equal(auth_db_user_update(f->c, &u, NULL, 0), 0);
    assert_int_equal(auth_db_token_lookup(f->c, h_alice, &l, NULL, 0), 0);
    assert_true(l.owner_found && l.owner_disabled);
    assert_true(l.gen > gen);

    assert_int_equal(auth_db_token_lookup(f->c, h_ghost, &l, NULL, 0), 0);
    assert_true(l.found);
    assert_false(l.owner_found); /* "user:ghost" names nobody */

    assert_int_equal(auth_db_token_revoke(f->c, "t_cli", 50, NULL, 0), 0);
    assert_int_equal(auth_db_token_lookup(f->c, h_cli, &l, NULL, 0), 0);
    assert_true(l.found); /* revoked rows are found: the caller refuses them */
    assert_int_equal(l.token.revoked_at, 50);

    /* only an exact hash matches: no pattern, no prefix */
    char partial[AUTH_HASH_HEX];
    snprintf(partial, sizeof(partial), "%.10s%%", h_alice);
    assert_int_equal(auth_db_token_lookup(f->c, partial, &l, NULL, 0), 0);
    assert_false(l.found);
    assert_int_equal(auth_db_token_lookup(f->c, "", &l, NULL, 0), 0);
    assert_false(l.found);
}

static void test_db_login_rows(void **state)
{
    struct fx *f = *state;
    user(f->c, "u_1", "alice", AUTH_ROLE_ADMIN);
    char err[256] = "";
    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(auth_db_user_lock_password(f->c, "u_1", "$argon2id$fake", err, sizeof(err)), 0);
    assert_int_equal(auth_db_user_lock_password(f->c, "u_1", "$argon2id$other", err, sizeof(err)),
                     BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_db_user_lock_password(f->c, "u_1", NULL, err, sizeof(err)), BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_db_user_lock_password(f->c, "u_9", "$argon2id$fake", err, sizeof(err)),
                     BASE_ERR_NOT_FOUND);
    assert_int_equal(store_sql_end(f->c, 0, err, sizeof(err)), 0);

    int64_t g0 = 0, g1 = 0;
    assert_int_equal(auth_db_gen(f->c, &g0, NULL, 0), 0);
    assert_int_equal(auth_db_user_logged_in(f->c, "u_1", 1234, NULL, 0), 0);
    assert_int_equal(auth_db_user_logged_in(f->c, "u_9", 1234, NULL, 0), BASE_ERR_NOT_FOUND);
    assert_int_equal(auth_db_gen(f->c, &g1, NULL, 0), 0);
    assert_int_equal(g1, g0); /* nothing the mirror decides on */
    struct auth_user u;
    assert_int_equal(auth_db_user_get(f->c, "u_1", &u, NULL, 0), 0);
    assert_int_equal(u.last_login_at, 1234);

    u.disabled = true; /* a disabled user's password no longer opens a session */
    assert_int_equal(auth_db_user_update(f->c, &u, NULL, 0), 0);
    assert_int_equal(store_sql_begin(f->c, err, sizeof(err)), 0);
    assert_int_equal(auth_db_user_lock_password(f->c, "u_1", "$argon2id$fake", err, sizeof(err)),
                     BASE_ERR_NOT_FOUND);
    store_sql_rollback(f->c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_db_users_tokens_sessions_and_gen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_audit_filters_pages_trigger_and_purge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_token_lookup_reads_gen_token_and_owner, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_db_login_rows, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
