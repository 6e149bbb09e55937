/*
 * Walks the check type registry (probe/registry.c): a type without docs,
 * metrics or a JSON form fails here. For every type: names and summaries,
 * every field documented with an example, active types runnable, every
 * declared value named by the conventions with a metric, docs/checks.md
 * describing it all; a check with every field set loads, survives its
 * canonical JSON and a merge copy with the same hash, and each optional
 * field's example changes the hash (a field the hash missed would be a
 * silent reload bug).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/buf.h"
#include "conf/conf.h"
#include "probe/registry.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *docs;

static char *read_docs(void)
{
    const char *src = getenv("OPSHUB_TEST_SRCDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/checks.md", src ? src : "..");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s (set OPSHUB_TEST_SRCDIR)\n", path);
        return NULL;
    }
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool docs_mention(const char *text)
{
    char quoted[256];
    snprintf(quoted, sizeof(quoted), "`%s`", text);
    return strstr(docs, quoted) != NULL;
}

static bool is_metric_name(const char *s)
{
    if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == ':'))
            return false;
    return true;
}

static void check_fields_documented(const struct conf_field *fields, const char *prefix)
{
    for (const struct conf_field *f = fields; f && f->name; f++) {
        char full[128];
        snprintf(full, sizeof(full), "%s%s", prefix, f->name);
        if (!f->doc || !f->doc[0] || !f->example || !f->example[0])
            fail_msg("field %s has no doc or no example", full);
        if (!docs_mention(full))
            fail_msg("docs/checks.md does not mention field `%s`", full);
        if (f->kind == CONF_FIELD_CUSTOM && (!f->ops || !f->ops->parse || !f->ops->hash || !f->ops->copy ||
                                             !f->ops->to_json))
            fail_msg("custom field %s lacks an op", full);
        if (f->kind == CONF_FIELD_OBJECT) {
            char sub[160];
            snprintf(sub, sizeof(sub), "%s.", full);
            check_fields_documented(f->fields, sub);
        }
    }
}

static void test_registry_types_are_complete(void **state)
{
    const struct conf_check_types *reg = probe_registry_types();
    assert_true(reg->n >= 2);
    check_fields_documented(conf_check_common_fields, "");
    for (size_t i = 0; i < reg->n; i++) {
        const struct conf_check_type *t = reg->items[i];
        assert_non_null(t->name);
        assert_true(t->name[0] >= 'a' && t->name[0] <= 'z');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(reg->items[j]->name, t->name);
        assert_ptr_equal(conf_check_types_find(reg, t->name), t);
        assert_int_equal(conf_check_types_index(reg, t), (int)i);
        if (!t->summary || !t->summary[0])
            fail_msg("type %s has no summary", t->name);
        assert_true(t->settings_size > 0);
        assert_non_null(t->target);
        if (t->passive)
            assert_true(!t->start && !t->cancel);
        else if (!t->start || !t->cancel)
            fail_msg("active type %s cannot start or cancel a run", t->name);
        char heading[64];
        snprintf(heading, sizeof(heading), "## `%s`", t->name);
        if (!strstr(docs, heading))
            fail_msg("docs/checks.md has no section %s", heading);
        check_fields_documented(t->fields, "");
        for (const struct conf_check_value *v = t->values; v && v->name; v++) {
            if (!sample_value_name_ok(v->name))
                fail_msg("type %s: value name %s breaks the conventions", t->name, v->name);
            if (!v->help || !v->help[0] || !is_metric_name(v->metric))
                fail_msg("type %s: value %s has no help or no valid metric", t->name, v->name);
            if (!v->label_name != !v->label_value || (v->label_name && !is_metric_name(v->label_name)))
                fail_msg("type %s: value %s has half a label", t->name, v->name);
            if (!docs_mention(v->name) || !strstr(docs, v->metric))
                fail_msg("docs/checks.md does not describe value %s (%s) of %s", v->name, v->metric, t->name);
        }
    }
}

/* ---- the JSON form and the hash, from the fields' examples ---- */

static struct conf *load(const char *yaml, bool must_work)
{
    struct conf *c = NULL;
    struct base_errors e;
    base_errors_init(&e, 0);
    int rc = conf_load_string(probe_registry_types(), "t.yaml", yaml, strlen(yaml), &c, &e);
    if (rc && must_work) {
        base_errors_print(&e, stderr);
        fail_msg("did not load:\n%s", yaml);
    }
    base_errors_free(&e);
    return c;
}

/* "checks:\n  - id: x\n    type: T\n" + the required fields + extra lines. */
static void check_yaml(struct base_buf *b, const struct conf_check_type *t, const char *extra)
{
    base_buf_reset(b);
    assert_int_equal(base_buf_appendf(b, "checks:\n  - id: x\n    type: %s\n", t->name), 0);
    for (const struct conf_field *f = t->fields; f->name; f++)
        if (f->flags & CONF_FIELD_REQUIRED)
            assert_int_equal(base_buf_appendf(b, "    %s: %s\n", f->name, f->example), 0);
    assert_int_equal(base_buf_append_str(b, extra), 0);
}

