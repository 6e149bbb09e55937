/*
 * base/tz: time zones from the system tz database (/usr/share/zoneinfo,
 * Debian's tzdata), read by opshub itself: the C library's localtime and
 * mktime work on one process-wide zone chosen through the TZ variable,
 * which a multi-threaded program cannot switch safely. A zone is a TZif
 * file (RFC 8536, version 2 or later: 64-bit transitions) and its footer,
 * a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") for the instants after
 * the last transition. Parsers are bounded and fuzzed. No I/O but
 * base_tz_load.
 */
#ifndef BASE_TZ_H
#define BASE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BASE_TZ_NAME_MAX 64
#define BASE_TZ_FILE_MAX (256 * 1024)
#define BASE_TZ_DIR "/usr/share/zoneinfo"

struct base_tz;

/* The zone called name ("Asia/Dhaka", "UTC", "Europe/Berlin") from
 * BASE_TZ_DIR; NULL with the reason in why (an unknown zone, a bad name,
 * a file that is not TZif). */
struct base_tz *base_tz_load(const char *name, char *why, size_t why_len);
/* The same from the bytes of a TZif file (tests, fuzzing). */
struct base_tz *base_tz_parse(const char *name, const unsigned char *data, size_t len, char *why, size_t why_len);
/* UTC, without the database. */
struct base_tz *base_tz_utc(void);
void base_tz_free(struct base_tz *tz);
const char *base_tz_name(const struct base_tz *tz);

/* Seconds east of UTC at the instant t (unix seconds). */
int32_t base_tz_offset(const struct base_tz *tz, int64_t t);
/* The instant of a local wall-clock time (local: seconds since 1970-01-01
 * 00:00 of the local calendar). A time skipped by a change forward is
 * taken as the instant the same distance after the change (02:30 in a
 * 02:00 -> 03:00 gap is 03:30); a time that happens twice is its first. */
int64_t base_tz_from_local(const struct base_tz *tz, int64_t local);

/* A POSIX TZ rule alone ("<+06>-6", "EST5EDT,M3.2.0,M11.1.0"): 0, or -1
 * when it is not one. For fuzzing and the footer. */
int base_tz_rule_check(const char *rule, size_t len);

/* Civil calendar helpers (proleptic Gregorian), for schedules. */
int64_t base_tz_days_from_civil(int64_t y, int m, int d);
void base_tz_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
