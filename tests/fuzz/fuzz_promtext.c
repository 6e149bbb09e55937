/*
 * libFuzzer target for probe/promtext and probe/promsel: the input up to
 * its first NUL is a series selector, the rest a metrics page (without a
 * NUL, all of it is both). The page never crashes the reader or reads past
 * it (no NUL after the copy); every sample it gives has valid names,
 * unique labels and values within their caps, an error names a position
 * inside the page; the selector either parses or says why and where, and
 * matching it against every sample never fails.
 */
#include "probe/promsel.h"
#include "probe/promtext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct probe_promsel *sel;
    size_t n;
};

static int on_sample(void *data, const struct probe_promtext_sample *s)
{
    struct ctx *c = data;
    if (!s->name[0] || strlen(s->name) >= PROBE_PROMTEXT_NAME_MAX || s->n_labels > PROBE_PROMTEXT_LABELS_MAX)
        abort();
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!s->labels[i].name[0] || s->labels[i].value_len >= PROBE_PROMTEXT_LABEL_VALUE_MAX ||
            strlen(s->labels[i].value) != s->labels[i].value_len)
            abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->labels[i].name, s->labels[j].name))
                abort();
    }
    if (c->sel)
        (void)probe_promsel_match(c->sel, s);
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t sel_len = nul ? (size_t)(nul - data) : size;
    const uint8_t *page = nul ? nul + 1 : data;
    size_t page_len = nul ? size - sel_len - 1 : size;

    char *sel_text = malloc(sel_len + 1);
    char *body = malloc(page_len ? page_len : 1);
    struct probe_promtext_sample *scratch = malloc(sizeof(*scratch));
    if (!sel_text || !body || !scratch)
        abort();
    memcpy(sel_text, data, sel_len);
    sel_text[sel_len] = '\0';
    memcpy(body, page, page_len);

    char why[160];
    size_t col = 0;
    struct ctx c = {.sel = probe_promsel_parse(sel_text, why, sizeof(why), &col)};
    if (!c.sel && (!why[0] || col > sel_len + 1))
        abort();
    struct probe_promtext_error err;
    memset(&err, 0, sizeof(err));
    int rc = probe_promtext_parse(body, page_len, sel_len & 1, scratch, on_sample, &c, &err);
    if (rc == -1 && (!err.line || !err.col || !err.message[0]))
        abort();
    if (rc != 0 && rc != -1)
        abort();
    probe_promsel_destroy(c.sel);
    free(scratch);
    free(body);
    free(sel_text);
    return 0;
}
