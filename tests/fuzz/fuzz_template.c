/*
 * libFuzzer target for rules/template: the input is a template. It either
 * parses or fails with a position inside the text; what parses is expanded
 * with an alert's labels and a value into a small and a large buffer: the
 * output is always NUL-terminated within its bound, whatever the functions
 * (printf verbs, reReplaceAll patterns) are given.
 */
#include "rules/template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char why[160];
    size_t pos;
    /* the notification flavour (with $annotations) takes whatever the rules' flavour takes */
    struct template *t = template_parse_flags(text, TEMPLATE_PARSE_ANNOTATIONS | TEMPLATE_PARSE_INCIDENT, why, sizeof(why), &pos);
    if (!t) {
        if (pos > strlen(text) || !why[0])
            abort();
        free(text);
        return 0;
    }
    static const struct template_kv labels[] = {{"check", "api"}, {"instance", "127.0.0.1:9100"}, {"a", "aaaa"}};
    struct template_data d = {1234.5678, labels, 3, labels, 1, labels + 1, 2, labels, 3};
    char small[16], big[2048];
    template_expand(t, &d, small, sizeof(small));
    template_expand(t, &d, big, sizeof(big));
    if (strlen(small) >= sizeof(small) || strlen(big) >= sizeof(big))
        abort();
    template_free(t);
    free(text);
    return 0;
}
