/*
 * cli/cli: top-level usage and dispatch to the cmd_*.c entry points, and the
 * helpers the database commands share: finding the database exactly as
 * `serve` does, naming the OS user as the actor, writing CLI audit rows.
 * Owns no state between calls; never prints a password (URLs are redacted
 * and the store's error text is scrubbed of the URL's password).
 */
#include "cli/cli.h"

#include "app/app.h"
#include "auth/db.h"
#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "conf/conf.h"
#include "probe/registry.h"
#include "store/sql.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct cli_command commands[] = {
    {"serve", cli_cmd_serve, "run the daemon"},
    {"check", cli_cmd_check, "run checks once and print a table (exit 0 up, 1 degraded, 2 down)"},
    {"config", cli_cmd_config, "validate the configuration (config check)"},
    {"user", cli_cmd_user, "manage users (add, list, disable, enable, passwd, role)"},
    {"token", cli_cmd_token, "manage API tokens (create, list, revoke)"},
    {"secrets", cli_cmd_secrets, "stored secrets: status, rotate-key"},
    {"rules", cli_cmd_rules, "check Prometheus rule files (rules check FILE...)"},
    {"silence", cli_cmd_silence, "mute notifications: silence add|list|expire"},
    {"incident", cli_cmd_incident, "incidents: incident open|update|ack|resolve|list|show"},
    {"version", cli_cmd_version, "print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: opshub COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'opshub COMMAND --help' for the options of a command.\n");
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "opshub: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}

/* ---- shared by the database commands ---- */

/* Replaces every occurrence of the URL's userinfo password in msg by "***"
 * (the store never puts it there; this is the second lock on the door). */
static void scrub_password(const char *url, char *msg, size_t n)
{
    const char *s = strstr(url, "://");
    if (!s)
        return;
    s += 3;
    const char *at = strchr(s, '@'), *slash = strchr(s, '/');
    if (!at || (slash && slash < at))
        return;
    const char *colon = memchr(s, ':', (size_t)(at - s));
    if (!colon || at - colon - 1 <= 0)
        return;
    size_t pwlen = (size_t)(at - colon - 1);
    char *from = msg, *hit;
    while ((hit = memmem(from, strlen(from), colon + 1, pwlen)) != NULL) {
        size_t tail = strlen(hit + pwlen) + 1;
        if (pwlen < 3 && (size_t)(hit - msg) + 3 + tail > n) { /* no room: cut the message */
            *hit = '\0';
            break;
        }
        memmove(hit + 3, hit + pwlen, tail);
        memcpy(hit, "***", 3);
        from = hit + 3;
    }
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int store_open(const char *who, const char *config_path, const char *data_dir, bool existing,
                      struct store_conn **out, struct conf **conf_out)
{
    *out = NULL;
    if (conf_out)
        *conf_out = NULL;
    const char *path = config_path ? config_path : (file_exists("opshub.yaml") ? "opshub.yaml" : NULL);
    struct conf *conf = NULL;
    if (path) {
        struct base_errors errs;
        base_errors_init(&errs, 0);
        if (conf_load_file(probe_registry_types(), path, &conf, &errs) != 0) {
            base_errors_print(&errs, stderr);
            if (!errs.len)
                fprintf(stderr, "%s: %s: cannot load configuration\n", who, path);
            base_errors_free(&errs);
            return 2;
        }
        base_errors_free(&errs);
    }
    const char *conf_url = conf ? conf->storage.url : NULL;
    char url[2048], redacted[2048], err[512] = "";
    app_storage_url(conf_url, data_dir, url, sizeof(url));
    const char *env = getenv("DATABASE_URL");
    if (existing && strncmp(url, "sqlite://", 9) == 0 && !file_exists(url + 9)) {
        /* A read-only command must leave a mistyped --data as it found it. */
        fprintf(stderr, "%s: no database at %s (is --data right?)\n", who, url + 9);
        conf_destroy(conf);
        return 1;
    }
    if (!existing && strncmp(url, "sqlite://", 9) == 0 && !(conf_url && *conf_url) && !(env && *env)) {
        const char *dir = data_dir ? data_dir : "data";
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create the data directory %s: %s\n", who, dir, strerror(errno));
            conf_destroy(conf);
            return 1;
        }
    }
    int rc = store_conn_open(url, out, err, sizeof(err));
    if (rc == 0 && conf_out)
        *conf_out = conf;
    else
        conf_destroy(conf);
    if (rc != 0) {
        scrub_password(url, err, sizeof(err));
        fprintf(stderr, "%s: cannot open the database %s: %s\n", who,
                base_log_redact_url(url, redacted, sizeof(redacted)), err[0] ? err : base_strerror(rc));
        *out = NULL;
        return 1;
    }
    return 0;
}

int cli_store_open(const char *who, const char *config_path, const char *data_dir, struct store_conn **out)
{
    return store_open(who, config_path, data_dir, false, out, NULL);
}

int cli_store_open_conf(const char *who, const char *config_path, const char *data_dir, bool existing,
                        struct store_conn **out, struct conf **conf)
{
    return store_open(who, config_path, data_dir, existing, out, conf);
}

int cli_store_open_existing(const char *who, const char *config_path, const char *data_dir,
                            struct store_conn **out)
{
    return store_open(who, config_path, data_dir, true, out, NULL);
}

char *cli_printable(const char *s, char *out, size_t n)
{
    size_t i = 0;
    if (!n)
        return out;
    for (; s && s[i] && i + 1 < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
    return out;
}

void cli_actor(char *out, size_t n)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name)
        snprintf(out, n, "cli:%s", pw->pw_name);
    else
        snprintf(out, n, "cli:uid%lu", (unsigned long)geteuid());
}

int cli_audit(struct store_conn *c, const char *action, const char *target, const char *result, int status,
              const char *detail, char *err, size_t errlen)
{
    struct auth_audit a;
    memset(&a, 0, sizeof(a));
    a.ts = base_time_now_ms();
    cli_actor(a.actor, sizeof(a.actor));
    snprintf(a.actor_kind, sizeof(a.actor_kind), "cli");
    snprintf(a.action, sizeof(a.action), "%s", action);
    snprintf(a.target, sizeof(a.target), "%s", target ? target : "");
    snprintf(a.result, sizeof(a.result), "%s", result);
    a.status = status;
    snprintf(a.detail, sizeof(a.detail), "%s", detail ? detail : "");
    return auth_db_audit_append(c, &a, err, errlen);
}
