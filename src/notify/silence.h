/*
 * notify/silence: silences as the API and the CLI take and show them, in
 * Alertmanager's shapes (API v2 PostableSilence / GettableSilence): a
 * list of matchers ({name, value, isRegex, isEqual} objects, or the
 * strings amtool and PromQL write: name=value, name!=value, name=~re,
 * name!~re), startsAt, endsAt, createdBy, comment. Validation names the
 * JSON path of what is wrong. The notification layer mutes the alerts an
 * active silence matches (notify.c); this file only reads and writes.
 */
#ifndef NOTIFY_SILENCE_H
#define NOTIFY_SILENCE_H

#include "store/silences.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_SILENCE_MATCHERS_MAX 32
#define NOTIFY_SILENCE_TEXT_MAX 4096      /* createdBy, comment, a matcher's value */

/* One matcher string ("severity=~crit.*") as a matcher object (new
 * reference), or NULL with why. */
json_t *notify_matcher_parse(const char *s, char *why, size_t why_len);

/* A silence from a request body. `now` gives the defaults (startsAt now;
 * with `duration`, endsAt = startsAt + duration). On success *out holds
 * copies (notify_silence_clear frees them) and 0 is returned; otherwise -1
 * with why and the body's path of the bad member in field. An id in the
 * body is kept (an update); none: a new random one. */
int notify_silence_from_json(const json_t *body, int64_t now, struct store_silence *out, char *why, size_t why_len,
                             char *field, size_t field_len);
void notify_silence_clear(struct store_silence *s);
/* "pending", "active" or "expired" at now. */
const char *notify_silence_state(const struct store_silence *s, int64_t now);
/* Alertmanager's GettableSilence (new reference). */
json_t *notify_silence_json(const struct store_silence *s, int64_t now);
/* A new silence id: a random UUID (version 4). */
void notify_silence_new_id(char *out, size_t n);

#endif