static uint64_t hash_of(const char *yaml)
{
    struct conf *c = load(yaml, true);
    uint64_t h = c->checks[0].hash;
    conf_destroy(c);
    return h;
}

/* prefix + a check of type t with its required fields and every optional
 * field's example that loads beside those before it (fields that exclude
 * each other, like two ways to authenticate, cannot all be set), except
 * `leave_out`; the fields left out for not loading are added to
 * skipped[] (NULL-terminated) when given. */
static void compatible_yaml(struct base_buf *b, const struct conf_check_type *t, const char *prefix,
                            const struct conf_field *leave_out, const struct conf_field **skipped)
{
    size_t n_skipped = 0;
    base_buf_reset(b);
    assert_int_equal(base_buf_appendf(b, "%schecks:\n  - id: x\n    type: %s\n", prefix, t->name), 0);
    for (const struct conf_field *f = t->fields; f->name; f++)
        if (f->flags & CONF_FIELD_REQUIRED)
            assert_int_equal(base_buf_appendf(b, "    %s: %s\n", f->name, f->example), 0);
    for (const struct conf_field *f = t->fields; f->name; f++) {
        if (f->flags & CONF_FIELD_REQUIRED || f == leave_out)
            continue;
        size_t len = b->len;
        assert_int_equal(base_buf_appendf(b, "    %s: %s\n", f->name, f->example), 0);
        struct conf *c = load(b->data, false);
        if (c) {
            conf_destroy(c);
            continue;
        }
        b->len = len;
        b->data[len] = '\0';
        if (skipped)
            skipped[n_skipped++] = f;
    }
    if (skipped)
        skipped[n_skipped] = NULL;
}

static void expect_field_changes_hash(struct base_buf *b, const struct conf_check_type *t, uint64_t plain,
                                      const char *line, const char *what)
{
    check_yaml(b, t, line);
    if (hash_of(b->data) == plain)
        fail_msg("type %s: setting %s to its example does not change the definition hash", t->name, what);
}

static void test_registry_every_field_is_in_the_hash(void **state)
{
    const struct conf_check_types *reg = probe_registry_types();
    struct base_buf b;
    base_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < reg->n; i++) {
        const struct conf_check_type *t = reg->items[i];
        check_yaml(&b, t, "");
        uint64_t plain = hash_of(b.data);
        char line[512];
        for (const struct conf_field *f = conf_check_common_fields; f->name; f++) {
            if (f->flags & CONF_FIELD_REQUIRED || !strcmp(f->name, "type") || !strcmp(f->name, "project"))
                continue; /* id and type are in every check; project needs a declared project */
            snprintf(line, sizeof(line), "    %s: %s\n", f->name, f->example);
            expect_field_changes_hash(&b, t, plain, line, f->name);
        }
        for (const struct conf_field *f = t->fields; f->name; f++) {
            if (f->flags & CONF_FIELD_REQUIRED)
                continue;
            snprintf(line, sizeof(line), "    %s: %s\n", f->name, f->example);
            check_yaml(&b, t, line);
            struct conf *alone = load(b.data, false);
            conf_destroy(alone);
            if (!alone) {
                /* A field that needs another (a key beside its certificate):
                 * the compatible set with it against the set without it. */
                struct base_buf with, without;
                base_buf_init(&with, 1 << 16);
                base_buf_init(&without, 1 << 16);
                compatible_yaml(&with, t, "", NULL, NULL);
                compatible_yaml(&without, t, "", f, NULL);
                if (strcmp(with.data, without.data) == 0)
                    fail_msg("type %s: field %s loads neither alone nor beside the others", t->name, f->name);
                if (hash_of(with.data) == hash_of(without.data))
                    fail_msg("type %s: setting %s to its example does not change the definition hash", t->name,
                             f->name);
                base_buf_free(&with);
                base_buf_free(&without);
                continue;
            }
            if (f->kind == CONF_FIELD_OBJECT) {
                for (const struct conf_field *sub = f->fields; sub->name; sub++) {
                    snprintf(line, sizeof(line), "    %s: {%s: %s}\n", f->name, sub->name, sub->example);
                    expect_field_changes_hash(&b, t, plain, line, sub->name);
                }
                continue;
            }
            expect_field_changes_hash(&b, t, plain, line, f->name);
        }
    }
    base_buf_free(&b);
}

