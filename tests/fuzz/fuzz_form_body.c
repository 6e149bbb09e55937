/*
 * libFuzzer target for http/body's form bodies (the status page's
 * subscribe form posted without script): any bytes either give an object
 * of the table's fields whose values are valid UTF-8 strings without NUL,
 * or an error with a code, a status and a message.
 */
#include "http/body.h"

#include "base/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct http_body_field fields[] = {
    {.name = "email", .type = HTTP_BODY_STRING, .required = true, .min = 3, .max = 254},
    {.name = "project", .type = HTTP_BODY_STRING, .min = 1, .max = 63},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *o = NULL;
    struct http_body_error e;
    int rc = http_body_load_form((const char *)data, size, fields, 2, &o, &e);
    if (rc == 0) {
        if (!o || !json_is_object(o) || json_object_size(o) > 2)
            abort();
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) {
            if (strcmp(key, "email") != 0 && strcmp(key, "project") != 0)
                abort();
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                abort();
        }
        json_decref(o);
    } else {
        if (o || !e.code || !e.message[0] || (e.status != 400 && e.status != 413 && e.status != 500))
            abort();
    }
    return 0;
}
