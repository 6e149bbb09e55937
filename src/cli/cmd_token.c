/*
 * cli/cmd_token: `opshub token create|list|revoke` — API tokens for
 * machines in the database `serve` uses (auth/db). A new token is printed
 * once, alone on stdout (TOKEN=$(opshub token create ...) works); only its
 * SHA-256 and a short prefix are stored. Each change is one transaction with
 * its audit row. Never prints a stored hash, and never echoes a token given
 * on the command line (revoke accepts one) in a message or an audit row.
 */
#include "cli/cli.h"

#include "auth/db.h"
#include "base/alloc.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/time.h"
#include "store/sql.h"

#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_NAME_MAX 64
#define EXPIRES_MIN_MS (3600LL * 1000)
#define EXPIRES_MAX_MS (3650LL * 86400 * 1000)
#define PREFIX_LEN 14 /* characters of the token kept as its prefix (auth/db) */

struct opts {
    const char *who; /* "opshub token create" */
    const char *config, *data, *role, *name, *expires;
    bool json, all;
    const char *pos[1];
};

struct sub {
    const char *name;
    int (*run)(const struct opts *o);
    int n_pos;
    const char *opts; /* letters of the subcommand's own options */
    const char *synopsis;
    const char *about;
};

static int run_create(const struct opts *o);
static int run_list(const struct opts *o);
static int run_revoke(const struct opts *o);

static const struct sub subs[] = {
    {"create", run_create, 0, "rne", "create --role ROLE --name NAME [--expires DURATION]",
     "Creates an API token and prints it once on stdout (a note goes to stderr), so\n"
     "TOKEN=$(opshub token create ...) works. Only its SHA-256 is stored: it cannot be\n"
     "shown again. Send it as 'Authorization: Bearer TOKEN'.\n"},
    {"list", run_list, 0, "a", "list [--all]",
     "Lists the tokens (newest first): id, name, prefix, role, times and status.\n"
     "Revoked tokens only with --all. Never prints a token or its hash.\n"},
    {"revoke", run_revoke, 1, "", "revoke ID|PREFIX",
     "Revokes a token at once, by its id (t_...) or by its prefix as shown by\n"
     "'token list' (opshub_ and at least one more character; must match one token).\n"},
};
#define N_SUBS (sizeof(subs) / sizeof(subs[0]))

static const char common_help[] =
    "  -c, --config FILE   configuration file (default ./opshub.yaml if it exists)\n"
    "  -d, --data DIR      data directory of the embedded SQLite store (default ./data)\n"
    "  -j, --json          print JSON\n"
    "  -h, --help          this help\n\n"
    "The database is the one `opshub serve` uses with the same --config/--data:\n"
    "storage.url, else DATABASE_URL, else sqlite://DIR/opshub.db.\n"
    "Exit 0 ok, 1 runtime failure (database unreachable, not found, conflict),\n"
    "2 usage or invalid input.\n";

static void usage_main(FILE *out)
{
    fprintf(out, "usage: opshub token SUBCOMMAND [OPTIONS]\n\n"
                 "Manages API tokens for machines (roles: viewer, operator, admin).\n\nsubcommands:\n");
    for (size_t i = 0; i < N_SUBS; i++)
        fprintf(out, "  opshub token %s\n", subs[i].synopsis);
    fprintf(out, "\noptions of every subcommand:\n%s\nRun 'opshub token SUBCOMMAND --help' for details.\n",
            common_help);
}

static void usage_sub(const struct sub *s, FILE *out)
{
    fprintf(out, "usage: opshub token %s [--config FILE] [--data DIR] [--json]\n\n%s\n", s->synopsis,
            s->about);
    if (strchr(s->opts, 'r'))
        fprintf(out, "  -r, --role ROLE     viewer, operator or admin (required)\n");
    if (strchr(s->opts, 'n'))
        fprintf(out,
                "  -n, --name NAME     what the token is for: 1 to 64 printable characters (required)\n");
    if (strchr(s->opts, 'e'))
        fprintf(out, "  -e, --expires DUR   lifetime from 1h to 3650d (90d, 12h, 1y); default never\n");
    if (strchr(s->opts, 'a'))
        fprintf(out, "  -a, --all           include revoked tokens\n");
    fputs(common_help, out);
}

/* ---- output ---- */

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return ms ? json_string(base_time_format_iso8601(ms, buf, sizeof(buf))) : json_null();
}

