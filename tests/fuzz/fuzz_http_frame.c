/*
 * fuzz_http_frame: the strict framing check (http/frame) against itself
 * and against http-parser.
 *  - Any split of the input gives the same answer (good byte count,
 *    messages, status and reason) as feeding it whole, and as feeding it
 *    a byte at a time for short inputs.
 *  - On the bytes the check passed, http-parser (which the server runs on
 *    exactly those bytes) completes exactly the requests the check counted
 *    whole, whenever it reports no error of its own: the two never
 *    disagree on where a request ends, so the server serves nothing that
 *    the check did not frame.
 */
#include "http/frame.h"

#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct answer {
    size_t good;
    uint64_t messages;
    int status;
    const char *error;
};

static struct answer feed_split(const uint8_t *data, size_t n, size_t cut)
{
    struct http_frame f;
    http_frame_init(&f);
    size_t good = http_frame_feed(&f, (const char *)data, cut);
    if (good == cut)
        good += http_frame_feed(&f, (const char *)data + cut, n - cut);
    return (struct answer){good, f.messages, f.status, f.error};
}

static struct answer feed_bytes(const uint8_t *data, size_t n)
{
    struct http_frame f;
    http_frame_init(&f);
    size_t good = 0;
    while (good < n && http_frame_feed(&f, (const char *)data + good, 1) == 1)
        good++;
    return (struct answer){good, f.messages, f.status, f.error};
}

static void same(struct answer a, struct answer b)
{
    if (a.good != b.good || a.messages != b.messages || a.status != b.status ||
        (a.error == NULL) != (b.error == NULL) || (a.error && strcmp(a.error, b.error) != 0))
        abort();
}

static int on_complete(http_parser *p)
{
    (*(uint64_t *)p->data)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    struct answer whole = feed_split(data, n, n);
    if (whole.error == NULL && whole.good != n)
        abort();
    same(whole, feed_split(data, n, n / 2));
    if (n)
        same(whole, feed_split(data, n, data[0] % n));
    if (n <= 512)
        same(whole, feed_bytes(data, n));

    uint64_t complete = 0;
    http_parser p;
    http_parser_settings s;
    memset(&s, 0, sizeof(s));
    s.on_message_complete = on_complete;
    http_parser_init(&p, HTTP_REQUEST);
    p.data = &complete;
    size_t used = http_parser_execute(&p, &s, (const char *)data, whole.good);
    if (HTTP_PARSER_ERRNO(&p) == HPE_OK && !p.upgrade && used == whole.good &&
        complete != whole.messages)
        abort();
    return 0;
}
