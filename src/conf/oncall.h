/*
 * conf/oncall: the `rotations:` and `escalation_policies:` sections
 * (docs/incidents.md). A rotation hands the on-call duty from member to
 * member: shifts of `length` (a whole number of days counts in the
 * calendar of its time zone, so a handoff stays at its wall-clock time
 * across a change to or from summer time; a length in hours counts in
 * absolute time), beginning at the `handoff` time (a weekday and a time
 * for lengths of whole weeks) on or after `start`, restricted to times of
 * the week (`restrict`), with one-off `overrides`. An escalation policy is
 * a list of steps; each waits its `delay` after the previous one (the
 * first: after the incident opened), then notifies its targets (users,
 * the current on-call of a rotation, channels); the whole list repeats
 * `repeat` more times. Users are names of opshub's users, looked up when
 * a page goes out (they are not part of the configuration).
 */
#ifndef CONF_ONCALL_H
#define CONF_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_ROTATIONS_MAX 200
#define CONF_ROTATION_MEMBERS_MAX 100
#define CONF_ROTATION_RESTRICT_MAX 28
#define CONF_ROTATION_OVERRIDES_MAX 500
#define CONF_POLICIES_MAX 200
#define CONF_POLICY_STEPS_MAX 20
#define CONF_POLICY_TARGETS_MAX 20
#define CONF_POLICY_REPEAT_MAX 10
#define CONF_ROTATION_START_DEFAULT "2024-01-01"   /* a Monday */

/* A time of the week the rotation is on call: from..to on each of days.
 * to <= from crosses midnight (the window belongs to the day it starts). */
struct conf_rotation_window {
    uint8_t days;             /* bit d: weekday d (0 Sunday .. 6 Saturday) */
    int from_min, to_min;     /* minutes after local midnight; to_min may be 1440 */
};

/* user replaces whoever is on call from..to. */
struct conf_rotation_override {
    const char *user;
    int64_t from_ms, to_ms;
};

struct conf_rotation {
    const char *id;
    const char *name;         /* NULL: the id */
    const char *const *members;   /* in order: members[0] has the shift that begins at start */
    size_t n_members;
    int64_t length_ms;        /* shift length */
    int length_days;          /* > 0: whole days, counted in the zone's calendar */
    int handoff_wday;         /* -1: none given; 0 Sunday .. 6 Saturday */
    int handoff_min;          /* minutes after local midnight */
    const char *timezone;     /* the system tz database's name; "UTC" by default */
    int64_t start_day;        /* days since 1970-01-01 of the local date of the first shift */
    const struct conf_rotation_window *windows; /* restrict: (none: always) */
    size_t n_windows;
    const struct conf_rotation_override *overrides;
    size_t n_overrides;
    int line;
};

enum conf_target_kind { CONF_TARGET_USER, CONF_TARGET_ROTATION, CONF_TARGET_CHANNEL };

struct conf_target {
    enum conf_target_kind kind;
    const char *id;           /* user name, rotation id or channel id */
};

struct conf_policy_step {
    int64_t delay_ms;         /* after the previous step (the first: after the incident opened) */
    const struct conf_target *targets;
    size_t n_targets;
};

struct conf_policy {
    const char *id;
    const char *description;  /* NULL: none */
    int repeat;               /* times the steps run again after the last; 0 by default */
    const struct conf_policy_step *steps;
    size_t n_steps;
    int line;
};

const char *conf_target_kind_name(enum conf_target_kind k);

struct conf;
struct conf_ctx;
struct conf_node;
/* Parses both sections (either may be NULL) into c->rotations and
 * c->policies; targets are checked against the rotations and c->notify's
 * channels, so notify must be parsed first. */
void conf_oncall_parse(struct conf_ctx *ctx, const struct conf_node *rotations, const struct conf_node *policies,
                       struct conf *c);
const struct conf_rotation *conf_rotation_find(const struct conf *c, const char *id);
const struct conf_policy *conf_policy_find(const struct conf *c, const char *id);

#endif
