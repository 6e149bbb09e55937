/*
 * cli/cmd_user: `opshub user add|list|disable|enable|passwd|role` — manages
 * the users in the database `serve` uses (auth/db), each change in one
 * transaction together with its audit row. Passwords come from one line of
 * stdin (--password-stdin) or a terminal with echo off (typed twice), must
 * pass the policy, are hashed with Argon2id and every copy is wiped. Never
 * prints or stores a password, and never prints a hash. Keeps at least one
 * enabled admin: refuses to disable or demote the last one.
 */
#include "cli/cli.h"

#include "auth/db.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "store/sql.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MIN 12
#define USERNAME_MAX 64

struct opts {
    const char *who; /* "opshub user add" */
    const char *config, *data, *role;
    const char *email, *slack, *phone, *pagerduty; /* contact */
    bool json, password_stdin, contact_set;
    const char *pos[2];
};

struct sub {
    const char *name;
    int (*run)(const struct opts *o);
    int n_pos;
    bool role_opt, password_opt;
    const char *synopsis;
    const char *about;
    bool contact_opt;
};

static int run_add(const struct opts *o);
static int run_list(const struct opts *o);
static int run_disable(const struct opts *o);
static int run_enable(const struct opts *o);
static int run_passwd(const struct opts *o);
static int run_role(const struct opts *o);
static int run_contact(const struct opts *o);

static const struct sub subs[] = {
    {"add", run_add, 1, true, true, "add NAME --role ROLE [--password-stdin]",
     "Creates a user. NAME: 1 to 64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit.\n"
     "ROLE: viewer, operator or admin. The password (at least 12 characters, not the\n"
     "username) is read from one line of stdin with --password-stdin, otherwise typed twice\n"
     "on the terminal.\n", false},
    {"list", run_list, 0, false, false, "list",
     "Lists every user: name, role, status, creation and last login.\n", false},
    {"disable", run_disable, 1, false, false, "disable NAME",
     "Disables a user and revokes all their sessions. The last enabled admin cannot be disabled.\n", false},
    {"enable", run_enable, 1, false, false, "enable NAME", "Enables a disabled user.\n", false},
    {"passwd", run_passwd, 1, false, true, "passwd NAME [--password-stdin]",
     "Sets a new password (same policy as add) and revokes all the user's sessions.\n", false},
    {"role", run_role, 2, false, false, "role NAME ROLE",
     "Sets a user's role (viewer, operator, admin). The last enabled admin cannot be demoted.\n", false},
    {"contact", run_contact, 1, false, false,
     "contact NAME [--email ADDR] [--slack MEMBER_ID] [--phone +E164] [--pagerduty ROUTING_KEY]",
     "Shows, or with options sets, where incident pages reach the user (docs/incidents.md). An\n"
     "option given as \"\" clears that method; the others are kept. The PagerDuty routing key is\n"
     "never printed back.\n", true},
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
    fprintf(out, "usage: opshub user SUBCOMMAND [OPTIONS]\n\n"
                 "Manages the people who may use the API (roles: viewer reads; operator also acks,\n"
                 "silences and runs checks; admin can do everything).\n\nsubcommands:\n");
    for (size_t i = 0; i < N_SUBS; i++)
        fprintf(out, "  opshub user %s\n", subs[i].synopsis);
    fprintf(out, "\noptions of every subcommand:\n%s\nRun 'opshub user SUBCOMMAND --help' for details.\n",
            common_help);
}

static void usage_sub(const struct sub *s, FILE *out)
{
    fprintf(out, "usage: opshub user %s [--config FILE] [--data DIR] [--json]\n\n%s\n", s->synopsis,
            s->about);
    if (s->role_opt)
        fprintf(out, "  -r, --role ROLE     viewer, operator or admin\n");
    if (s->password_opt)
        fprintf(out, "  -p, --password-stdin  read the password from the first line of stdin\n");
    fputs(common_help, out);
}

/* ---- validation ---- */

static bool username_char(char ch, bool first)
{
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    return alnum || (!first && (ch == '.' || ch == '_' || ch == '@' || ch == '-'));
}

