/*
 * libFuzzer target for probe/log_state's parser: the log check reads its
 * state file back on every run and treats it as untrusted. Arbitrary bytes
 * never crash the parser or read past the input (the copy has no NUL after
 * it); a refusal zeroes the state and gives a reason; what parses is in
 * range (a NUL-free path, an offset that fits off_t, a fingerprint within
 * PROBE_LOG_HEAD_MAX) and survives an encode/parse round trip unchanged.
 */
#include "probe/log_state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool file_ok(const struct probe_log_file *f)
{
    return f->offset <= (uint64_t)INT64_MAX && f->head_len <= PROBE_LOG_HEAD_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    struct probe_log_state st, again;
    const char *why = NULL;
    if (probe_log_state_parse(buf, size, &st, &why) != 0) {
        static const struct probe_log_state zero;
        if (!why || !why[0] || memcmp(&st, &zero, sizeof(st)) != 0)
            abort();
        free(buf);
        return 0;
    }
    if (!st.path[0] || strnlen(st.path, sizeof(st.path)) == sizeof(st.path) || st.ts_ms < 0)
        abort();
    if ((st.has_cur && !file_ok(&st.cur)) || (st.has_old && !file_ok(&st.old)))
        abort();
    char text[PROBE_LOG_STATE_MAX];
    int n = probe_log_state_encode(&st, text, sizeof(text));
    if (n < 0 || probe_log_state_parse(text, (size_t)n, &again, &why) != 0)
        abort();
    if (strcmp(again.path, st.path) != 0 || again.ts_ms != st.ts_ms || again.has_cur != st.has_cur ||
        again.has_old != st.has_old)
        abort();
    if ((st.has_cur && memcmp(&again.cur, &st.cur, sizeof(st.cur)) != 0) ||
        (st.has_old && memcmp(&again.old, &st.old, sizeof(st.old)) != 0))
        abort();
    free(buf);
    return 0;
}
