/*
 * fuzz_cookie: the Cookie header parser (http/cookie) over random header
 * lines. Input: lines separated by '\n', each one Cookie header value.
 * Looks up the session cookie with a small and a large buffer, line by
 * line (http_cookie_parse) and over the whole request (http_cookie_get).
 * Invariants: never reads or writes outside its buffers (ASan); a found
 * value is NUL-terminated within the buffer and holds only cookie-octets;
 * on failure the buffer is wiped; a value found with the small buffer is
 * found, the same, with the large one.
 */
#include "http/cookie.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_value(int rc, const char *v, size_t n)
{
    size_t len = strnlen(v, n);
    if (len == n)
        abort(); /* not terminated within the buffer */
    if (rc < 0 && len != 0)
        abort(); /* failure left bytes behind */
    for (size_t i = 0; rc == 1 && i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c <= 0x20 || c == '"' || c == ',' || c == ';' || c == '\\' || c >= 0x7f)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct http_request req;
    memset(&req, 0, sizeof(req));
    char small[8], large[256];
    for (char *line = s, *nl; line && req.n_headers < HTTP_MAX_HEADERS; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        req.headers[req.n_headers].name = "Cookie";
        req.headers[req.n_headers++].value = line;
        int a = http_cookie_parse(line, "opshub_session", small, sizeof(small), NULL);
        check_value(a, small, sizeof(small));
        int b = http_cookie_parse(line, "opshub_session", large, sizeof(large), NULL);
        check_value(b, large, sizeof(large));
        if (a == 1 && (b != 1 || strcmp(small, large) != 0))
            abort();
    }
    int rc = http_cookie_get(&req, "opshub_session", large, sizeof(large));
    check_value(rc, large, sizeof(large));
    free(s);
    return 0;
}
