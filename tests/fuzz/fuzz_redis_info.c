/*
 * libFuzzer target for probe/redis_info (and the redis URL parser, which
 * reads configuration text): arbitrary bytes as an INFO reply never crash
 * the parser or read past the input (the copy has no NUL after it), and
 * what parses is coherent: every field counted is flagged, a run_id is 40
 * hex digits, an eviction rate is finite and >= 0. As a URL, the bytes
 * either fail with a reason or give a host, a port from 1 to 65535 and
 * credentials within their caps.
 */
#include "probe/redis.h"
#include "probe/redis_info.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int popcount(unsigned x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    struct probe_redis_info a, b;
    int got = probe_redis_info_parse(buf, size, &a);
    if (got != popcount(a.have))
        abort();
    if ((a.have & PROBE_REDIS_HAVE_RUN_ID) && strspn(a.run_id, "0123456789abcdef") != 40)
        abort();
    /* the same reply read again, later: a rate, when there is one, is sane */
    (void)probe_redis_info_parse(buf, size / 2, &b);
    double rate;
    if (probe_redis_info_eviction_rate(&b, &a, 1.5, &rate) && !(isfinite(rate) && rate >= 0))
        abort();
    free(buf);

    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct probe_redis_url u;
    const char *why = NULL;
    if (probe_redis_url_parse(url, &u, &why) == 0) {
        long port = strtol(u.port, NULL, 10);
        if (!u.host[0] || port < 1 || port > 65535 || u.db > PROBE_REDIS_DB_MAX || u.db < -1)
            abort();
        if (strlen(u.user) > PROBE_REDIS_CRED_MAX || strlen(u.password) > PROBE_REDIS_CRED_MAX)
            abort();
        if (u.has_password != (u.password[0] != '\0'))
            abort();
    } else if (!why || !why[0]) {
        abort();
    }
    free(url);
    return 0;
}
