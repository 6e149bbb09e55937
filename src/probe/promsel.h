/*
 * probe/promsel: Prometheus series selectors, as the `match` of a
 * prometheus check (and PromQL's instant vector selectors) write them:
 * `http_requests_total`, `up{job="api"}`, `{__name__=~"node_.*", mode!="idle"}`.
 * Matchers: = != =~ !~; values in double or single quotes with \\ \" \'
 * \n \t escapes; regexes are PCRE2, fully anchored as Prometheus anchors
 * RE2 ones, with a match limit. A missing label matches as "". Parsing
 * compiles the regexes; match allocates nothing.
 */
#ifndef PROBE_PROMSEL_H
#define PROBE_PROMSEL_H

#include "probe/promtext.h"

#include <stdbool.h>
#include <stddef.h>

#define PROBE_PROMSEL_MATCHERS_MAX 16
#define PROBE_PROMSEL_TEXT_MAX 4096

struct probe_promsel;

/* Parses text: the selector, or NULL with a reason in why and the 1-based
 * column it points at in *col (0 for out of memory). */
struct probe_promsel *probe_promsel_parse(const char *text, char *why, size_t why_len, size_t *col);
/* True when the sample's name and labels satisfy every matcher. */
bool probe_promsel_match(const struct probe_promsel *sel, const struct probe_promtext_sample *s);
void probe_promsel_destroy(struct probe_promsel *sel);

#endif
