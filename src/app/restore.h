/*
 * app/restore: a restarted daemon gets each check's uptime over the last
 * day back from the store instead of starting from nothing: the hourly
 * rollups of the day (they hold every sample written before
 * meta.hours_through), then the samples themselves from hours_through to
 * the start (a few minutes at most: rollups are added every five minutes
 * and at shutdown); samples taken after the start are counted live. Pages
 * of at most STORE_HOURS_PAGE_MAX rows, each read on the store thread and
 * applied on the loop before the next is asked for, so memory stays
 * bounded at 100,000 checks. Stops when the scheduler is gone.
 */
#ifndef APP_RESTORE_H
#define APP_RESTORE_H

#include "model/sample.h"
#include "sched/sched.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app_restore {
    struct store *store;
    struct sched *const *sched;     /* the app's pointer: NULL once the scheduler closed */
    int64_t start_ms;
    /* private: */
    int phase;                      /* 0 rollups, 1 samples since hours_through, 2 done */
    int64_t through_ms;             /* meta.hours_through, read with the first page */
    char after_check[SAMPLE_CHECK_ID_MAX];
    int64_t after_hour;
    struct sample_hours_row *page;  /* filled on the store thread */
    size_t n, applied;
    int pages;
};

/* Starts restoring into *sched (both borrowed; the store must outlive the
 * restore: it is closed after the scheduler). 0 or a store_call error. */
int app_restore_uptime(struct app_restore *r, struct store *st, struct sched *const *sched, int64_t start_ms);

#endif
