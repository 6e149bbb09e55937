/*
 * libFuzzer target for notify/silence: a request body (any bytes, parsed
 * as JSON by jansson first) through the validation of silences, and every
 * string of it through the matcher parser. Nothing crashes, and a silence
 * that is taken has matchers that parse back, ends after it starts and
 * renders as Alertmanager's GettableSilence.
 */
#include "notify/silence.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char why[256], field[64];
    json_t *m = notify_matcher_parse(text, why, sizeof(why));
    json_decref(m);
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (body) {
        struct store_silence s;
        int64_t now = 1767225600000LL;
        if (notify_silence_from_json(body, now, &s, why, sizeof(why), field, sizeof(field)) == 0) {
            json_t *ms = json_loads(s.matchers, 0, NULL);
            if (!json_is_array(ms) || json_array_size(ms) == 0 || s.ends_ms <= s.starts_ms || s.ends_ms <= now)
                abort();
            json_decref(ms);
            json_t *out = notify_silence_json(&s, now);
            if (!out)
                abort();
            json_decref(out);
            notify_silence_clear(&s);
        }
        json_decref(body);
    }
    free(text);
    return 0;
}