static int check_username(const char *who, const char *s)
{
    char shown[80];
    size_t n = strlen(s);
    if (n == 0 || n > USERNAME_MAX) {
        fprintf(stderr, "%s: username: must be 1 to %d characters (got %zu)\n", who, USERNAME_MAX, n);
        return 2;
    }
    for (size_t i = 0; i < n; i++)
        if (!username_char(s[i], i == 0)) {
            fprintf(stderr, "%s: username: '%s' %s\n", who, cli_printable(s, shown, sizeof(shown)),
                    i == 0 ? "must start with a letter or a digit"
                           : "may contain only letters, digits and . _ @ -");
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

/* ---- passwords ---- */

struct secret_line {
    char buf[AUTH_PASSWORD_MAX + 2]; /* the password, a '\r' and NUL */
    size_t len;
};

/* One line from fd into l (without "\n" / "\r\n"). Byte by byte so that no
 * stdio buffer keeps a copy. 0, BASE_ERR_TOO_BIG or BASE_ERR_IO. */
static int read_secret_line(int fd, struct secret_line *l)
{
    l->len = 0;
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return BASE_ERR_IO;
        if (r == 0 || ch == '\n')
            break;
        if (l->len >= sizeof(l->buf) - 1)
            return BASE_ERR_TOO_BIG;
        l->buf[l->len++] = ch;
    }
    if (l->len && l->buf[l->len - 1] == '\r')
        l->len--;
    l->buf[l->len] = '\0';
    return l->len > AUTH_PASSWORD_MAX ? BASE_ERR_TOO_BIG : 0;
}

static struct termios saved_tio;
static volatile sig_atomic_t tio_changed;

static void restore_tty_and_die(int sig)
{
    if (tio_changed)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Prompts on stderr and reads a line from the terminal on stdin with echo off. */
static int prompt_secret(const char *prompt, struct secret_line *l)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
    struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return BASE_ERR_IO;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_tty_and_die;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, &old[i]);
    t = saved_tio;
    t.c_lflag &= ~(tcflag_t)ECHO;
    t.c_lflag |= ECHONL;
    tio_changed = 1;
    int rc = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0 ? 0 : BASE_ERR_IO;
    if (rc == 0) { /* prompt only now: what was typed before echo went off is discarded */
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
        rc = read_secret_line(STDIN_FILENO, l);
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    tio_changed = 0;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &old[i], NULL);
    return rc;
}

static int read_error(const char *who, int rc)
{
    if (rc == BASE_ERR_TOO_BIG)
        fprintf(stderr, "%s: password: longer than %d bytes\n", who, AUTH_PASSWORD_MAX);
    else
        fprintf(stderr, "%s: password: cannot read it: %s\n", who, strerror(errno));
    return 2;
}

/* Whether a password can be read at all (checked before touching the
 * database). Exit code 0 or 2. */
static int password_source_ok(const struct opts *o)
{
    if (o->password_stdin || isatty(STDIN_FILENO))
        return 0;
    fprintf(stderr, "%s: password: stdin is not a terminal; pipe it in with --password-stdin\n", o->who);
    return 2;
}

/* Reads the new password of `username` (stdin line or terminal, twice),
 * checks the policy and writes its Argon2id hash into hash. Exit code. */
static int new_password_hash(const struct opts *o, const char *username, char *hash, size_t hash_n)
{
    struct secret_line *pw = base_calloc(2, sizeof(*pw));
    int code = 2, rc;
    if (!pw) {
        fprintf(stderr, "%s: out of memory\n", o->who);
        return 1;
    }
    if (o->password_stdin) {
        if ((rc = read_secret_line(STDIN_FILENO, &pw[0])) != 0) {
            code = read_error(o->who, rc);
            goto out;
        }
    } else if (isatty(STDIN_FILENO)) {
        if ((rc = prompt_secret("New password: ", &pw[0])) != 0 ||
            (rc = prompt_secret("Repeat the password: ", &pw[1])) != 0) {
            code = read_error(o->who, rc);
            goto out;
        }
        if (pw[0].len != pw[1].len || memcmp(pw[0].buf, pw[1].buf, pw[0].len) != 0) {
            fprintf(stderr, "%s: password: the two entries do not match\n", o->who);
            goto out;
        }
    } else {
        fprintf(stderr, "%s: password: stdin is not a terminal; pipe it in with --password-stdin\n", o->who);
        goto out;
    }
    if (pw[0].len < PASSWORD_MIN) {
        fprintf(stderr, "%s: password: must be at least %d characters (got %zu)\n", o->who, PASSWORD_MIN,
                pw[0].len);
        goto out;
    }
    if (pw[0].len == strlen(username) && memcmp(pw[0].buf, username, pw[0].len) == 0) {
        fprintf(stderr, "%s: password: must not be the username\n", o->who);
        goto out;
    }
    rc = auth_password_hash(pw[0].buf, pw[0].len, 0, 0, hash, hash_n);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot hash the password: %s\n", o->who, base_strerror(rc));
        code = 1;
        goto out;
    }
    code = 0;
