/*
 * model/event: a fixed table of subscribers and a loop over it.
 */
#include "model/event.h"

#include "base/err.h"

#include <string.h>

void event_bus_init(struct event_bus *b)
{
    memset(b, 0, sizeof(*b));
}

int event_subscribe(struct event_bus *b, const char *name, unsigned mask, event_cb cb, void *data)
{
    if (b->n_subs >= EVENT_SUBSCRIBERS_MAX)
        return BASE_ERR_TOO_BIG;
    struct event_subscriber *s = &b->subs[b->n_subs++];
    s->name = name;
    s->mask = mask;
    s->cb = cb;
    s->data = data;
    s->delivered = 0;
    return 0;
}

void event_unsubscribe(struct event_bus *b, event_cb cb, const void *data)
{
    size_t o = 0;
    for (size_t i = 0; i < b->n_subs; i++)
        if (!(b->subs[i].cb == cb && b->subs[i].data == data))
            b->subs[o++] = b->subs[i];
    b->n_subs = o;
}

void event_publish(struct event_bus *b, const struct event *ev)
{
    if ((unsigned)ev->kind >= EVENT_KIND_COUNT)
        return;
    unsigned bit = EVENT_MASK(ev->kind);
    b->published[ev->kind]++;
    for (size_t i = 0; i < b->n_subs; i++) {
        struct event_subscriber *s = &b->subs[i];
        if (s->mask & bit) {
            s->delivered++;
            s->cb(s->data, ev);
        }
    }
}

const char *event_kind_name(enum event_kind k)
{
    switch (k) {
    case EVENT_SAMPLE: return "sample";
    case EVENT_STATUS: return "status";
    case EVENT_SERIES: return "series";
    case EVENT_ALERT: return "alert";
    case EVENT_KIND_COUNT: break;
    }
    return "unknown";
}
