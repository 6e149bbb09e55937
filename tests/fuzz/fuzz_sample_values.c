/*
 * libFuzzer target for store/values: a samples row's values_json (text the
 * database hands back, so untrusted) never crashes the decoder, only valid
 * names and finite numbers come out, and what came out is written again
 * (base/num) as text that decodes to the same values.
 */
#include "model/sample.h"
#include "store/store_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[STORE_VALUES_TEXT_MAX];
    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct sample a, b;
    sample_init(&a, 0);
    store_values_decode(text, &a);
    if (a.n_values > SAMPLE_VALUES_MAX)
        abort();
    for (uint32_t i = 0; i < a.n_values; i++)
        if (!isfinite(a.values[i].value) || !sample_value_name_ok(sample_value_name(&a.values[i])))
            abort();
    char again[STORE_VALUES_TEXT_MAX];
    if (store_values_encode(&a, again, sizeof(again)) != 0)
        abort(); /* SAMPLE_VALUES_MAX names and numbers always fit */
    sample_init(&b, 0);
    store_values_decode(again, &b);
    if (b.n_values != a.n_values)
        abort();
    for (uint32_t i = 0; i < a.n_values; i++)
        if (b.values[i].name != a.values[i].name || b.values[i].value != a.values[i].value)
            abort();
    return 0;
}
