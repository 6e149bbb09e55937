/*
 * libFuzzer target for http/body: any bytes either parse to an object within
 * the limits or give an invalid_json error; whatever parses is validated
 * against the specs of real endpoints (login, user create, token create, a
 * check with labels and nested items) and read through the accessors. Error
 * texts must be valid UTF-8, and a secret's value must never show in them.
 */
#include "http/body.h"

#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MARK "~~SECRET~~"

static const char *const roles[] = {"viewer", "operator", "admin", NULL};

static const struct http_body_field login[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 64},
    {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 1, .max = 1024},
};

static const struct http_body_field user_create[] = {
    {.name = "username", .type = HTTP_BODY_STRING, .required = true, .pattern = HTTP_BODY_PATTERN_ID},
    {.name = "password", .type = HTTP_BODY_STRING, .required = true, .secret = true, .min = 12, .max = 1024},
    {.name = "role", .type = HTTP_BODY_STRING, .required = true, .one_of = roles},
    {.name = "disabled", .type = HTTP_BODY_BOOL},
};

static const struct http_body_field token_create[] = {
    {.name = "name", .type = HTTP_BODY_STRING, .required = true, .min = 1, .max = 100},
    {.name = "role", .type = HTTP_BODY_STRING, .one_of = roles, .secret = true},
    {.name = "expires", .type = HTTP_BODY_DURATION, .min = 60000, .max = 365LL * 86400000},
};

static const struct http_body_field item[] = {
    {.name = "name", .type = HTTP_BODY_STRING, .required = true, .pattern = HTTP_BODY_PATTERN_ID},
    {.name = "weight", .type = HTTP_BODY_INT, .min = 0, .max = 100},
    {.name = "ratio", .type = HTTP_BODY_NUMBER, .min = -1, .max = 1},
};

static const struct http_body_field check_create[] = {
    {.name = "id", .type = HTTP_BODY_STRING, .required = true, .pattern = HTTP_BODY_PATTERN_ID},
    {.name = "description", .type = HTTP_BODY_STRING, .multiline = true, .nullable = true, .max = 1000},
    {.name = "interval", .type = HTTP_BODY_DURATION, .min = 1000, .max = INT64_MAX},
    {.name = "labels", .type = HTTP_BODY_OBJECT_OF_STRINGS, .key_pattern = HTTP_BODY_PATTERN_LABEL_NAME,
     .max = 256, .max_items = 32},
    {.name = "tags", .type = HTTP_BODY_ARRAY_OF_STRINGS, .max_items = 16},
    {.name = "items", .type = HTTP_BODY_ARRAY_OF_OBJECTS, .max_items = 8, HTTP_BODY_FIELDS(item)},
    {.name = "limits", .type = HTTP_BODY_OBJECT, HTTP_BODY_FIELDS(item)},
};

static void check_error(const struct http_body_error *err, const char *code)
{
    if (!err->code || (code && strcmp(err->code, code) != 0) || !err->message[0])
        abort();
    if (strlen(err->message) >= sizeof(err->message) || strlen(err->field) >= sizeof(err->field))
        abort();
    json_t *j = json_pack("[s,s]", err->message, err->field); /* fails on invalid UTF-8 */
    if (!j)
        abort();
    json_decref(j);
}

/* Validation must not echo a secret: the password (when a string) gets a
 * marker appended and the marker must not come back. */
static void check_secret_not_echoed(json_t *obj, const struct http_body_field *fields, size_t n,
                                    bool no_marker_in_input)
{
    struct http_body_error err;
    const char *pw = http_body_str(obj, "password");
    if (!pw || !no_marker_in_input)
        return;
    size_t len = strlen(pw);
    char *marked = malloc(len + sizeof(MARK));
    if (!marked)
        return;
    memcpy(marked, pw, len);
    memcpy(marked + len, MARK, sizeof(MARK));
    json_t *copy = json_copy(obj);
    if (copy && json_object_set_new(copy, "password", json_string(marked)) == 0 &&
        http_body_validate(copy, fields, n, true, &err) != 0) {
        check_error(&err, "invalid_field");
        if (strstr(err.message, MARK) || strstr(err.field, MARK))
            abort();
    }
    json_decref(copy);
    free(marked);
}

static void validate(json_t *obj, const struct http_body_field *fields, size_t n, bool marker_free)
{
    struct http_body_error err;
    for (int reject = 0; reject < 2; reject++) {
        int rc = http_body_validate(obj, fields, n, reject, &err);
        if (rc != 0 && rc != BASE_ERR_INVALID)
            abort();
        if (rc)
            check_error(&err, "invalid_field");
    }
    check_secret_not_echoed(obj, fields, n, marker_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    struct http_body_error err;
    json_t *obj = NULL;
    if (!init) {
        http_body_json_alloc_init();
        init = true;
    }
    int rc = http_body_parse((const char *)data, size, &obj, &err);
    if (rc != 0) {
        if (obj || rc != BASE_ERR_INVALID)
            abort();
        check_error(&err, "invalid_json");
        return 0;
    }
    if (!json_is_object(obj))
        abort();
    bool marker_free = !memmem(data, size, "~~", 2);
    validate(obj, login, N(login), marker_free);
    validate(obj, user_create, N(user_create), marker_free);
    validate(obj, token_create, N(token_create), marker_free);
    validate(obj, check_create, N(check_create), marker_free);

    /* accessors never fail on a parsed object, whatever the member types */
    const char *s = http_body_str(obj, "username");
    if (s && strlen(s) > HTTP_BODY_MAX_STRING)
        abort();
    (void)http_body_int(obj, "weight", 0);
    (void)http_body_number(obj, "ratio", 0);
    (void)http_body_bool(obj, "disabled", false);
    (void)http_body_has(obj, "description");
    if (http_body_duration_ms(obj, "expires", -1) < -1)
        abort();

    /* a validated body reads back through the accessors as the spec says */
    if (http_body_validate(obj, token_create, N(token_create), true, &err) == 0) {
        const char *name = http_body_str(obj, "name");
        int64_t ms = http_body_duration_ms(obj, "expires", 0);
        if (!name || !*name || (http_body_has(obj, "expires") && (ms < 60000 || ms > 365LL * 86400000)))
            abort();
    }
    json_decref(obj);
    return 0;
}