/* A check loads, survives its canonical JSON and a merge copy unchanged. */
static void expect_round_trip(const struct conf_check_type *t, const struct conf_check_types *reg, const char *yaml)
{
    struct conf *c = load(yaml, true);
    const struct conf_check *cc = &c->checks[0];
    char target[512] = "";
    t->target(cc, target, sizeof(target));
    assert_true(target[0] != '\0');
    /* canonical JSON -> the API's loader -> the same definition */
    json_t *j = conf_check_to_json(cc);
    assert_non_null(j);
    struct conf *again = NULL;
    struct conf_json_error err;
    json_t *text_back = NULL;
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    text_back = json_loads(text, 0, NULL);
    free(text);
    int taken = conf_check_from_json(reg, text_back, c->n_projects ? c : NULL, &again, &err);
    if (taken != BASE_ERR_EXISTS) /* the id is c's: refused as taken, proving the lookup */
        fail_msg("type %s: %d, not refused as taken: %s: %s\n%s", t->name, taken, err.field, err.message, yaml);
    json_object_set_new(text_back, "id", json_string("y"));
    int rc = conf_check_from_json(reg, text_back, c, &again, &err);
    if (rc)
        fail_msg("type %s: canonical JSON does not load back: %s: %s", t->name, err.field, err.message);
    json_object_set_new(j, "id", json_string("y"));
    json_t *j2 = conf_check_to_json(&again->checks[0]);
    assert_true(json_equal(j, j2));
    /* a merge copy keeps the hash (the scheduler's reload diff relies on it) */
    struct conf *merged = NULL;
    const struct conf *extra[1] = {again};
    assert_int_equal(conf_merge_checks(c, extra, 1, &merged), 0);
    assert_int_equal(merged->checks[0].hash, cc->hash);
    assert_int_equal(merged->checks[1].hash, again->checks[0].hash);
    assert_int_equal(merged->checks[1].source, CONF_SOURCE_API);
    assert_int_equal(merged->checks[0].source, CONF_SOURCE_FILE);
    json_t *j3 = conf_check_to_json(&merged->checks[1]);
    assert_true(json_equal(j, j3));
    json_decref(j);
    json_decref(j2);
    json_decref(j3);
    json_decref(text_back);
    conf_destroy(merged);
    conf_destroy(again);
    conf_destroy(c);
}

static void test_registry_full_checks_survive_json_and_copy(void **state)
{
    const struct conf_check_types *reg = probe_registry_types();
    struct base_buf b, common;
    base_buf_init(&b, 1 << 16);
    base_buf_init(&common, 1 << 16);
    for (size_t i = 0; i < reg->n; i++) {
        const struct conf_check_type *t = reg->items[i];
        base_buf_reset(&common);
        assert_int_equal(base_buf_append_str(&common, "projects: [{id: shop}]\n"), 0);
        /* the common fields go after the type's required ones: appended here as a suffix */
        struct base_buf tail;
        base_buf_init(&tail, 1 << 16);
        for (const struct conf_field *f = conf_check_common_fields; f->name; f++)
            if (strcmp(f->name, "id") && strcmp(f->name, "type") && strcmp(f->name, "project"))
                assert_int_equal(base_buf_appendf(&tail, "    %s: %s\n", f->name, f->example), 0);
        assert_int_equal(base_buf_append_str(&tail, "    project: shop\n"), 0);
        const struct conf_field *skipped[64];
        compatible_yaml(&b, t, common.data, NULL, skipped);
        assert_int_equal(base_buf_append_str(&b, tail.data), 0);
        expect_round_trip(t, reg, b.data);
        /* each field left out, with the required ones only */
        for (size_t k = 0; skipped[k]; k++) {
            check_yaml(&b, t, "");
            base_buf_reset(&common);
            assert_int_equal(base_buf_appendf(&common, "projects: [{id: shop}]\n%s    %s: %s\n%s", b.data,
                                              skipped[k]->name, skipped[k]->example, tail.data), 0);
            expect_round_trip(t, reg, common.data);
        }
        base_buf_free(&tail);
    }
    base_buf_free(&common);
    base_buf_free(&b);
}

static void test_registry_unknown_type_is_an_error(void **state)
{
    struct conf *c = load("checks:\n  - {id: x, type: banana, url: 'http://h/'}\n", false);
    assert_null(c);
    /* a loader given no types knows none */
    struct conf_check_types none = {NULL, 0};
    struct base_errors e;
    base_errors_init(&e, 0);
    const char *y = "checks:\n  - {id: x, type: http, url: 'http://h/'}\n";
    assert_int_equal(conf_load_string(&none, "t.yaml", y, strlen(y), &c, &e), BASE_ERR_INVALID);
    assert_true(e.len >= 1);
    assert_non_null(strstr(e.items[0].msg, "unknown check type 'http'"));
    base_errors_free(&e);
}

int main(void)
{
    docs = read_docs();
    if (!docs)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_types_are_complete),
        cmocka_unit_test(test_registry_every_field_is_in_the_hash),
        cmocka_unit_test(test_registry_full_checks_survive_json_and_copy),
        cmocka_unit_test(test_registry_unknown_type_is_an_error),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(docs);
    return rc;
}