out:
    explicit_bzero(pw, 2 * sizeof(*pw));
    base_free(pw);
    return code;
}

/* ---- output ---- */

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return ms ? json_string(base_time_format_iso8601(ms, buf, sizeof(buf))) : json_null();
}

static json_t *user_json(const struct auth_user *u)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "id", u->id, "username", u->username, "role",
                     auth_role_name(u->role), "disabled", u->disabled, "created_at", time_json(u->created_at),
                     "updated_at", time_json(u->updated_at), "last_login_at", time_json(u->last_login_at));
}

/* Prints doc (and drops the reference). 0 or 1 (out of memory). */
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

/* ---- add ---- */

static int run_add(const struct opts *o)
{
    const char *name = o->pos[0];
    enum auth_role role;
    struct store_conn *c = NULL;
    struct auth_user u;
    char err[512] = "", detail[64];
    int rc, code;
    memset(&u, 0, sizeof(u));
    if ((code = check_username(o->who, name)) != 0 || (code = parse_role(o->who, o->role, &role)) != 0 ||
        (code = password_source_ok(o)) != 0)
        return code;
    if ((code = cli_store_open(o->who, o->config, o->data, &c)) != 0)
        return code;
    rc = auth_db_user_by_name(c, name, &u, err, sizeof(err));
    if (rc == 0) {
        fprintf(stderr, "%s: user '%s' already exists\n", o->who, name);
        code = 1;
        goto out;
    }
    if (rc != BASE_ERR_NOT_FOUND) {
        code = db_error(o->who, "cannot look the user up", rc, err);
        goto out;
    }
    memset(&u, 0, sizeof(u));
    if ((code = new_password_hash(o, name, u.password_hash, sizeof(u.password_hash))) != 0)
        goto out;
    if ((rc = auth_db_new_id('u', u.id, sizeof(u.id))) != 0) {
        code = db_error(o->who, "cannot make an id", rc, NULL);
        goto out;
    }
    snprintf(u.username, sizeof(u.username), "%s", name);
    u.role = role;
    u.created_at = u.updated_at = base_time_now_ms();
    snprintf(detail, sizeof(detail), "role=%s", auth_role_name(role));
    if ((rc = store_sql_begin(c, err, sizeof(err))) != 0 ||
        (rc = auth_db_user_insert(c, &u, err, sizeof(err))) != 0 ||
        (rc = cli_audit(c, "user.create", name, "ok", 0, detail, err, sizeof(err))) != 0 ||
        (rc = store_sql_commit(c, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        if (rc == BASE_ERR_EXISTS) {
            fprintf(stderr, "%s: user '%s' already exists\n", o->who, name);
            code = 1;
        } else {
            code = db_error(o->who, "cannot add the user", rc, err);
        }
        goto out;
    }
    if (o->json)
        code = print_json(o->who, user_json(&u));
    else
        printf("user %s added (role %s, id %s)\n", u.username, auth_role_name(u.role), u.id);
out:
    explicit_bzero(u.password_hash, sizeof(u.password_hash));
    store_conn_close(c);
    return code;
}

/* ---- list ---- */

static void print_table(const struct auth_user *users, size_t n)
{
    int w = 8;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(users[i].username) > w)
            w = (int)strlen(users[i].username);
    printf("%-*s  %-8s  %-8s  %-24s  %s\n", w, "USERNAME", "ROLE", "STATUS", "CREATED", "LAST_LOGIN");
    for (size_t i = 0; i < n; i++) {
        char created[40], last[40];
        const struct auth_user *u = &users[i];
        base_time_format_iso8601(u->created_at, created, sizeof(created));
        if (u->last_login_at)
            base_time_format_iso8601(u->last_login_at, last, sizeof(last));
        else
            snprintf(last, sizeof(last), "never");
        printf("%-*s  %-8s  %-8s  %-24s  %s\n", w, u->username, auth_role_name(u->role),
               u->disabled ? "disabled" : "active", created, last);
    }
}

static int run_list(const struct opts *o)
{
    struct store_conn *c = NULL;
    struct auth_user *all = NULL, *page = NULL;
    size_t n_all = 0, cap = 0;
    char err[512] = "", cursor[AUTH_NAME_MAX];
    struct auth_list_opts lo = {.cursor = NULL, .limit = 1000, .role = NULL, .flag = -1};
    int code = cli_store_open_existing(o->who, o->config, o->data, &c);
    if (code)
        return code;
    for (;;) {
        size_t n = 0;
        bool more = false;
        int rc = auth_db_user_list(c, &lo, &page, &n, &more, err, sizeof(err));
        if (rc) {
            code = db_error(o->who, "cannot list the users", rc, err);
            goto out;
        }
        if (n_all + n > cap) {
            size_t ncap = cap ? cap * 2 : 64;
            while (ncap < n_all + n)
                ncap *= 2;
            struct auth_user *grown = base_realloc(all, ncap * sizeof(*all));
            if (!grown) {
                code = db_error(o->who, "cannot list the users", BASE_ERR_NOMEM, NULL);
                goto out;
            }
            all = grown;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            all[n_all] = page[i];
            memset(all[n_all].password_hash, 0, sizeof(all[n_all].password_hash));
            n_all++;
        }
        if (page)
            explicit_bzero(page, n * sizeof(*page));
        base_free(page);
        page = NULL;
        if (!more || n == 0)
            break;
        snprintf(cursor, sizeof(cursor), "%s", all[n_all - 1].username);
        lo.cursor = cursor;
    }
    if (o->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n_all; i++)
            if (json_array_append_new(list, user_json(&all[i])) != 0) {
                json_decref(list);
                list = NULL;
            }
        code = print_json(o->who, list ? json_pack("{s:o}", "users", list) : NULL);
    } else {
        print_table(all, n_all);
    }
out:
    base_free(page);
    base_free(all);
    store_conn_close(c);
    return code;
}

