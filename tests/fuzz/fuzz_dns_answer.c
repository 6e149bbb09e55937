/*
 * libFuzzer target for probe/dns_answer: arbitrary bytes as a DNS response
 * (the first byte picks the record type asked for) go through c-ares'
 * parsers and ours without a crash or a read past the input (copied to a
 * buffer of its exact size); what parses is coherent: answers within the
 * caps, ARES_SUCCESS only with answers, the header counts read only from a
 * whole header; matching and listing the answers stay within bounds. The
 * bytes are also read as an `expect` entry, a server and a query name.
 */
#include "probe/dns_answer.h"
#include "probe/dns_conf.h"

#include <ares.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct probe_dns_answer answer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum probe_dns_record r = (enum probe_dns_record)(data[0] % 6);
    unsigned char *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    int rc = probe_dns_answer_parse(r, buf, size - 1, &answer);
    if (answer.n > PROBE_DNS_ANSWERS_MAX || answer.used > sizeof(answer.text))
        abort();
    if (rc == ARES_SUCCESS && answer.n + answer.dropped == 0)
        abort();
    if (answer.has_header != (size - 1 >= 12))
        abort();
    char list[128];
    probe_dns_answer_list(&answer, list, sizeof(list));
    if (strlen(list) >= sizeof(list))
        abort();
    for (size_t i = 0; i < answer.n; i++)
        (void)probe_dns_answer_has(&answer, r, answer.items[i]);
    free(buf);

    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (!probe_dns_conf_expect_bad(r, text))
        (void)probe_dns_answer_has(&answer, r, text);
    char server[PROBE_DNS_SERVER_MAX];
    const char *why = NULL;
    if (probe_dns_conf_server_parse(text, server, sizeof(server), &why) == 0) {
        if (why || strlen(server) >= sizeof(server) || !strchr(server, ':'))
            abort();
    } else if (!why) {
        abort();
    }
    const char *bad = probe_dns_conf_name_bad(text);
    size_t len = strlen(text);
    if (!bad && (len == 0 || len > PROBE_DNS_NAME_MAX + 1))
        abort();
    free(text);
    return 0;
}
