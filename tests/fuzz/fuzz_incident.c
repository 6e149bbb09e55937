/*
 * libFuzzer target for incidents/incident and incidents/postmortem: any
 * bytes that are a JSON object become a new incident's input, then a patch
 * of it (the API validates types first; this target gives them anything),
 * then the store row, the API view and the Markdown export. A refusal must
 * name a field or say why; an accepted document must export.
 */
#include "base/buf.h"
#include "conf/incidents.h"
#include "incidents/incident.h"
#include "incidents/postmortem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conf_incidents sch;
    static int ready;
    if (!ready) {
        conf_incidents_defaults(&sch);
        ready = 1;
    }
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    json_t *ch = json_array();
    struct incident_err err = {"", ""};
    json_t *doc = incident_doc_new(&sch, in, "manual", "fuzz", 1700000000000LL, ch, &err);
    if (!doc) {
        if (!err.message[0])
            abort();
        json_decref(in);
        json_decref(ch);
        return 0;
    }
    struct incident_err perr = {"", ""};
    if (incident_doc_patch(doc, &sch, in, "fuzz", 1700000001000LL, ch, &perr) != 0 && !perr.message[0])
        abort();
    incident_doc_ack(doc, "fuzz", 1700000002000LL, "fuzz", ch);
    incident_doc_set_state(doc, INCIDENT_RESOLVED, "fuzz", 1700000003000LL, "done", ch);
    struct store_incident row;
    char *text = NULL;
    if (incident_row("ifuzz", 1, doc, &row, &text) != 0)
        abort();
    size_t n;
    char **texts;
    struct store_incident_event *ev = incident_events("ifuzz", ch, 1700000003000LL, &n, &texts);
    json_t *view = incident_json("ifuzz", 1, doc, &sch);
    if (!view)
        abort();
    struct base_buf b;
    base_buf_init(&b, 1 << 22);
    if (incidents_postmortem_markdown(1, doc, "HIGH", ev, n, &b) != 0)
        abort();
    base_buf_free(&b);
    json_decref(view);
    incident_events_free(ev, n, texts);
    free(text);
    json_decref(doc);
    json_decref(ch);
    json_decref(in);
    return 0;
}
