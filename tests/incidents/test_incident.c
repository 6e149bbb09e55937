/*
 * incidents/incident and incidents/postmortem without a daemon: a new
 * document from input (defaults, the level's deadline, the first update,
 * a start state), every refusal naming its field, patches (no change is no
 * entry; severity re-arms the deadline of an unacknowledged incident; null
 * clears), acknowledgement once, resolve and reopen, the store row and
 * events, the API view, and the Markdown export (pipes and line breaks in
 * table cells escaped, follow-ups as a task list).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "conf/incidents.h"
#include "incidents/incident.h"
#include "incidents/postmortem.h"

#include <stdlib.h>
#include <string.h>

#define T0 1764820800000LL /* 2025-12-04T04:00:00Z */

static struct conf_incidents sch;

static int setup(void **state)
{
    (void)state;
    conf_incidents_defaults(&sch);
    return 0;
}

static json_t *new_doc(const char *json, json_t *changes, struct incident_err *err)
{
    json_t *in = json_loads(json, 0, NULL);
    assert_non_null(in);
    json_t *doc = incident_doc_new(&sch, in, "manual", "alice", T0, changes, err);
    json_decref(in);
    return doc;
}

static void test_new_incident(void **state)
{
    (void)state;
    json_t *ch = json_array();
    struct incident_err err;
    json_t *doc = new_doc("{\"title\": \"Checkout down\", \"severity\": \"P2\", \"state\": \"IDENTIFIED\","
                          " \"text\": \"Looking\", \"responders\": [\"bob\"]}", ch, &err);
    assert_non_null(doc);
    assert_string_equal(incident_doc_str(doc, "state"), "IDENTIFIED");
    assert_int_equal(incident_doc_int(doc, "ack_deadline"), T0 + 4 * 3600000LL);
    assert_int_equal(incident_doc_int(doc, "created"), T0);
    assert_string_equal(incident_doc_str(doc, "last_update"), "Looking");
    assert_int_equal(json_array_size(ch), 3);   /* opened, state, update */
    assert_string_equal(incident_doc_str(json_array_get(ch, 0), "kind"), "opened");
    assert_string_equal(incident_doc_str(json_array_get(ch, 1), "text"), "INVESTIGATING -> IDENTIFIED");
    assert_string_equal(incident_doc_str(json_array_get(ch, 2), "actor"), "alice");
    json_t *view = incident_json("i1", 7, doc, &sch);
    assert_string_equal(json_string_value(json_object_get(view, "severity_label")), "MEDIUM");
    assert_int_equal(json_integer_value(json_object_get(view, "number")), 7);
    assert_string_equal(json_string_value(json_object_get(view, "created")), "2025-12-04T04:00:00.000Z");
    assert_true(json_is_null(json_object_get(view, "acked_at")));
    json_decref(view);
    json_decref(doc);
    json_decref(ch);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"severity\": \"P1\"}", "title"},
        {"{\"title\": \"\", \"severity\": \"P1\"}", "title"},
        {"{\"title\": \"a\\nb\", \"severity\": \"P1\"}", "title"},
        {"{\"title\": \"x\"}", "severity"},
        {"{\"title\": \"x\", \"severity\": \"P9\"}", "severity"},
        {"{\"title\": \"x\", \"severity\": \"P1\", \"state\": \"DONE\"}", "state"},
        {"{\"title\": \"x\", \"severity\": \"P1\", \"responders\": [1]}", "responders"},
        {"{\"title\": \"x\", \"severity\": \"P1\", \"postmortem\": {\"why\": \"x\"}}", "postmortem.why"},
        {"{\"title\": \"x\", \"severity\": \"P1\", \"postmortem\": {\"follow_ups\": [{\"done\": true}]}}",
         "postmortem.follow_ups[0]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *ch = json_array();
        struct incident_err err = {"", ""};
        json_t *doc = new_doc(bad[i].json, ch, &err);
        if (doc)
            fail_msg("accepted: %s", bad[i].json);
        assert_string_equal(err.field, bad[i].field);
        assert_true(err.message[0] != 0);
        assert_int_equal(json_array_size(ch), 0);
        json_decref(ch);
    }
}

