/*
 * probe/perfdata: the output of a Nagios-convention plugin taken apart.
 * The plugin development guidelines define it: the first line is the
 * status text, optionally followed by `|` and performance data; further
 * lines are long text, and from the first of them holding a `|` on,
 * everything after that bar is more performance data. A datum is
 *
 *     'label'=value[UOM];[warn];[crit];[min];[max]
 *
 * (the label quoted when it holds spaces or `=`, a quote inside written
 * twice). Each datum becomes a sample value: the label turned into a value
 * name ([a-z0-9_], `/` alone becomes `root`), and the unit into a base
 * unit with the Prometheus suffix (s/ms/us -> _seconds, B/KB/MB/GB/TB ->
 * _bytes with 1024 steps as monitoring-plugins use them, % -> _ratio
 * divided by 100, c -> _total). warn/crit/min/max are skipped. Pure and
 * allocation-free: it only reads `text` (any bytes: a plugin's output is
 * untrusted) and writes into caller-owned structs.
 */
#ifndef PROBE_PERFDATA_H
#define PROBE_PERFDATA_H

#include "model/sample.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_PERFDATA_ITEMS_MAX 32   /* data kept; more are counted in `dropped` */
#define PROBE_PERFDATA_LABEL_MAX 64   /* bytes of a label kept (longer ones are cut) */

struct probe_perfdata_item {
    char label[PROBE_PERFDATA_LABEL_MAX]; /* as the plugin wrote it, unquoted, cut */
    char name[SAMPLE_VALUE_NAME_MAX];     /* the value name it becomes */
    double value;                         /* in the base unit of `name` */
};

struct probe_perfdata {
    const char *summary;      /* the status text: into the input, not NUL-terminated */
    size_t summary_len;       /* trimmed of surrounding blanks */
    struct probe_perfdata_item items[PROBE_PERFDATA_ITEMS_MAX];
    size_t n_items;
    size_t dropped;           /* malformed data, "U" values, duplicate names, and those past the cap */
};

/* Parses a plugin's stdout (len bytes, NULs allowed) into *out. Never
 * fails: what cannot be read is counted in out->dropped. `text` must
 * outlive the use of out->summary. */
void probe_perfdata_parse(const char *text, size_t len, struct probe_perfdata *out);

/* The value name of a label and unit (both as written, unit may be ""),
 * into name (SAMPLE_VALUE_NAME_MAX), and the factor to the base unit.
 * Returns false for a unit it does not know: name and factor are then
 * those of no unit (the value kept as written, no suffix). */
bool probe_perfdata_name(const char *label, size_t label_len, const char *unit, size_t unit_len,
                         char name[SAMPLE_VALUE_NAME_MAX], double *factor);

#endif