static const char *token_status(const struct auth_token *t, int64_t now)
{
    return t->revoked_at ? "revoked" : (t->expires_at && t->expires_at <= now) ? "expired" : "active";
}

static json_t *token_json(const struct auth_token *t, int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", t->id, "name", t->name,
                     "prefix", t->prefix, "role", auth_role_name(t->role), "created_by", t->created_by,
                     "created_at", time_json(t->created_at), "expires_at", time_json(t->expires_at),
                     "last_used_at", time_json(t->last_used_at), "revoked_at", time_json(t->revoked_at),
                     "status", token_status(t, now));
}

static int print_json(const char *who, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", who);
        return 1;
    }
    printf("%s\n", text);
    base_free(text); /* jansson allocates through base/alloc (main.c) */
    return 0;
}

static int db_error(const char *who, const char *what, int rc, const char *err)
{
    fprintf(stderr, "%s: %s: %s\n", who, what, err && err[0] ? err : base_strerror(rc));
    return 1;
}

static void time_text(int64_t ms, const char *none, char *buf, size_t n)
{
    if (ms)
        base_time_format_iso8601(ms, buf, n);
    else
        snprintf(buf, n, "%s", none);
}

/* ---- create ---- */

static int check_name(const char *who, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!s) {
        fprintf(stderr, "%s: name: missing (--name NAME)\n", who);
        return 2;
    }
    if (n == 0 || n > TOKEN_NAME_MAX) {
        fprintf(stderr, "%s: name: must be 1 to %d characters (got %zu)\n", who, TOKEN_NAME_MAX, n);
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] >= 0x7f) {
            fprintf(stderr, "%s: name: may contain only printable ASCII characters (byte %zu is not)\n", who,
                    i + 1);
            return 2;
        }
    return 0;
}

static int parse_expires(const char *who, const char *s, int64_t *ms)
{
    char shown[80];
    *ms = 0;
    if (!s || strcmp(s, "never") == 0)
        return 0;
    if (base_duration_parse(s, strlen(s), ms) != 0) {
        fprintf(stderr, "%s: expires: '%s' is not a duration (like 12h, 90d, 1y)\n", who,
                cli_printable(s, shown, sizeof(shown)));
        return 2;
    }
    if (*ms < EXPIRES_MIN_MS || *ms > EXPIRES_MAX_MS) {
        fprintf(stderr, "%s: expires: '%s' is outside 1h..3650d\n", who,
                cli_printable(s, shown, sizeof(shown)));
        return 2;
    }
    return 0;
}

static int parse_role(const char *who, const char *s, enum auth_role *role)
{
    char shown[80];
    if (!s) {
        fprintf(stderr, "%s: role: missing (--role viewer|operator|admin)\n", who);
        return 2;
    }
    if (!auth_role_parse(s, role)) {
        fprintf(stderr, "%s: role: '%s' is not one of viewer, operator, admin\n", who,
                cli_printable(s, shown, sizeof(shown)));
        return 2;
    }
    return 0;
}

/* The JSON of a new token, the token first. The token never enters a
 * jansson object (which would free it unwiped): it is spliced into the text. */
static int print_created_json(const char *who, const struct auth_token *t, const char *token)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", t->id, "name", t->name, "prefix",
                            t->prefix, "role", auth_role_name(t->role), "created_at",
                            time_json(t->created_at), "expires_at", time_json(t->expires_at));
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text || strncmp(text, "{\n", 2) != 0) {
        base_free(text);
        fprintf(stderr, "%s: out of memory\n", who);
        return 1;
    }
    /* base64url and the scheme need no JSON escaping */
    printf("{\n  \"token\": \"%s\",\n%s\n", token, text + 2);
    base_free(text); /* jansson allocates through base/alloc (main.c) */
    return 0;
}