/* ---- changes to one user ---- */

enum change { CHANGE_DISABLE, CHANGE_ENABLE, CHANGE_PASSWD, CHANGE_ROLE };

/* Whether u is the only enabled admin (then it must stay one). */
static int is_last_admin(struct store_conn *c, const struct auth_user *u, bool *last, char *err,
                         size_t errlen)
{
    int64_t n = 0;
    *last = false;
    if (u->role != AUTH_ROLE_ADMIN || u->disabled)
        return 0;
    int rc = auth_db_user_count_admins(c, &n, err, errlen);
    *last = rc == 0 && n <= 1;
    return rc;
}

/* Applies ch to user `name` in one transaction with its audit row. `hash`
 * is the new password hash (passwd), `role` the new role (role). */
static int change_user(const struct opts *o, enum change ch, enum auth_role role, const char *hash)
{
    static const char *const actions[] = {"user.disable", "user.enable", "user.passwd", "user.role"};
    const char *name = o->pos[0], *action = actions[ch];
    struct store_conn *c = NULL;
    struct auth_user u;
    char err[512] = "", detail[96] = "";
    bool last = false;
    int rc, code = cli_store_open(o->who, o->config, o->data, &c);
    memset(&u, 0, sizeof(u));
    if (code)
        return code;
    if ((rc = store_sql_begin(c, err, sizeof(err))) != 0 ||
        (rc = auth_db_user_by_name(c, name, &u, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        if (rc == BASE_ERR_NOT_FOUND) {
            fprintf(stderr, "%s: user '%s' not found\n", o->who, name);
            code = 1;
        } else {
            code = db_error(o->who, "cannot look the user up", rc, err);
        }
        goto out;
    }
    const char *noop = NULL;
    if (ch == CHANGE_DISABLE && u.disabled)
        noop = "is already disabled";
    else if (ch == CHANGE_ENABLE && !u.disabled)
        noop = "is already enabled";
    else if (ch == CHANGE_ROLE && u.role == role)
        noop = "already has this role";
    if (noop) {
        store_sql_rollback(c);
        if (o->json)
            code = print_json(o->who, user_json(&u));
        else
            printf("user %s %s (%s)\n", name, noop,
                   ch == CHANGE_ROLE ? auth_role_name(role) : "nothing changed");
        goto out;
    }
    if ((ch == CHANGE_DISABLE || (ch == CHANGE_ROLE && role != AUTH_ROLE_ADMIN)) &&
        (rc = is_last_admin(c, &u, &last, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        code = db_error(o->who, "cannot count the admins", rc, err);
        goto out;
    }
    if (last) {
        store_sql_rollback(c);
        fprintf(stderr,
                "%s: refusing to %s '%s': it is the last enabled admin (add or enable another admin first)\n",
                o->who, ch == CHANGE_DISABLE ? "disable" : "demote", name);
        if (cli_audit(c, action, name, "denied", 1, "last enabled admin", err, sizeof(err)) != 0)
            fprintf(stderr, "%s: could not write the audit row: %s\n", o->who, err);
        code = 1;
        goto out;
    }
    switch (ch) {
    case CHANGE_DISABLE: u.disabled = true; break;
    case CHANGE_ENABLE: u.disabled = false; break;
    case CHANGE_PASSWD: snprintf(u.password_hash, sizeof(u.password_hash), "%s", hash); break;
    case CHANGE_ROLE:
        snprintf(detail, sizeof(detail), "role %s -> %s", auth_role_name(u.role), auth_role_name(role));
        u.role = role;
        break;
    }
    u.updated_at = base_time_now_ms();
    bool revoke = ch == CHANGE_DISABLE || ch == CHANGE_PASSWD;
    if (revoke)
        snprintf(detail, sizeof(detail), "sessions revoked");
    if ((rc = auth_db_user_update(c, &u, err, sizeof(err))) != 0 ||
        (revoke && (rc = auth_db_session_revoke_user(c, u.id, u.updated_at, err, sizeof(err))) != 0) ||
        (rc = cli_audit(c, action, name, "ok", 0, detail, err, sizeof(err))) != 0 ||
        (rc = store_sql_commit(c, err, sizeof(err))) != 0) {
        store_sql_rollback(c);
        code = db_error(o->who, "cannot change the user", rc, err);
        goto out;
    }
    if (o->json) {
        code = print_json(o->who, user_json(&u));
    } else if (ch == CHANGE_ROLE) {
        printf("user %s: %s\n", name, detail);
    } else {
        static const char *const done[] = {"disabled (sessions revoked)", "enabled",
                                           "password changed (sessions revoked)", ""};
        printf("user %s %s\n", name, done[ch]);
    }
out:
    explicit_bzero(u.password_hash, sizeof(u.password_hash));
    store_conn_close(c);
    return code;
}

static int run_disable(const struct opts *o)
{
    return check_username(o->who, o->pos[0]) ? 2 : change_user(o, CHANGE_DISABLE, AUTH_ROLE_VIEWER, NULL);
}

static int run_enable(const struct opts *o)
{
    return check_username(o->who, o->pos[0]) ? 2 : change_user(o, CHANGE_ENABLE, AUTH_ROLE_VIEWER, NULL);
}

static int run_role(const struct opts *o)
{
    enum auth_role role;
    int code = check_username(o->who, o->pos[0]);
    if (!code)
        code = parse_role(o->who, o->pos[1], &role);
    return code ? code : change_user(o, CHANGE_ROLE, role, NULL);
}

static int run_contact(const struct opts *o)
{
    if (check_username(o->who, o->pos[0]))
        return 2;
    struct store_conn *c = NULL;
    int code = o->contact_set ? cli_store_open(o->who, o->config, o->data, &c)
                              : cli_store_open_existing(o->who, o->config, o->data, &c);
    if (code)
        return code;
    char err[512] = "";
    struct auth_user u;
    struct auth_contacts ct;
    int rc = auth_db_user_by_name(c, o->pos[0], &u, err, sizeof(err));
    if (rc == 0)
        rc = auth_db_contacts_get(c, o->pos[0], &ct, err, sizeof(err));
    if (rc == BASE_ERR_NOT_FOUND) {
        fprintf(stderr, "%s: no enabled user %s\n", o->who, o->pos[0]);
        store_conn_close(c);
        return 1;
    }
    if (rc == 0 && o->contact_set) {
        if (o->email)
            snprintf(ct.email, sizeof(ct.email), "%s", o->email);
        if (o->slack)
            snprintf(ct.slack, sizeof(ct.slack), "%s", o->slack);
        if (o->phone)
            snprintf(ct.phone, sizeof(ct.phone), "%s", o->phone);
        if (o->pagerduty)
            snprintf(ct.pagerduty, sizeof(ct.pagerduty), "%s", o->pagerduty);
        const char *field = NULL, *why = auth_contacts_bad(&ct, &field);
        if (why) {
            fprintf(stderr, "%s: --%s: %s\n", o->who, field, why);
            explicit_bzero(ct.pagerduty, sizeof(ct.pagerduty));
            store_conn_close(c);
            return 2;
        }
        ct.updated_at = base_time_now_ms();
        rc = auth_db_contacts_put(c, u.id, &ct, err, sizeof(err));
        char target[120], aerr[256];
        snprintf(target, sizeof(target), "user %s", u.username);
        cli_audit(c, "user.contacts", target, rc == 0 ? "ok" : "error", rc == 0 ? 200 : 500, NULL, aerr, sizeof(aerr));
    }
    store_conn_close(c);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", o->who, err[0] ? err : base_strerror(rc));
        explicit_bzero(ct.pagerduty, sizeof(ct.pagerduty));
        return 1;
    }
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "user", u.username, "email", ct.email, "slack", ct.slack,
                              "phone", ct.phone, "pagerduty_set", ct.pagerduty[0] != 0);
        char *t = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (t)
            printf("%s\n", t);
        free(t);
    } else {
        printf("email      %s\nslack      %s\nphone      %s\npagerduty  %s\n", ct.email[0] ? ct.email : "-",
               ct.slack[0] ? ct.slack : "-", ct.phone[0] ? ct.phone : "-", ct.pagerduty[0] ? "(set)" : "-");
    }
    explicit_bzero(ct.pagerduty, sizeof(ct.pagerduty));
    return 0;
}

static int run_passwd(const struct opts *o)
{
    char hash[AUTH_PASSWORD_HASH_MAX] = "", err[512] = "";
    struct store_conn *c = NULL;
    struct auth_user u;
    int code = check_username(o->who, o->pos[0]);
    if (!code)
        code = password_source_ok(o);
    if (code)
        return code;
    /* Look the user up before asking for a password nobody can use. */
    if ((code = cli_store_open(o->who, o->config, o->data, &c)) != 0)
        return code;
    int rc = auth_db_user_by_name(c, o->pos[0], &u, err, sizeof(err));
    explicit_bzero(u.password_hash, sizeof(u.password_hash));
    store_conn_close(c);
    if (rc == BASE_ERR_NOT_FOUND) {
        fprintf(stderr, "%s: user '%s' not found\n", o->who, o->pos[0]);
        return 1;
    }
    if (rc)
        return db_error(o->who, "cannot look the user up", rc, err);
    if ((code = new_password_hash(o, o->pos[0], hash, sizeof(hash))) == 0)
        code = change_user(o, CHANGE_PASSWD, AUTH_ROLE_VIEWER, hash);
    explicit_bzero(hash, sizeof(hash));
    return code;
}

/* ---- dispatch ---- */

/* Parses the options of sub into o: -1 to go on, else the exit code. */
static int parse(const struct sub *s, int argc, char **argv, struct opts *o)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"role", required_argument, NULL, 'r'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"email", required_argument, NULL, 'E'},
        {"slack", required_argument, NULL, 'S'},
        {"phone", required_argument, NULL, 'P'},
        {"pagerduty", required_argument, NULL, 'K'},
        {0},
    };
    int ch;
    optind = 0; /* full reset of GNU getopt */
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":c:d:jr:phE:S:P:K:", options, NULL)) != -1) {
        if ((ch == 'E' || ch == 'S' || ch == 'P' || ch == 'K') && !s->contact_opt)
            goto not_here;
        switch (ch) {
        case 'E': o->email = optarg; o->contact_set = true; break;
        case 'S': o->slack = optarg; o->contact_set = true; break;
        case 'P': o->phone = optarg; o->contact_set = true; break;
        case 'K': o->pagerduty = optarg; o->contact_set = true; break;
        case 'c': o->config = optarg; break;
        case 'd': o->data = optarg; break;
        case 'j': o->json = true; break;
        case 'r':
            if (!s->role_opt)
                goto not_here;
            o->role = optarg;
            break;
        case 'p':
            if (!s->password_opt)
                goto not_here;
            o->password_stdin = true;
            break;
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
not_here:
    fprintf(stderr, "%s: option '%s' does not apply to this subcommand\n\n", o->who, argv[optind - 1]);
    usage_sub(s, stderr);
    return 2;
}

int cli_cmd_user(int argc, char **argv)
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
        snprintf(who, sizeof(who), "opshub user %s", subs[i].name);
        o.who = who;
        int code = parse(&subs[i], argc - 1, argv + 1, &o);
        return code >= 0 ? code : subs[i].run(&o);
    }
    char shown[64];
    fprintf(stderr, "opshub user: unknown subcommand '%s'\n\n", cli_printable(argv[1], shown, sizeof(shown)));
    usage_main(stderr);
    return 2;
}
