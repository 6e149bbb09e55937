/*
 * conf/status_page: the `status_page:` section (docs/configuration.md): the
 * public status page's title, description, logo, the days of history its
 * bars cover, and the components it shows, each a name over a list of
 * check ids. Check ids are not resolved here: a component may name checks
 * created through the API, so an id that names no check is shown as
 * unknown (and logged at load), not refused.
 */
#ifndef CONF_STATUS_PAGE_H
#define CONF_STATUS_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#define CONF_STATUS_COMPONENTS_MAX 1000
#define CONF_STATUS_CHECKS_MAX 1000      /* per component */
#define CONF_STATUS_HISTORY_DAYS 90
#define CONF_STATUS_HISTORY_DAYS_MAX 365
#define CONF_STATUS_TEXT_MAX 1024        /* title, description, a component's name */

struct conf_status_component {
    const char *name;
    const char *description;     /* NULL: none */
    const char **checks;         /* ids */
    size_t n_checks;
};

struct conf_status_page {
    bool enabled;                /* the section is present (and not `enabled: false`) */
    const char *title;           /* default "Status" */
    const char *description;     /* NULL: none */
    const char *logo;            /* a path on this server ("/assets/logo.svg"), NULL: none */
    int history_days;            /* bars; default 90 */
    struct conf_status_component *components;
    size_t n_components;         /* 0: one component per project (and one for checks without) */
};

struct conf_ctx;
struct conf_node;
/* Parses the section node n (may be NULL: disabled) into out (zeroed
 * first), reporting errors through ctx. */
void conf_status_page_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_status_page *out);
struct base_arena;
/* Deep-copies every string and array of sp into a. 0 or BASE_ERR_NOMEM. */
int conf_status_page_copy(struct conf_status_page *sp, struct base_arena *a);

#endif