static int run_create(const struct opts *o)
{
    struct store_conn *c = NULL;
    struct auth_token t;
    char token[AUTH_TOKEN_MAX] = "", err[512] = "", target[AUTH_TEXT_MAX], detail[AUTH_TEXT_MAX], when[40];
    int64_t ttl = 0;
    int rc, code;
    memset(&t, 0, sizeof(t));
    if ((code = parse_role(o->who, o->role, &t.role)) != 0 || (code = check_name(o->who, o->name)) != 0 ||
        (code = parse_expires(o->who, o->expires, &ttl)) != 0)
        return code;
    if ((code = cli_store_open(o->who, o->config, o->data, &c)) != 0)
        return code;
    if ((rc = auth_db_new_id('t', t.id, sizeof(t.id))) != 0 ||
        (rc = auth_db_token_generate(AUTH_TOKEN_PREFIX, token, sizeof(token), t.prefix, sizeof(t.prefix),
                                     t.hash)) != 0) {
        code = db_error(o->who, "cannot make a token", rc, NULL);
        goto out;
    }
    snprintf(t.name, sizeof(t.name), "%s", o->name);
    cli_actor(t.created_by, sizeof(t.created_by));
    t.created_at = base_time_now_ms();
    t.expires_at = ttl ? t.created_at + ttl : 0;
    time_text(t.expires_at, "never", when, sizeof(when));
    snprintf(target, sizeof(target), "%s (%s)", t.id, t.name);
    snprintf(detail, sizeof(detail), "role=%s expires=%s prefix=%s", auth_role_name(t.role), when, t.prefix);
    if ((rc = store_sql_begin(c, err, sizeof(err))) != 0 ||
        (rc = auth_db_token_insert(c, &t, err, sizeof(err))) != 0 ||
        (rc = cli_audit(c, "token.create", target, "ok", 0, detail, err, sizeof(err))) != 0 ||
        (rc = store_sql_commit(c, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        code = db_error(o->who, "cannot create the token", rc, err);
        goto out;
    }
    if (o->json)
        code = print_created_json(o->who, &t, token);
    else
        printf("%s\n", token);
    fflush(stdout);
    fprintf(stderr,
            "token '%s' created (id %s, role %s, expires %s)\nstore it now: it cannot be shown again\n",
            t.name, t.id, auth_role_name(t.role), when);
out:
    OPENSSL_cleanse(token, sizeof(token));
    store_conn_close(c);
    return code;
}

/* ---- list ---- */

static void print_table(const struct auth_token *tokens, size_t n, int64_t now)
{
    int wn = 4;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(tokens[i].name) > wn)
            wn = (int)strlen(tokens[i].name);
    printf("%-26s  %-*s  %-14s  %-8s  %-24s  %-24s  %-24s  %s\n", "ID", wn, "NAME", "PREFIX", "ROLE",
           "CREATED", "EXPIRES", "LAST_USED", "STATUS");
    for (size_t i = 0; i < n; i++) {
        const struct auth_token *t = &tokens[i];
        char created[40], expires[40], used[40];
        time_text(t->created_at, "-", created, sizeof(created));
        time_text(t->expires_at, "never", expires, sizeof(expires));
        time_text(t->last_used_at, "never", used, sizeof(used));
        printf("%-26s  %-*s  %-14s  %-8s  %-24s  %-24s  %-24s  %s\n", t->id, wn, t->name, t->prefix,
               auth_role_name(t->role), created, expires, used, token_status(t, now));
    }
}

/* Every token (flag as in auth_list_opts: 0 not revoked, -1 all), newest
 * first, in *out (base_malloc'd, hashes kept only if keep_hash). */
static int load_tokens(struct store_conn *c, int flag, bool keep_hash, struct auth_token **out, size_t *n_out,
                       char *err, size_t errlen)
{
    struct auth_token *all = NULL, *page = NULL;
    size_t n_all = 0, cap = 0;
    char cursor[32 + AUTH_ID_MAX];
    struct auth_list_opts lo = {.cursor = NULL, .limit = 1000, .role = NULL, .flag = flag};
    int rc;
    for (;;) {
        size_t n = 0;
        bool more = false;
        if ((rc = auth_db_token_list(c, &lo, &page, &n, &more, err, errlen)) != 0)
            goto fail;
        if (n_all + n > cap) {
            size_t ncap = cap ? cap * 2 : 64;
            while (ncap < n_all + n)
                ncap *= 2;
            struct auth_token *grown = base_realloc(all, ncap * sizeof(*all));
            if (!grown) {
                rc = BASE_ERR_NOMEM;
                goto fail;
            }
            all = grown;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            all[n_all] = page[i];
            if (!keep_hash)
                memset(all[n_all].hash, 0, sizeof(all[n_all].hash));
            n_all++;
        }
        base_free(page);
        page = NULL;
        if (!more || n == 0)
            break;
        snprintf(cursor, sizeof(cursor), "%lld:%s", (long long)all[n_all - 1].created_at, all[n_all - 1].id);
        lo.cursor = cursor;
    }
    *out = all;
    *n_out = n_all;
    return 0;
fail:
    base_free(page);
    base_free(all);
    *out = NULL;
    *n_out = 0;
    return rc;
}

static int run_list(const struct opts *o)
{
    struct store_conn *c = NULL;
    struct auth_token *all = NULL;
    size_t n = 0;
    char err[512] = "";
    int code = cli_store_open_existing(o->who, o->config, o->data, &c);
    if (code)
        return code;
    int rc = load_tokens(c, o->all ? -1 : 0, false, &all, &n, err, sizeof(err));
    if (rc) {
        code = db_error(o->who, "cannot list the tokens", rc, err);
        goto out;
    }
    int64_t now = base_time_now_ms();
    if (o->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            if (json_array_append_new(list, token_json(&all[i], now)) != 0) {
                json_decref(list);
                list = NULL;
            }
        code = print_json(o->who, list ? json_pack("{s:o}", "tokens", list) : NULL);
    } else {
        print_table(all, n, now);
    }
out:
    base_free(all);
    store_conn_close(c);
    return code;
}

/* ---- revoke ---- */

static bool token_matches(const struct auth_token *t, const char *arg, size_t len, bool whole,
                          const char *hash)
{
    return whole ? CRYPTO_memcmp(t->hash, hash, AUTH_HASH_HEX) == 0 : strncmp(t->prefix, arg, len) == 0;
}

/* Finds the one token `arg` names: an id, a prefix of a stored prefix, or
 * (compared by hash, never shown) a whole token. A prefix matching one
 * token that is not revoked names it even if revoked ones match too. 0 with
 * *t filled, BASE_ERR_NOT_FOUND, BASE_ERR_EXISTS (ambiguous: the ids of the
 * candidates are printed) or a database error. */
static int find_token(const struct opts *o, struct store_conn *c, const char *arg, struct auth_token *t,
                      char *err, size_t errlen)
{
    if (strncmp(arg, "t_", 2) == 0)
        return auth_db_token_get(c, arg, t, err, errlen);
    struct auth_token *all = NULL;
    size_t n = 0, hits = 0, active = 0, len = strlen(arg);
    bool whole = len > PREFIX_LEN;
    char hash[AUTH_HASH_HEX] = "";
    if (whole)
        auth_db_sha256_hex(arg, len, hash);
    int rc = load_tokens(c, -1, whole, &all, &n, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (token_matches(&all[i], arg, len, whole, hash) && !all[i].revoked_at)
            active++;
    for (size_t i = 0; i < n; i++) {
        if (!token_matches(&all[i], arg, len, whole, hash) || (active && all[i].revoked_at))
            continue;
        if (hits++ == 0)
            *t = all[i];
        else if (hits == 2)
            fprintf(stderr, "%s: '%s' matches several %stokens: %s, %s", o->who, arg,
                    active ? "" : "revoked ", t->id, all[i].id);
        else
            fprintf(stderr, ", %s", all[i].id);
    }
    if (hits > 1)
        fprintf(stderr, " (give the id)\n");
    for (size_t i = 0; i < n; i++)
        memset(all[i].hash, 0, sizeof(all[i].hash));
    base_free(all);
    return hits == 1 ? 0 : hits ? BASE_ERR_EXISTS : BASE_ERR_NOT_FOUND;
}

static int run_revoke(const struct opts *o)
{
    const char *arg = o->pos[0];
    size_t len = strlen(arg), scheme = strlen(AUTH_TOKEN_PREFIX);
    bool is_id = strncmp(arg, "t_", 2) == 0 && len > 2 && len < AUTH_ID_MAX;
    bool is_prefix = strncmp(arg, AUTH_TOKEN_PREFIX, scheme) == 0 && len > scheme && len < AUTH_TOKEN_MAX;
    bool whole = is_prefix && len > PREFIX_LEN;
    const char *shown = whole ? "the token given" : arg;
    char err[512] = "", target[AUTH_TEXT_MAX], printable[80];
    struct store_conn *c = NULL;
    struct auth_token t;
    memset(&t, 0, sizeof(t));
    if (!is_id && !is_prefix) {
        fprintf(stderr, "%s: token: '%s' is neither an id (t_...) nor a prefix (%s...)\n", o->who,
                strncmp(arg, AUTH_TOKEN_PREFIX, scheme) == 0
                    ? "opshub_"
                    : cli_printable(arg, printable, sizeof(printable)),
                AUTH_TOKEN_PREFIX);
        return 2;
    }
    int rc, code = cli_store_open(o->who, o->config, o->data, &c);
    if (code)
        return code;
    if ((rc = store_sql_begin(c, err, sizeof(err))) != 0 ||
        (rc = find_token(o, c, arg, &t, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        if (rc == BASE_ERR_NOT_FOUND)
            fprintf(stderr, "%s: no token matches '%s'\n", o->who,
                    cli_printable(shown, printable, sizeof(printable)));
        else if (rc != BASE_ERR_EXISTS)
            db_error(o->who, "cannot look the token up", rc, err);
        code = 1;
        goto out;
    }
    if (t.revoked_at) {
        store_sql_rollback(c);
        fprintf(stderr, "%s: token %s (%s) is already revoked\n", o->who, t.id, t.name);
        code = 1;
        goto out;
    }
    t.revoked_at = base_time_now_ms();
    snprintf(target, sizeof(target), "%s (%s)", t.id, t.name);
    if ((rc = auth_db_token_revoke(c, t.id, t.revoked_at, err, sizeof(err))) != 0 ||
        (rc = cli_audit(c, "token.revoke", target, "ok", 0, NULL, err, sizeof(err))) != 0 ||
        (rc = store_sql_commit(c, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        code = db_error(o->who, "cannot revoke the token", rc, err);
        goto out;
    }
    memset(t.hash, 0, sizeof(t.hash));
    if (o->json)
        code = print_json(o->who, token_json(&t, t.revoked_at));
    else
        printf("token %s (%s, prefix %s) revoked\n", t.id, t.name, t.prefix);
out:
    memset(t.hash, 0, sizeof(t.hash));
    store_conn_close(c);
    return code;
}

/* ---- dispatch ---- */

static int parse(const struct sub *s, int argc, char **argv, struct opts *o)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"role", required_argument, NULL, 'r'},
        {"name", required_argument, NULL, 'n'},
        {"expires", required_argument, NULL, 'e'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int ch;
    optind = 0; /* full reset of GNU getopt */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:d:jr:n:e:ah", options, NULL)) != -1) {
        if (strchr("rnea", ch) && !strchr(s->opts, ch)) {
            fprintf(stderr, "%s: option '%s' does not apply to this subcommand\n\n", o->who,
                    argv[optind - 1]);
            usage_sub(s, stderr);
            return 2;
        }
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'd': o->data = optarg; break;
        case 'j': o->json = true; break;
        case 'r': o->role = optarg; break;
        case 'n': o->name = optarg; break;
        case 'e': o->expires = optarg; break;
        case 'a': o->all = true; break;
        case 'h': usage_sub(s, stdout); return 0;
        case ':':
            fprintf(stderr, "%s: option '%s' needs a value\n\n", o->who, argv[optind - 1]);
            usage_sub(s, stderr);
            return 2;
        default:
            fprintf(stderr, "%s: unknown option '%s'\n\n", o->who, argv[optind - 1]);
            usage_sub(s, stderr);
            return 2;
        }
    }
    if (argc - optind != s->n_pos) {
        fprintf(stderr, "%s: expected %d argument%s, got %d\n\n", o->who, s->n_pos, s->n_pos == 1 ? "" : "s",
                argc - optind);
        usage_sub(s, stderr);
        return 2;
    }
    for (int i = 0; i < s->n_pos; i++)
        o->pos[i] = argv[optind + i];
    return -1;
}

int cli_cmd_token(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_SUBS; i++) {
        if (strcmp(argv[1], subs[i].name) != 0)
            continue;
        char who[64];
        struct opts o;
        memset(&o, 0, sizeof(o));
        snprintf(who, sizeof(who), "opshub token %s", subs[i].name);
        o.who = who;
        int code = parse(&subs[i], argc - 1, argv + 1, &o);
        return code >= 0 ? code : subs[i].run(&o);
    }
    char shown[64];
    fprintf(stderr, "opshub token: unknown subcommand '%s'\n\n",
            cli_printable(argv[1], shown, sizeof(shown)));
    usage_main(stderr);
    return 2;
}
