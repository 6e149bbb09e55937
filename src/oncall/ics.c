/*
 * oncall/ics: a rotation as an iCalendar feed (RFC 5545), built with
 * libical (which escapes text and folds long lines): one VEVENT per span
 * with someone on call, times in UTC, a UID that stays the same for the
 * same span so a calendar client updates rather than duplicates it.
 */
#include "oncall/oncall.h"

#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct icaltimetype utc(int64_t ms)
{
    return icaltime_from_timet_with_zone((time_t)(ms / 1000), 0, icaltimezone_get_utc_timezone());
}

char *oncall_ics(const struct oncall_rotation *r, int64_t now_ms, int64_t from_ms, int64_t to_ms)
{
    const struct conf_rotation *c = oncall_rotation_conf(r);
    static struct oncall_span spans[ONCALL_SPANS_MAX];   /* loop thread only */
    size_t n = oncall_rotation_spans(r, from_ms, to_ms, spans, ONCALL_SPANS_MAX);
    icalcomponent *cal = icalcomponent_new_vcalendar();
    if (!cal)
        return NULL;
    char name[300];
    snprintf(name, sizeof(name), "On call: %s", c->name ? c->name : c->id);
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_prodid("-//opshub//on-call rotations//EN"));
    icalcomponent_add_property(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
    icalproperty *xname = icalproperty_new_x(name);
    if (xname) {
        icalproperty_set_x_name(xname, "X-WR-CALNAME");
        icalcomponent_add_property(cal, xname);
    }
    for (size_t i = 0; i < n; i++) {
        const struct oncall_span *s = &spans[i];
        if (!s->user || s->start_ms == INT64_MIN || s->end_ms == INT64_MAX)
            continue;
        icalcomponent *ev = icalcomponent_new_vevent();
        if (!ev)
            break;
        char uid[400], summary[300], desc[400];
        snprintf(uid, sizeof(uid), "%s-%lld-%s@opshub", c->id, (long long)(s->start_ms / 1000), s->user);
        snprintf(summary, sizeof(summary), "%s on call (%s)", s->user, c->name ? c->name : c->id);
        snprintf(desc, sizeof(desc), "%s is on call for the rotation %s%s.", s->user, c->id,
                 s->override ? " (an override)" : "");
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc(now_ms)));
        icalcomponent_add_property(ev, icalproperty_new_dtstart(utc(s->start_ms)));
        icalcomponent_add_property(ev, icalproperty_new_dtend(utc(s->end_ms)));
        icalcomponent_add_property(ev, icalproperty_new_summary(summary));
        icalcomponent_add_property(ev, icalproperty_new_description(desc));
        icalcomponent_add_property(ev, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
        icalcomponent_add_component(cal, ev);
    }
    char *text = icalcomponent_as_ical_string_r(cal);
    icalcomponent_free(cal);
    return text;
}
