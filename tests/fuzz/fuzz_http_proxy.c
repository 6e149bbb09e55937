/*
 * fuzz_http_proxy: the client address behind trusted proxies (http/proxy)
 * over random header lines. Input: one line per header, its first byte
 * naming it ('F' Forwarded, 'X' X-Forwarded-For, anything else a third
 * name), the rest its value; the first line is the peer. Invariants: the
 * output is a NUL-terminated string within its buffer; an untrusted peer
 * is the answer unchanged; any other answer is an address in canonical
 * form (it parses back and formats to itself).
 */
#include "http/proxy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct base_cidr trusted[3];

static void init(void)
{
    const char *nets[] = {"127.0.0.0/8", "10.0.0.0/8", "fd00::/8"};
    for (size_t i = 0; i < 3; i++) {
        const char *why;
        if (base_cidr_parse(nets[i], strlen(nets[i]), &trusted[i], &why) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        init();
        ready = 1;
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t n = 0;
    char *peer = s, *line = strchr(s, '\n');
    if (line)
        *line++ = '\0';
    while (line && n < HTTP_MAX_HEADERS) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        headers[n].name = line[0] == 'F' ? "Forwarded" : line[0] == 'X' ? "x-forwarded-for" : "Via";
        headers[n].value = line[0] ? line + 1 : line;
        n++;
        line = next;
    }
    char out[BASE_IP_TEXT_MAX + 1];
    memset(out, 0x7f, sizeof(out));
    enum http_proxy_source src = http_proxy_client(trusted, 3, peer, headers, n, out, BASE_IP_TEXT_MAX);
    if (!memchr(out, '\0', BASE_IP_TEXT_MAX) || out[BASE_IP_TEXT_MAX] != 0x7f)
        abort();
    struct base_ip peer_ip, ip;
    bool peer_trusted = base_ip_parse(peer, strlen(peer), &peer_ip) == 0 &&
                        base_cidr_list_contains(trusted, 3, &peer_ip);
    if (!peer_trusted && (src != HTTP_PROXY_PEER || strncmp(out, peer, BASE_IP_TEXT_MAX - 1) != 0))
        abort();
    if (src != HTTP_PROXY_PEER) {
        char again[BASE_IP_TEXT_MAX];
        if (base_ip_parse(out, strlen(out), &ip) != 0 || strcmp(base_ip_format(&ip, again, sizeof(again)), out))
            abort();
    }
    free(s);
    return 0;
}
