/*
 * cli/cmd_silence: `opshub silence add|list|expire` — silences in the
 * database `serve` uses (store/silences), validated by the very code of
 * the API (notify/silence), each change with its audit row. A running
 * opshub takes a change within a second (it polls meta.silences_gen).
 * Matchers are written as amtool writes them: alertname=ApiDown,
 * severity=~"crit|page", project!=blog.
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "notify/silence.h"
#include "store/silences.h"
#include "store/sql.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATCHERS_MAX NOTIFY_SILENCE_MATCHERS_MAX

static const char help[] =
    "usage: opshub silence add MATCHER... [--duration DUR | --end TIME] [--start TIME]\n"
    "                          --comment TEXT [--author NAME]\n"
    "       opshub silence list [--state active|pending|expired|all]\n"
    "       opshub silence expire ID...\n\n"
    "Silences mute the notifications of the alerts every matcher of theirs matches\n"
    "(docs/notifications.md). MATCHER: name=value, name!=value, name=~regex, name!~regex\n"
    "(values may be quoted). A silence starts now unless --start says otherwise and\n"
    "lasts --duration (default 1h) or until --end (RFC 3339). Expired silences are\n"
    "kept and listed with --state expired or all.\n\n"
    "  -c, --config FILE   configuration file (default ./opshub.yaml if it exists)\n"
    "  -d, --data DIR      data directory of the embedded SQLite store (default ./data)\n"
    "  -j, --json          print JSON\n"
    "  -h, --help          this help\n\n"
    "Exit 0 ok, 1 runtime failure (database unreachable, no such silence), 2 usage\n"
    "or invalid input.\n";

struct opts {
    const char *config, *data, *duration, *end, *start, *comment, *author, *state;
    bool json;
};

static int print_json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return 1;
    printf("%s\n", text);
    base_free(text);
    return 0;
}

static void matchers_text(const char *json_text, char *out, size_t n)
{
    json_t *ms = json_loads(json_text, 0, NULL);
    size_t i, len = 0;
    json_t *m;
    out[0] = 0;
    json_array_foreach(ms, i, m)
    {
        bool re = json_is_true(json_object_get(m, "isRegex")), eq = json_is_true(json_object_get(m, "isEqual"));
        const char *op = re ? (eq ? "=~" : "!~") : (eq ? "=" : "!=");
        int w = snprintf(out + len, n - len, "%s%s%s\"%s\"", i ? " " : "",
                         json_string_value(json_object_get(m, "name")), op,
                         json_string_value(json_object_get(m, "value")));
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
    json_decref(ms);
}

static int run_add(const struct opts *o, int n, char **pos)
{
    const char *who = "opshub silence add";
    if (n < 1) {
        fprintf(stderr, "%s: give at least one matcher (alertname=ApiDown)\n", who);
        return 2;
    }
    if (n > MATCHERS_MAX) {
        fprintf(stderr, "%s: at most %d matchers\n", who, MATCHERS_MAX);
        return 2;
    }
    if (!o->comment) {
        fprintf(stderr, "%s: --comment is required (why the alerts are muted)\n", who);
        return 2;
    }
    if (o->duration && o->end) {
        fprintf(stderr, "%s: give --duration or --end, not both\n", who);
        return 2;
    }
    json_t *ms = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(ms, json_string(pos[i]));
    char actor[CLI_ACTOR_MAX];
    cli_actor(actor, sizeof(actor));
    json_t *body = json_pack("{s:o, s:s, s:s}", "matchers", ms, "comment", o->comment, "createdBy",
                             o->author ? o->author : actor);
    if (o->start)
        json_object_set_new(body, "startsAt", json_string(o->start));
    if (o->end)
        json_object_set_new(body, "endsAt", json_string(o->end));
    else
        json_object_set_new(body, "duration", json_string(o->duration ? o->duration : "1h"));
    struct store_silence s;
    char why[256], field[64];
    int64_t now = base_time_now_ms();
    int rc = notify_silence_from_json(body, now, &s, why, sizeof(why), field, sizeof(field));
    json_decref(body);
    if (rc != 0) {
        const char *opt = strncmp(field, "matchers", 8) == 0 ? "matcher"
                          : strcmp(field, "startsAt") == 0  ? "--start"
                          : strcmp(field, "endsAt") == 0    ? "--end"
                          : strcmp(field, "duration") == 0  ? "--duration"
                                                            : field;
        if (strncmp(field, "matchers[", 9) == 0) {
            int idx = atoi(field + 9);
            fprintf(stderr, "%s: matcher '%s': %s\n", who, idx < n ? pos[idx] : "?", why);
        } else {
            fprintf(stderr, "%s: %s: %s\n", who, opt, why);
        }
        return 2;
    }
    struct store_conn *c;
    rc = cli_store_open(who, o->config, o->data, &c);
    if (rc != 0) {
        notify_silence_clear(&s);
        return rc;
    }
    char err[512] = "";
    rc = store_silences_put(c, &s, err, sizeof(err));
    char target[80];
    snprintf(target, sizeof(target), "silence %s", s.id);
    char aerr[256];
    cli_audit(c, "silence.create", target, rc == 0 ? "ok" : "error", rc == 0 ? 201 : 500, NULL, aerr, sizeof(aerr));
    store_conn_close(c);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", who, err[0] ? err : base_strerror(rc));
        notify_silence_clear(&s);
        return 1;
    }
    if (o->json)
        print_json(notify_silence_json(&s, now));
    else
        printf("%s\n", s.id);
    notify_silence_clear(&s);
    return 0;
}

static int run_list(const struct opts *o)
{
    const char *who = "opshub silence list";
    const char *state = o->state ? o->state : "active";
    bool all = strcmp(state, "all") == 0;
    if (!all && strcmp(state, "active") && strcmp(state, "pending") && strcmp(state, "expired")) {
        fprintf(stderr, "%s: --state is active, pending, expired or all\n", who);
        return 2;
    }
    struct store_conn *c;
    int rc = cli_store_open_existing(who, o->config, o->data, &c);
    if (rc != 0)
        return rc;
    struct store_result r = {0};
    char err[512] = "";
    rc = store_silences_select(c, NULL, INT64_MIN, STORE_SILENCES_MAX, &r, err, sizeof(err));
    store_conn_close(c);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", who, err[0] ? err : base_strerror(rc));
        return 1;
    }
    int64_t now = base_time_now_ms();
    json_t *list = json_array();
    if (!o->json)
        printf("%-36s  %-7s  %-24s  %-24s  %-16s  %s\n", "ID", "STATE", "STARTS", "ENDS", "CREATED BY", "MATCHERS");
    for (size_t i = 0; i < r.rows; i++) {
        struct store_silence s;
        store_silences_row(&r, i, &s);
        const char *st = notify_silence_state(&s, now);
        if (!all && strcmp(st, state) != 0)
            continue;
        if (o->json) {
            json_array_append_new(list, notify_silence_json(&s, now));
            continue;
        }
        char a[40], b[40], m[1024];
        matchers_text(s.matchers, m, sizeof(m));
        printf("%-36s  %-7s  %-24s  %-24s  %-16.16s  %s\n", s.id, st, base_time_format_iso8601(s.starts_ms, a, sizeof(a)),
               base_time_format_iso8601(s.ends_ms, b, sizeof(b)), s.created_by, m);
    }
    store_result_free(&r);
    if (o->json)
        return print_json(list);
    json_decref(list);
    return 0;
}

static int run_expire(const struct opts *o, int n, char **ids)
{
    const char *who = "opshub silence expire";
    if (n < 1) {
        fprintf(stderr, "%s: give the id of a silence (opshub silence list)\n", who);
        return 2;
    }
    struct store_conn *c;
    int rc = cli_store_open(who, o->config, o->data, &c);
    if (rc != 0)
        return rc;
    int code = 0;
    int64_t now = base_time_now_ms();
    for (int i = 0; i < n; i++) {
        struct store_result r = {0};
        char err[512] = "", shown[64];
        if (strlen(ids[i]) >= STORE_SILENCE_ID_MAX ||
            (rc = store_silences_select(c, ids[i], 0, 1, &r, err, sizeof(err))) != 0 || r.rows == 0) {
            if (rc)
                fprintf(stderr, "%s: %s\n", who, err[0] ? err : base_strerror(rc));
            else
                fprintf(stderr, "%s: no silence has the id %s\n", who, cli_printable(ids[i], shown, sizeof(shown)));
            store_result_free(&r);
            code = 1;
            rc = 0;
            continue;
        }
        struct store_silence s;
        store_silences_row(&r, 0, &s);
        if (s.ends_ms > now) {
            s.ends_ms = now;
            if (s.starts_ms > now)
                s.starts_ms = now;
            s.updated_ms = now;
            rc = store_silences_put(c, &s, err, sizeof(err));
            char target[80], aerr[256];
            snprintf(target, sizeof(target), "silence %s", s.id);
            cli_audit(c, "silence.expire", target, rc == 0 ? "ok" : "error", rc == 0 ? 200 : 500, NULL, aerr,
                      sizeof(aerr));
            if (rc != 0) {
                fprintf(stderr, "%s: %s\n", who, err[0] ? err : base_strerror(rc));
                code = 1;
            }
        }
        if (rc == 0 && !o->json)
            printf("%s expired\n", s.id);
        store_result_free(&r);
    }
    store_conn_close(c);
    return code;
}

int cli_cmd_silence(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {"duration", required_argument, NULL, 'D'}, {"end", required_argument, NULL, 'E'},
        {"start", required_argument, NULL, 'S'},  {"comment", required_argument, NULL, 'm'},
        {"author", required_argument, NULL, 'a'}, {"state", required_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    struct opts o = {0};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc - 1, argv + 1, "c:d:jhD:E:S:m:a:s:", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'c': o.config = optarg; break;
        case 'd': o.data = optarg; break;
        case 'j': o.json = true; break;
        case 'h': fputs(help, stdout); return 0;
        case 'D': o.duration = optarg; break;
        case 'E': o.end = optarg; break;
        case 'S': o.start = optarg; break;
        case 'm': o.comment = optarg; break;
        case 'a': o.author = optarg; break;
        case 's': o.state = optarg; break;
        default:
            fprintf(stderr, "opshub silence %s: unknown or incomplete option (see --help)\n", sub);
            return 2;
        }
    }
    int n = argc - 1 - optind;
    char **pos = argv + 1 + optind;
    if (strcmp(sub, "add") == 0)
        return run_add(&o, n, pos);
    if (strcmp(sub, "list") == 0) {
        if (n) {
            fprintf(stderr, "opshub silence list: unexpected argument (see --help)\n");
            return 2;
        }
        return run_list(&o);
    }
    if (strcmp(sub, "expire") == 0)
        return run_expire(&o, n, pos);
    char shown[64];
    fprintf(stderr, "opshub silence: unknown subcommand '%s' (add, list, expire)\n",
            cli_printable(sub, shown, sizeof(shown)));
    return 2;
}
