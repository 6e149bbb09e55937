/*
 * oncall/oncall: the rotations and escalation policies of the running
 * configuration, compiled (zones loaded at load and reload, never on a
 * request), and what the API shows of them: who is on call now or at an
 * instant for each rotation and each step of each policy, the spans of a
 * rotation over a range, and a rotation as an iCalendar feed (RFC 5545,
 * written with libical). Loop thread only.
 */
#ifndef ONCALL_ONCALL_H
#define ONCALL_ONCALL_H

#include "conf/conf.h"
#include "oncall/rotation.h"
#include "store/overrides.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct oncall;

struct oncall *oncall_new(void);
/* Compiles c's rotations (c is borrowed until the next apply or the free).
 * 0, or -1 with why (a zone that no longer loads: the previous ones stay). */
int oncall_apply(struct oncall *o, const struct conf *c, char *why, size_t why_len);
void oncall_free(struct oncall *o);

const struct oncall_rotation *oncall_find(const struct oncall *o, const char *id);

/* The overrides made through the API (store/overrides.h), copied; each
 * goes to its rotation (after the configuration's: the newest of two that
 * overlap wins), also after a reload. 0 or BASE_ERR_NOMEM (the previous
 * ones stay). */
int oncall_set_overrides(struct oncall *o, const struct store_override *list, size_t n);
/* The API's overrides that ended this long ago are not read any more. */
#define ONCALL_OVERRIDES_KEEP_MS (35LL * 86400000)

/* {"at", "rotations": [{id, name, user, override, since, until}], "policies": [{id, description,
 * repeat, steps: [{step, delay_seconds, targets: [{kind, id, user?, until?}]}]}]}. */
json_t *oncall_json_now(const struct oncall *o, int64_t at_ms);
/* A rotation's settings, who is on call at now and next, and its spans from..to. */
json_t *oncall_json_rotation(const struct oncall *o, const struct oncall_rotation *r, int64_t now_ms, int64_t from_ms,
                             int64_t to_ms, bool with_spans);
json_t *oncall_json_rotations(const struct oncall *o, int64_t now_ms);

/* The rotation's shifts from..to as a VCALENDAR (one VEVENT per span with
 * someone on call), in a malloc'd string the caller frees with free();
 * NULL when out of memory. */
char *oncall_ics(const struct oncall_rotation *r, int64_t now_ms, int64_t from_ms, int64_t to_ms);

#endif
