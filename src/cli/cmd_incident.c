/*
 * cli/cmd_incident: `opshub incident open|update|ack|resolve|list|show` —
 * incidents in the database `serve` uses (store/incidents), changed by the
 * very code the running daemon uses (incidents/incident), each change with
 * its timeline entries and its audit row. A running opshub takes a change
 * within a second (it polls meta.incidents_gen). REF is an incident's
 * number (42) or id (i...).
 */
#include "cli/cli.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "conf/conf.h"
#include "incidents/incident.h"
#include "store/incidents.h"
#include "store/sql.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char help[] =
    "usage: opshub incident open --title TEXT --severity LEVEL [--service S] [--impact TEXT] [--eta TEXT]\n"
    "                            [--commander USER] [--text UPDATE]\n"
    "       opshub incident update REF [--state STATE] [--text UPDATE] [--severity LEVEL] [--title TEXT]\n"
    "                              [--service S] [--impact TEXT] [--eta TEXT] [--commander USER]\n"
    "       opshub incident ack REF\n"
    "       opshub incident resolve REF [--text TEXT]\n"
    "       opshub incident list [--state open|resolved|all]\n"
    "       opshub incident show REF\n\n"
    "Incidents (docs/incidents.md). LEVEL is a level of the configuration's severity\n"
    "scheme (P0-P3 by default); STATE is INVESTIGATING, IDENTIFIED, MONITORING or\n"
    "RESOLVED; REF is the incident's number or id. Every change is written with its\n"
    "timeline entry and an audit row; a running opshub takes it within a second.\n\n"
    "  -c, --config FILE   configuration file (default ./opshub.yaml if it exists)\n"
    "  -d, --data DIR      data directory of the embedded SQLite store (default ./data)\n"
    "  -j, --json          print JSON\n"
    "  -h, --help          this help\n\n"
    "Exit 0 ok, 1 runtime failure (database unreachable, no such incident, already\n"
    "acknowledged or resolved), 2 usage or invalid input.\n";

struct opts {
    const char *config, *data, *title, *severity, *service, *impact, *eta, *commander, *text, *state;
    bool json;
};

struct ctx {
    const char *who;
    struct store_conn *c;
    struct conf *conf;
    struct conf_incidents defaults;
    const struct conf_incidents *sch;
    char actor[CLI_ACTOR_MAX];
};

static int open_store(struct ctx *x, const struct opts *o, bool existing)
{
    int rc = cli_store_open_conf(x->who, o->config, o->data, existing, &x->c, &x->conf);
    if (rc != 0)
        return rc;
    conf_incidents_defaults(&x->defaults);
    x->sch = x->conf ? &x->conf->incidents : &x->defaults;
    cli_actor(x->actor, sizeof(x->actor));
    return 0;
}

static void close_store(struct ctx *x)
{
    if (x->c)
        store_conn_close(x->c);
    conf_destroy(x->conf);
}

static int print_json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (!text)
        return 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* The incident REF names: 0 with *doc (caller decrefs), id and number; 1 not found or unreadable. */
static int load(struct ctx *x, const char *ref, json_t **doc, char *id, size_t id_len, int64_t *number)
{
    struct store_incident_filter f = {.limit = 1};
    char *end, shown[64];
    long long n = *ref != 'i' ? strtoll(ref, &end, 10) : 0;
    if (*ref != 'i' && n > 0 && !*end)
        f.number = n;
    else if (*ref == 'i' && strlen(ref) < STORE_INCIDENT_ID_MAX)
        f.id = ref;
    else {
        fprintf(stderr, "%s: '%s' is no incident number or id\n", x->who, cli_printable(ref, shown, sizeof(shown)));
        return 1;
    }
    struct store_result r = {0};
    char err[512] = "";
    int rc = store_incidents_select(x->c, &f, &r, err, sizeof(err));
    if (rc != 0 || r.rows == 0) {
        if (rc)
            fprintf(stderr, "%s: %s\n", x->who, err[0] ? err : base_strerror(rc));
        else
            fprintf(stderr, "%s: no incident %s\n", x->who, cli_printable(ref, shown, sizeof(shown)));
        store_result_free(&r);
        return 1;
    }
    struct store_incident row;
    store_incidents_row(&r, 0, &row);
    *doc = json_loads(row.doc, 0, NULL);
    snprintf(id, id_len, "%s", row.id);
    *number = row.number;
    store_result_free(&r);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        fprintf(stderr, "%s: the stored incident cannot be read\n", x->who);
        return 1;
    }
    return 0;
}

