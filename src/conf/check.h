/*
 * conf/check: checks in the configuration and the interface every check
 * type implements. A type (http, tcp, ... one file each under src/probe,
 * listed once in probe/registry.c) declares its name, its settings as a
 * field table (conf/schema.h: parsing, validation, hash, copy and JSON all
 * come from it), what it probes (`target`), the named values its samples
 * carry and the metrics they become, and how a run starts and is canceled
 * (called by probe/probe.c only: conf never runs anything). A passive type
 * has no runs: the scheduler waits for signals from outside and reports
 * the check down when its deadline passes. The set of types is handed to
 * the loader (struct conf_check_types); conf never names a type itself.
 */
#ifndef CONF_CHECK_H
#define CONF_CHECK_H

#include "base/arena.h"
#include "conf/schema.h"
#include "conf/value.h"
#include "model/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct probe_engine; /* probe/probe.h */
struct probe_run;
struct conf_check;

/* A named value a type's samples carry, and how /metrics shows it: as
 * `metric{check,project,type[,label_name="label_value"]} value`. */
struct conf_check_value {
    const char *name;           /* the sample value name ("phase_connect_seconds"); NULL ends a list */
    const char *help;           /* one line: what it measures, in which unit */
    const char *metric;         /* Prometheus name, blackbox_exporter's where one exists */
    const char *label_name;     /* optional extra label, e.g. "phase" (NULL: none) */
    const char *label_value;    /* e.g. "connect" */
};

struct conf_check_type {
    const char *name;                   /* "http": the `type:` of a check */
    const char *summary;                /* one line for docs and errors */
    size_t settings_size;               /* the type's settings struct */
    const struct conf_field *fields;    /* its keys, beside the common ones (id, interval, ...) */
    /* Defaults into zeroed settings (may be NULL): 0 or BASE_ERR_NOMEM. */
    int (*init)(void *settings, struct base_arena *a);
    /* Checks across fields after parsing (may be NULL); reports through ctx. */
    void (*validate)(struct conf_ctx *ctx, const struct conf_node *map, const struct conf_check *c);
    /* What the check probes, for people (URL without credentials, host:port). */
    void (*target)(const struct conf_check *c, char *buf, size_t n);
    const struct conf_check_value *values; /* NULL-name terminated; may be empty */
    bool passive;                       /* no runs: deadline-driven (start/cancel NULL) */
    /* Passive types: time allowed past the interval before the deadline
     * passes (may be NULL: none). */
    int64_t (*grace_ms)(const struct conf_check *c);
    /* Passive types: the sample reported when no signal came for silent_ms
     * (result down, error set). */
    void (*expire)(const struct conf_check *c, int64_t silent_ms, struct sample *s);
    /* Active types: starts one run (see probe/probe.h), NULL on OOM. */
    struct probe_run *(*start)(struct probe_engine *e, const struct conf_check *c);
    /* Aborts a run started by start; it frees itself. */
    void (*cancel)(struct probe_run *r);
    /* Passive types: the time expected between signals, instead of the
     * check's interval (may be NULL: the interval). */
    int64_t (*period_ms)(const struct conf_check *c);
    /* Passive types: the sample reported when a run begun with
     * sched_signal_start did not end within its limit, run_ms after it
     * began (may be NULL: the expire sample). */
    void (*expire_run)(const struct conf_check *c, int64_t run_ms, struct sample *s);
};

/* The types a loader accepts, in a fixed order (the registry). */
struct conf_check_types {
    const struct conf_check_type *const *items;
    size_t n;
};

/* The type called `name`, or NULL. */
const struct conf_check_type *conf_check_types_find(const struct conf_check_types *t, const char *name);
/* Position of `type` in t, or -1. */
int conf_check_types_index(const struct conf_check_types *t, const struct conf_check_type *type);

/* Where a running check or project was defined. */
enum conf_source { CONF_SOURCE_FILE = 0, CONF_SOURCE_API = 1 };

struct conf_check {
    const char *id;
    const char *name;        /* defaults to id */
    const char *project;     /* may be NULL */
    const struct conf_check_type *type;
    int64_t interval_ms;     /* default 60s; 100ms .. 365d */
    int64_t timeout_ms;      /* default 10s (half the interval when that is 10s or less); always < interval_ms */
    int confirm;             /* consecutive down samples before DOWN; default 1 */
    bool enabled;            /* false => status "paused" */
    struct conf_kv *labels;
    size_t n_labels;
    void *settings;          /* the type's settings (type->fields), in the conf arena */
    enum conf_source source;
    const char *file;        /* the file it is defined in (the main file or an included one); NULL from the API */
    int line, col;           /* where the check starts in that file; 0 from the API */
    /* Hash of the type and every field of the common and the type's tables
     * (not line/col/source): equal hashes mean an unchanged definition
     * across a reload. */
    uint64_t hash;
};

/* The table of the fields every check has (id, name, project, type,
 * interval, timeout, confirm, enabled, labels), for docs and OpenAPI. */
extern const struct conf_field conf_check_common_fields[];

/* "an" or "a" for "<article> http check" in messages. */
const char *conf_check_article(const struct conf_check_type *t);

#endif
