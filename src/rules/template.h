/*
 * rules/template: the templates of alert annotations and labels, the part
 * of Go's text/template that Prometheus rule files use: text with
 * {{ actions }} ({{- and -}} trim spaces), `$value`, `$labels`,
 * `$labels.name`, `$externalLabels.name` (and `.Value`, `.Labels.name`),
 * string and number literals, pipelines (`$value | humanize`), the
 * functions humanize, humanize1024, humanizePercentage, humanizeDuration,
 * printf, toUpper, toLower, title, reReplaceAll, eq/ne/lt/le/gt/ge, and
 * if / else if / else / end. Parsed once (errors with the character they
 * point at), expanded per alert into bounded output.
 */
#ifndef RULES_TEMPLATE_H
#define RULES_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define TEMPLATE_TEXT_MAX (64u * 1024)   /* a template, and what it expands to */
#define TEMPLATE_DEPTH_MAX 32

struct template;

struct template_kv {
    const char *name, *value;
};

struct template_data {
    double value;
    const struct template_kv *labels;     /* the alert's labels */
    size_t n_labels;
    const struct template_kv *external;   /* external labels (none yet) */
    size_t n_external;
    const struct template_kv *annotations; /* notification templates: the common annotations */
    size_t n_annotations;
    const struct template_kv *incident;   /* incident templates: the incident's fields */
    size_t n_incident;
};

/* template_parse_flags: also $annotations / .Annotations (the templates of
 * notifications; alert rules have no such variable). */
#define TEMPLATE_PARSE_ANNOTATIONS 1u
/* template_parse_flags: also $incident / .Incident (the communication
 * template of incidents: title, status, severity, service, impact...). */
#define TEMPLATE_PARSE_INCIDENT 2u

/* NULL with the reason and the 0-based byte offset it points at. */
struct template *template_parse(const char *text, char *why, size_t why_len, size_t *pos);
struct template *template_parse_flags(const char *text, unsigned flags, char *why, size_t why_len, size_t *pos);
void template_free(struct template *t);
/* Expands t into out (always NUL-terminated, cut at n - 1 bytes): 0, or -1
 * with the reason in out ("error expanding template: ..."), as Prometheus
 * shows a template that failed. */
int template_expand(const struct template *t, const struct template_data *d, char *out, size_t n);
/* True when text holds no action at all (nothing to expand). */
bool template_is_plain(const char *text);

#endif