/* Writes doc with changes and the audit row; prints the incident. */
static int write_incident(struct ctx *x, const char *id, int64_t number, json_t *doc, json_t *changes, const char *action,
                 int status, const struct opts *o, int64_t base)
{
    /* a new version over the one read (base): a change the daemon wrote meanwhile is a conflict */
    if (base && incident_doc_int(doc, "updated") <= base)
        json_object_set_new(doc, "updated", json_integer((json_int_t)(base + 1)));
    struct store_incident row;
    char *text = NULL;
    size_t n_ev = 0;
    char **texts = NULL;
    struct store_incident_event *ev = NULL;
    int rc = incident_row(id, number, doc, &row, &text);
    row.expect_updated_ms = base;
    if (rc == 0)
        ev = incident_events(id, changes, incident_doc_int(doc, "updated"), &n_ev, &texts);
    char err[512] = "";
    int64_t assigned = 0;
    if (rc == 0)
        rc = store_incidents_put(x->c, &row, ev, n_ev, &assigned, err, sizeof(err));
    incident_events_free(ev, n_ev, texts);
    free(text);
    char target[80], aerr[256];
    snprintf(target, sizeof(target), "incident %s", id);
    cli_audit(x->c, action, target, rc == 0 ? "ok" : "error", rc == 0 ? status : 500, NULL, aerr, sizeof(aerr));
    if (rc == BASE_ERR_EXISTS) {
        fprintf(stderr, "%s: the incident changed meanwhile (opshub or another command wrote it): run it again\n",
                x->who);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", x->who, err[0] ? err : base_strerror(rc));
        return 1;
    }
    if (o->json)
        return print_json(incident_json(id, assigned, doc, x->sch));
    printf("#%" PRId64 " %s %s %s\n", assigned, incident_doc_str(doc, "state"), incident_doc_str(doc, "severity"),
           incident_doc_str(doc, "title"));
    return 0;
}

