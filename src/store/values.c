/*
 * store/values: a sample's named values as they are kept in the samples
 * table's values_json column (migration 4), the same text for both
 * backends: a JSON object {"name": number, ...}, or NULL for none. Rows
 * written before migration 4 carry four cumulative timing columns instead;
 * they are read back as the phase values newer rows hold, so every row
 * reads the same. Runs on the store thread; owns nothing.
 */
#include "store/store_int.h"

#include "base/buf.h"
#include "base/num.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int store_values_encode(const struct sample *s, char *out, size_t n)
{
    struct base_buf b;
    int rc = 0;
    out[0] = '\0';
    if (!s->n_values)
        return 0;
    base_buf_init(&b, n - 1);
    rc = base_buf_append(&b, "{", 1);
    for (uint32_t i = 0; rc == 0 && i < s->n_values && i < SAMPLE_VALUES_MAX; i++) {
        const struct sample_value *v = &s->values[i];
        const char *name = sample_value_name(v);
        if (i)
            rc = base_buf_append(&b, ",", 1);
        if (rc == 0)
            rc = base_buf_append_json_str(&b, name, strlen(name));
        char num[BASE_NUM_MAX];
        size_t len = base_num_format(v->value, num);
        if (rc == 0)
            rc = base_buf_append(&b, ":", 1);
        if (rc == 0)
            rc = base_buf_append(&b, num, len);
    }
    if (rc == 0)
        rc = base_buf_append(&b, "}", 1);
    if (rc == 0) {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    base_buf_free(&b);
    return rc;
}

void store_values_decode(const char *text, struct sample *s)
{
    json_error_t err;
    json_t *o = text && *text ? json_loads(text, JSON_REJECT_DUPLICATES, &err) : NULL;
    const char *key;
    json_t *v;
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    json_object_foreach(o, key, v)
        if (json_is_number(v))
            sample_value_set(s, key, json_number_value(v)); /* refuses bad names and full lists */
    json_decref(o);
}

void store_values_from_legacy(struct sample *s, double dns_ms, double connect_ms, double tls_ms,
                              double ttfb_ms)
{
    if (dns_ms >= 0)
        sample_value_set(s, "phase_resolve_seconds", dns_ms / 1000.0);
    if (connect_ms >= 0)
        sample_value_set(s, "phase_connect_seconds", (connect_ms - (dns_ms > 0 ? dns_ms : 0)) / 1000.0);
    if (tls_ms >= 0 && connect_ms >= 0)
        sample_value_set(s, "phase_tls_seconds", (tls_ms - connect_ms) / 1000.0);
    double ready = tls_ms >= 0 ? tls_ms : connect_ms;
    if (ttfb_ms >= 0 && ready >= 0)
        sample_value_set(s, "phase_processing_seconds", (ttfb_ms - ready) / 1000.0);
}
