/*
 * Unit tests for model/event: subscribers get only the kinds they asked
 * for, in registration order, with the event as published; the table is
 * bounded; unsubscribing removes exactly one owner's subscriptions; the
 * counters count.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/err.h"
#include "model/event.h"

#include <string.h>

struct seen {
    int order[16];
    int n;
    const struct sample *last_sample;
    int last_status;
};

static struct seen log_;

static void on_a(void *data, const struct event *ev)
{
    log_.order[log_.n++] = 1;
    log_.last_sample = ev->u.check.sample;
}

static void on_b(void *data, const struct event *ev)
{
    log_.order[log_.n++] = 2;
    log_.last_status = ev->u.check.status;
}

static void test_event_delivers_by_kind_in_order(void **state)
{
    struct event_bus bus;
    event_bus_init(&bus);
    memset(&log_, 0, sizeof(log_));
    assert_int_equal(event_subscribe(&bus, "a", EVENT_MASK(EVENT_SAMPLE), on_a, NULL), 0);
    assert_int_equal(event_subscribe(&bus, "b", EVENT_MASK(EVENT_SAMPLE) | EVENT_MASK(EVENT_STATUS), on_b, NULL), 0);
    struct sample s;
    sample_init(&s, 1);
    struct event ev = {.kind = EVENT_SAMPLE, .u.check = {NULL, "x", &s, NULL, 2, 0}};
    event_publish(&bus, &ev);
    assert_int_equal(log_.n, 2);
    assert_int_equal(log_.order[0], 1);
    assert_int_equal(log_.order[1], 2);
    assert_ptr_equal(log_.last_sample, &s); /* borrowed, not copied: no allocation */
    ev.kind = EVENT_STATUS;
    event_publish(&bus, &ev);
    assert_int_equal(log_.n, 3);
    assert_int_equal(log_.order[2], 2);
    assert_int_equal(log_.last_status, 2);
    assert_int_equal(bus.published[EVENT_SAMPLE], 1);
    assert_int_equal(bus.published[EVENT_STATUS], 1);
    assert_int_equal(bus.subs[0].delivered, 1);
    assert_int_equal(bus.subs[1].delivered, 2);
    ev.kind = EVENT_KIND_COUNT; /* out of range: ignored */
    event_publish(&bus, &ev);
    assert_int_equal(log_.n, 3);
    assert_string_equal(event_kind_name(EVENT_STATUS), "status");
    assert_string_equal(event_kind_name(EVENT_KIND_COUNT), "unknown");
}

static void test_event_table_is_bounded_and_unsubscribe_is_exact(void **state)
{
    struct event_bus bus;
    event_bus_init(&bus);
    int owners[EVENT_SUBSCRIBERS_MAX];
    for (int i = 0; i < EVENT_SUBSCRIBERS_MAX; i++)
        assert_int_equal(event_subscribe(&bus, "n", EVENT_MASK(EVENT_SAMPLE), on_a, &owners[i]), 0);
    assert_int_equal(event_subscribe(&bus, "x", EVENT_MASK(EVENT_SAMPLE), on_a, NULL), BASE_ERR_TOO_BIG);
    event_unsubscribe(&bus, on_a, &owners[5]);
    assert_int_equal(bus.n_subs, EVENT_SUBSCRIBERS_MAX - 1);
    for (size_t i = 0; i < bus.n_subs; i++)
        assert_ptr_not_equal(bus.subs[i].data, &owners[5]);
    event_unsubscribe(&bus, on_b, &owners[6]); /* another callback: nothing removed */
    assert_int_equal(bus.n_subs, EVENT_SUBSCRIBERS_MAX - 1);
    memset(&log_, 0, sizeof(log_));
    struct sample s;
    sample_init(&s, 1);
    struct event ev = {.kind = EVENT_STATUS, .u.check = {NULL, "x", &s, NULL, 0, 0}};
    event_publish(&bus, &ev); /* nobody asked for status */
    assert_int_equal(log_.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_delivers_by_kind_in_order),
        cmocka_unit_test(test_event_table_is_bounded_and_unsubscribe_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