static void test_patch_ack_resolve_reopen(void **state)
{
    (void)state;
    json_t *ch = json_array();
    struct incident_err err;
    json_t *doc = new_doc("{\"title\": \"x\", \"severity\": \"P3\", \"eta\": \"1h\"}", ch, &err);
    json_array_clear(ch);
    json_t *p = json_loads("{\"title\": \"x\"}", 0, NULL);
    assert_int_equal(incident_doc_patch(doc, &sch, p, "bob", T0 + 1000, ch, &err), 0);
    assert_int_equal(json_array_size(ch), 0);   /* the same value is no change */
    json_decref(p);
    p = json_loads("{\"severity\": \"P1\", \"eta\": null}", 0, NULL);
    assert_int_equal(incident_doc_patch(doc, &sch, p, "bob", T0 + 60000, ch, &err), 0);
    json_decref(p);
    assert_int_equal(json_array_size(ch), 2);
    assert_int_equal(incident_doc_int(doc, "ack_deadline"), T0 + 60000 + 15 * 60000);
    assert_string_equal(incident_doc_str(doc, "eta"), "");
    assert_int_equal(incident_doc_ack(doc, "carol", T0 + 120000, "via a link", ch), 0);
    assert_int_equal(incident_doc_ack(doc, "dave", T0 + 130000, NULL, ch), 1);
    assert_string_equal(incident_doc_str(doc, "acked_by"), "carol");
    /* acknowledged: a severity change leaves the deadline */
    p = json_loads("{\"severity\": \"P0\"}", 0, NULL);
    assert_int_equal(incident_doc_patch(doc, &sch, p, "bob", T0 + 200000, ch, &err), 0);
    json_decref(p);
    assert_int_equal(incident_doc_int(doc, "ack_deadline"), T0 + 60000 + 15 * 60000);
    incident_doc_set_state(doc, INCIDENT_RESOLVED, "bob", T0 + 300000, "fixed", ch);
    assert_int_equal(incident_doc_int(doc, "resolved_at"), T0 + 300000);
    incident_doc_set_state(doc, INCIDENT_INVESTIGATING, "bob", T0 + 400000, NULL, ch);
    assert_int_equal(incident_doc_int(doc, "resolved_at"), 0);
    /* a refused patch changes nothing */
    size_t before = json_array_size(ch);
    char *was = json_dumps(doc, JSON_SORT_KEYS);
    p = json_loads("{\"title\": \"new\", \"severity\": \"nope\"}", 0, NULL);
    assert_int_equal(incident_doc_patch(doc, &sch, p, "bob", T0 + 500000, ch, &err), -1);
    json_decref(p);
    char *now = json_dumps(doc, JSON_SORT_KEYS);
    assert_string_equal(was, now);
    assert_int_equal(json_array_size(ch), before);
    free(was);
    free(now);
    /* rows and events */
    struct store_incident row;
    char *text = NULL;
    assert_int_equal(incident_row("iabc", 3, doc, &row, &text), 0);
    assert_string_equal(row.state, "INVESTIGATING");
    assert_string_equal(row.severity, "P0");
    assert_int_equal(row.acked_ms, T0 + 120000);
    free(text);
    size_t n;
    char **texts;
    struct store_incident_event *ev = incident_events("iabc", ch, T0, &n, &texts);
    assert_int_equal(n, json_array_size(ch));
    assert_string_equal(ev[0].incident_id, "iabc");
    assert_string_equal(ev[2].kind, "ack");
    assert_string_equal(ev[2].text, "acknowledged via a link");
    incident_events_free(ev, n, texts);
    json_decref(doc);
    json_decref(ch);
}

static void test_postmortem_markdown(void **state)
{
    (void)state;
    json_t *ch = json_array();
    struct incident_err err;
    json_t *doc = new_doc("{\"title\": \"API | down\", \"severity\": \"P1\", \"commander\": \"alice\"}", ch, &err);
    json_t *p = json_loads("{\"postmortem\": {\"summary\": \"It broke.\", \"root_cause\": \"A bad deploy.\","
                           " \"follow_ups\": [{\"text\": \"Canary\", \"owner\": \"bob\", \"done\": true},"
                           " {\"text\": \"Rollback | faster\"}]}}", 0, NULL);
    assert_int_equal(incident_doc_patch(doc, &sch, p, "alice", T0 + 1000, ch, &err), 0);
    json_decref(p);
    incident_doc_update(doc, "line one\nline | two", NULL, "bob", T0 + 2000, ch);
    incident_doc_ack(doc, "bob", T0 + 61000, NULL, ch);
    incident_doc_set_state(doc, INCIDENT_RESOLVED, "alice", T0 + 3600000 + 120000, NULL, ch);
    size_t n;
    char **texts;
    struct store_incident_event *ev = incident_events("i1", ch, T0, &n, &texts);
    struct base_buf b;
    base_buf_init(&b, 1 << 20);
    assert_int_equal(incidents_postmortem_markdown(12, doc, "HIGH", ev, n, &b), 0);
    assert_int_equal(base_buf_append(&b, "", 1), 0);
    const char *md = b.data;
    assert_non_null(strstr(md, "# Postmortem: #12 API | down\n"));
    assert_non_null(strstr(md, "- Severity: P1 (HIGH)\n"));
    assert_non_null(strstr(md, "- Time to acknowledge: 1 min 1 s\n"));
    assert_non_null(strstr(md, "- Time to resolve: 1 h 2 min\n"));
    assert_non_null(strstr(md, "## Summary\n\nIt broke.\n"));
    assert_non_null(strstr(md, "## Impact\n\n_To be written._\n"));
    assert_non_null(strstr(md, "| bob | line one<br>line \\| two |"));
    assert_non_null(strstr(md, "- [x] Canary (bob)\n- [ ] Rollback \\| faster\n"));
    assert_null(strstr(md, "## Lessons"));
    base_buf_free(&b);
    incident_events_free(ev, n, texts);
    json_decref(doc);
    json_decref(ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_incident),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_patch_ack_resolve_reopen),
        cmocka_unit_test(test_postmortem_markdown),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
