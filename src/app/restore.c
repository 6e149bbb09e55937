/*
 * app/restore: paging the store's hourly rollups into the scheduler.
 */
#include "app/restore.h"

#include "base/alloc.h"
#include "base/log.h"
#include "store/hours.h"

#include <string.h>

#define DAY_HOURS 24

static int page_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct app_restore *r = data;
    int64_t start_hour = r->start_ms / 3600000;
    if (r->phase == 0) {
        int rc = r->pages ? 0 : store_hours_through(c, &r->through_ms, err, errlen);
        /* rows from the through hour on may be partial: the samples say it */
        int64_t to_hour = r->through_ms >= 0 && r->through_ms / 3600000 < start_hour + 1 ? r->through_ms / 3600000
                                                                                      : start_hour + 1;
        return rc ? rc : store_hours_page(c, start_hour - (DAY_HOURS - 1), to_hour, r->after_check,
                                          r->after_hour, STORE_HOURS_PAGE_MAX, &r->page, &r->n, err, errlen);
    }
    /* what the rollups do not hold yet, within the day */
    if (r->through_ms < 0)
        return 0;
    int64_t from = r->through_ms > (start_hour - (DAY_HOURS - 1)) * 3600000 ? r->through_ms
                                                                          : (start_hour - (DAY_HOURS - 1)) * 3600000;
    if (from >= r->start_ms)
        return 0;
    return store_hours_raw_page(c, from, r->start_ms, r->after_check, r->after_hour, STORE_HOURS_PAGE_MAX,
                                &r->page, &r->n, err, errlen);
}

static void page_done(void *data, int status, const char *errmsg);

static int submit(struct app_restore *r)
{
    r->page = NULL;
    r->n = 0;
    return store_call(r->store, page_work, page_done, r);
}

static void page_done(void *data, int status, const char *errmsg)
{
    struct app_restore *r = data;
    struct sched *s = *r->sched;
    if (status || !s) {
        if (status && status != BASE_ERR_CANCELED)
            base_log_warn("could not restore the uptime of the last day", BASE_LOG_STR("error", errmsg ? errmsg : ""));
        base_free(r->page);
        r->page = NULL;
        r->phase = 2;
        return;
    }
    sched_restore_uptime(s, r->page, r->n);
    r->applied += r->n;
    r->pages++;
    bool full = r->n == STORE_HOURS_PAGE_MAX;
    if (full) {
        memcpy(r->after_check, r->page[r->n - 1].check_id, sizeof(r->after_check));
        r->after_hour = r->page[r->n - 1].hour;
    }
    base_free(r->page);
    r->page = NULL;
    if (!full) {
        r->phase++;
        r->after_check[0] = '\0';
        r->after_hour = 0;
    }
    if (r->phase < 2 && submit(r) == 0)
        return;
    r->phase = 2;
    base_log_info("restored the uptime of the last day", BASE_LOG_INT("rows", (long long)r->applied),
                  BASE_LOG_INT("pages", r->pages));
}

int app_restore_uptime(struct app_restore *r, struct store *st, struct sched *const *sched, int64_t start_ms)
{
    memset(r, 0, sizeof(*r));
    r->store = st;
    r->sched = sched;
    r->start_ms = start_ms;
    return submit(r);
}