static void add(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

static int invalid(struct ctx *x, const struct incident_err *err)
{
    fprintf(stderr, "%s: %s%s%s\n", x->who, err->field[0] ? "--" : "", err->field[0] ? err->field : "",
            err->field[0] ? ": " : "");
    fprintf(stderr, "%s\n", err->message);
    return 2;
}

static int run_open(const struct opts *o)
{
    struct ctx x = {.who = "opshub incident open"};
    if (!o->title || !o->severity) {
        fprintf(stderr, "%s: --title and --severity are required\n", x.who);
        return 2;
    }
    json_t *in = json_object();
    add(in, "title", o->title);
    add(in, "severity", o->severity);
    add(in, "service", o->service);
    add(in, "impact", o->impact);
    add(in, "eta", o->eta);
    add(in, "commander", o->commander);
    add(in, "text", o->text);
    add(in, "state", o->state);
    int rc = open_store(&x, o, false);
    if (rc != 0) {
        json_decref(in);
        return rc;
    }
    int64_t now = base_time_now_ms();
    json_t *changes = json_array();
    struct incident_err err = {"", ""};
    json_t *doc = incident_doc_new(x.sch, in, "manual", x.actor, now, changes, &err);
    json_decref(in);
    if (!doc) {
        json_decref(changes);
        close_store(&x);
        return invalid(&x, &err);
    }
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
        rnd = (uint64_t)now;
    char id[STORE_INCIDENT_ID_MAX];
    incident_new_id(id, sizeof(id), now, rnd);
    rc = write_incident(&x, id, 0, doc, changes, "incident.create", 201, o, 0);
    json_decref(doc);
    json_decref(changes);
    close_store(&x);
    return rc;
}

static int run_change(const struct opts *o, const char *sub, const char *ref)
{
    char who[64];
    snprintf(who, sizeof(who), "opshub incident %s", sub);
    struct ctx x = {.who = who};
    int rc = open_store(&x, o, true);
    if (rc != 0)
        return rc;
    json_t *doc = NULL;
    char id[STORE_INCIDENT_ID_MAX];
    int64_t number = 0;
    if (load(&x, ref, &doc, id, sizeof(id), &number) != 0) {
        close_store(&x);
        return 1;
    }
    int64_t now = base_time_now_ms();
    int64_t base = incident_doc_int(doc, "updated");
    json_t *changes = json_array();
    const char *action = "incident.update";
    int status = 200;
    rc = 0;
    if (!strcmp(sub, "ack")) {
        action = "incident.ack";
        if (incident_doc_state(doc) == INCIDENT_RESOLVED || incident_doc_ack(doc, x.actor, now, "from the CLI",
                                                                            changes) != 0) {
            fprintf(stderr, "%s: #%" PRId64 " is %s\n", who, number,
                    incident_doc_state(doc) == INCIDENT_RESOLVED ? "resolved" : "already acknowledged");
            rc = 1;
        }
    } else if (!strcmp(sub, "resolve")) {
        action = "incident.resolve";
        if (incident_doc_state(doc) == INCIDENT_RESOLVED) {
            fprintf(stderr, "%s: #%" PRId64 " is already resolved\n", who, number);
            rc = 1;
        } else {
            incident_doc_set_state(doc, INCIDENT_RESOLVED, x.actor, now, o->text, changes);
        }
    } else {
        json_t *patch = json_object();
        add(patch, "title", o->title);
        add(patch, "severity", o->severity);
        add(patch, "service", o->service);
        add(patch, "impact", o->impact);
        add(patch, "eta", o->eta);
        add(patch, "commander", o->commander);
        add(patch, "state", o->state);
        add(patch, "text", o->text);
        struct incident_err err = {"", ""};
        if (!json_object_size(patch)) {
            fprintf(stderr, "%s: nothing to change (--state, --text, --severity...)\n", who);
            rc = 2;
        } else if (incident_doc_patch(doc, x.sch, patch, x.actor, now, changes, &err) != 0) {
            rc = invalid(&x, &err);
        }
        json_decref(patch);
    }
    if (rc == 0) {
        if (json_array_size(changes))
            rc = write_incident(&x, id, number, doc, changes, action, status, o, base);
        else if (o->json)
            rc = print_json(incident_json(id, number, doc, x.sch));
        else
            printf("#%" PRId64 " unchanged\n", number);
    }
    json_decref(doc);
    json_decref(changes);
    close_store(&x);
    return rc;
}

static int run_list(const struct opts *o)
{
    struct ctx x = {.who = "opshub incident list"};
    const char *state = o->state ? o->state : "open";
    if (strcmp(state, "open") && strcmp(state, "resolved") && strcmp(state, "all")) {
        fprintf(stderr, "%s: --state is open, resolved or all\n", x.who);
        return 2;
    }
    int rc = open_store(&x, o, true);
    if (rc != 0)
        return rc;
    struct store_incident_filter f = {.open_only = !strcmp(state, "open"), .limit = STORE_INCIDENTS_MAX};
    struct store_result r = {0};
    char err[512] = "";
    rc = store_incidents_select(x.c, &f, &r, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", x.who, err[0] ? err : base_strerror(rc));
        close_store(&x);
        return 1;
    }
    json_t *list = json_array();
    if (!o->json)
        printf("%-6s  %-13s  %-8s  %-24s  %-16s  %s\n", "NUMBER", "STATE", "SEVERITY", "OPENED", "ACKED BY", "TITLE");
    for (size_t i = 0; i < r.rows; i++) {
        struct store_incident row;
        store_incidents_row(&r, i, &row);
        if (!strcmp(state, "resolved") && strcmp(row.state, "RESOLVED"))
            continue;
        json_t *doc = json_loads(row.doc, 0, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            continue;
        }
        if (o->json) {
            json_array_append_new(list, incident_json(row.id, row.number, doc, x.sch));
        } else {
            char t[40];
            const char *by = incident_doc_str(doc, "acked_by");
            printf("#%-5" PRId64 "  %-13s  %-8s  %-24s  %-16.16s  %s\n", row.number, row.state, row.severity,
                   base_time_format_iso8601(row.created_ms, t, sizeof(t)), *by ? by : "-",
                   incident_doc_str(doc, "title"));
        }
        json_decref(doc);
    }
    store_result_free(&r);
    close_store(&x);
    if (o->json)
        return print_json(list);
    json_decref(list);
    return 0;
}

static int run_show(const struct opts *o, const char *ref)
{
    struct ctx x = {.who = "opshub incident show"};
    int rc = open_store(&x, o, true);
    if (rc != 0)
        return rc;
    json_t *doc = NULL;
    char id[STORE_INCIDENT_ID_MAX];
    int64_t number = 0;
    if (load(&x, ref, &doc, id, sizeof(id), &number) != 0) {
        close_store(&x);
        return 1;
    }
    struct store_result r = {0};
    char err[512] = "";
    rc = store_incidents_events(x.c, id, STORE_INCIDENT_EVENTS_MAX, &r, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", x.who, err[0] ? err : base_strerror(rc));
        json_decref(doc);
        close_store(&x);
        return 1;
    }
    json_t *view = incident_json(id, number, doc, x.sch), *tl = json_array();
    char t[40];
    if (!o->json) {
        printf("#%" PRId64 " %s\n  severity %s, %s, opened %s\n", number, incident_doc_str(doc, "title"),
               incident_doc_str(doc, "severity"), incident_doc_str(doc, "state"),
               base_time_format_iso8601(incident_doc_int(doc, "created"), t, sizeof(t)));
        printf("\nTIMELINE\n");
    }
    for (size_t i = 0; i < r.rows; i++) {
        struct store_incident_event e;
        store_incidents_event_row(&r, i, &e);
        base_time_format_iso8601(e.ts_ms, t, sizeof(t));
        if (o->json)
            json_array_append_new(tl, json_pack("{s:s, s:s, s:s, s:s}", "at", t, "actor", e.actor, "kind", e.kind,
                                                "text", e.text));
        else
            printf("  %s  %-16.16s  %s\n", t, *e.actor ? e.actor : "-", e.text);
    }
    store_result_free(&r);
    json_decref(doc);
    close_store(&x);
    if (o->json) {
        json_object_set_new(view, "timeline", tl);
        return print_json(view);
    }
    json_decref(view);
    json_decref(tl);
    return 0;
}

int cli_cmd_incident(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"config", required_argument, NULL, 'c'},  {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {"title", required_argument, NULL, 'T'},   {"severity", required_argument, NULL, 'S'},
        {"service", required_argument, NULL, 'V'}, {"impact", required_argument, NULL, 'I'},
        {"eta", required_argument, NULL, 'E'},     {"commander", required_argument, NULL, 'C'},
        {"text", required_argument, NULL, 'm'},    {"state", required_argument, NULL, 's'},
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
    while ((ch = getopt_long(argc - 1, argv + 1, "c:d:jhT:S:V:I:E:C:m:s:", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'c': o.config = optarg; break;
        case 'd': o.data = optarg; break;
        case 'j': o.json = true; break;
        case 'h': fputs(help, stdout); return 0;
        case 'T': o.title = optarg; break;
        case 'S': o.severity = optarg; break;
        case 'V': o.service = optarg; break;
        case 'I': o.impact = optarg; break;
        case 'E': o.eta = optarg; break;
        case 'C': o.commander = optarg; break;
        case 'm': o.text = optarg; break;
        case 's': o.state = optarg; break;
        default:
            fprintf(stderr, "opshub incident %s: unknown or incomplete option (see --help)\n", sub);
            return 2;
        }
    }
    int n = argc - 1 - optind;
    char **pos = argv + 1 + optind;
    if (!strcmp(sub, "open") || !strcmp(sub, "list")) {
        if (n) {
            fprintf(stderr, "opshub incident %s: unexpected argument (see --help)\n", sub);
            return 2;
        }
        return !strcmp(sub, "open") ? run_open(&o) : run_list(&o);
    }
    if (!strcmp(sub, "update") || !strcmp(sub, "ack") || !strcmp(sub, "resolve") || !strcmp(sub, "show")) {
        if (n != 1) {
            fprintf(stderr, "opshub incident %s: give one incident (its number or id)\n", sub);
            return 2;
        }
        return !strcmp(sub, "show") ? run_show(&o, pos[0]) : run_change(&o, sub, pos[0]);
    }
    char shown[64];
    fprintf(stderr, "opshub incident: unknown subcommand '%s' (open, update, ack, resolve, list, show)\n",
            cli_printable(sub, shown, sizeof(shown)));
    return 2;
}
