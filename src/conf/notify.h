/*
 * conf/notify: the `notify:` section (docs/notifications.md): the channels
 * notifications go out through, the routing tree (Alertmanager's
 * semantics: match / match_re on labels, continue, group_by, group_wait,
 * group_interval, repeat_interval, nested routes, each level inheriting
 * what it does not set), and the inhibition rules. Regular expressions
 * are checked here (anchored, as Alertmanager and PromQL anchor them) and
 * compiled by the notify layer. Secrets (webhook secret, tokens, routing
 * keys) are never logged or quoted in errors.
 */
#ifndef CONF_NOTIFY_H
#define CONF_NOTIFY_H

#include "conf/value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_NOTIFY_CHANNELS_MAX 256
#define CONF_NOTIFY_ROUTES_MAX 1000      /* every route of the tree */
#define CONF_NOTIFY_ROUTE_DEPTH 16
#define CONF_NOTIFY_MATCHERS_MAX 32      /* per route or inhibition side */
#define CONF_NOTIFY_GROUP_BY_MAX 32
#define CONF_NOTIFY_INHIBIT_MAX 256
#define CONF_NOTIFY_GROUP_WAIT_MS 30000
#define CONF_NOTIFY_GROUP_INTERVAL_MS 300000
#define CONF_NOTIFY_REPEAT_INTERVAL_MS (4LL * 3600000)
#define CONF_NOTIFY_TIMEOUT_MS 10000
#define CONF_NOTIFY_MAX_AGE_MS (24LL * 3600000)
#define CONF_NOTIFY_COMMAND_ARGS_MAX 256
#define CONF_NOTIFY_COMMAND_TEXT_MAX (64 * 1024)
#define CONF_NOTIFY_COMMAND_ENV_MAX 64

enum conf_channel_type {
    CONF_CHANNEL_WEBHOOK,     /* Alertmanager's webhook payload (version 4) */
    CONF_CHANNEL_SLACK,       /* a Slack incoming webhook */
    CONF_CHANNEL_SLACK_BOT,   /* chat.postMessage with a bot token */
    CONF_CHANNEL_PAGERDUTY,   /* Events API v2 */
    CONF_CHANNEL_TELEGRAM,    /* Bot API sendMessage */
    CONF_CHANNEL_DISCORD,     /* a Discord webhook */
    CONF_CHANNEL_TEAMS,       /* a Microsoft Teams (workflow) webhook */
    CONF_CHANNEL_EMAIL,       /* SMTP through libcurl */
    CONF_CHANNEL_COMMAND,     /* a program with the webhook payload on stdin */
    CONF_CHANNEL_TYPE_COUNT
};

enum conf_smtp_tls { CONF_SMTP_STARTTLS, CONF_SMTP_TLS, CONF_SMTP_NONE };

struct conf_channel {
    const char *id;
    enum conf_channel_type type;
    const char *url;          /* webhook, slack, discord, teams: where to POST; the others: the API's base
                               * URL (NULL: the service's public one) */
    const char *secret;       /* webhook: signs the body (X-Opshub-Signature: sha256=<hex HMAC>) */
    struct conf_kv *headers;  /* webhook: extra request headers */
    size_t n_headers;
    const char *token;        /* slack_bot (default SLACK_BOT_TOKEN), telegram: the bot token */
    const char *target;       /* slack_bot: the channel (default SLACK_CHANNEL); telegram: chat_id */
    const char *routing_key;  /* pagerduty */
    /* email: smtp_host[:smtp_port] is in url as smtp://HOST:PORT (SMTP_HOST, SMTP_PORT, default port 587) */
    const char *const *to;
    size_t n_to;
    const char *from;
    const char *smtp_user, *smtp_pass; /* SMTP_USER, SMTP_PASS; NULL: no AUTH */
    int tls;                  /* enum conf_smtp_tls */
    const char *ca_file;      /* PEM bundle to verify the server with; NULL: the system's */
    /* command: argv (no shell; the program found in PATH when it has no '/'), env added to the fixed
     * PATH and LC_ALL=C (the daemon's own environment is never passed), workdir (absolute; NULL: /) */
    const char *const *command;
    size_t n_command;
    struct conf_kv *env;
    size_t n_env;
    const char *workdir;
    bool send_resolved;       /* default: notify.send_resolved, true */
    int64_t timeout_ms;       /* one attempt; default 10s */
    int64_t max_age_ms;       /* retried until this old, then failed; default 24h */
    int line, col;            /* where it is defined */
    /* title / text: templates (the annotations' engine, plus $annotations) replacing the
     * default summary line and body; checked by notify_validate at their position */
    const char *title, *text;
    const char *file;
    int title_line, title_col, text_line, text_col;
};

struct conf_matcher {
    const char *name, *value;
    bool regex;               /* match_re: value is an anchored PCRE2 pattern */
};

struct conf_route {
    const struct conf_matcher *matchers;
    size_t n_matchers;
    const char *const *channels; /* ids, checked against the channels; inherited when absent */
    size_t n_channels;
    bool cont;                /* continue: later siblings are tried too */
    const char *const *group_by; /* label names; inherited when absent */
    size_t n_group_by;
    bool group_by_all;        /* group_by: ['...']: every label */
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms; /* inherited values filled in */
    const struct conf_route *routes;
    size_t n_routes;
    int line, col;
};

struct conf_inhibit {
    const struct conf_matcher *source, *target;
    size_t n_source, n_target;
    const char *const *equal;
    size_t n_equal;
};

struct conf_notify {
    const struct conf_channel *channels;
    size_t n_channels;
    struct conf_route root;   /* notify's own group_* and default_channels; routes: its children */
    const struct conf_inhibit *inhibit;
    size_t n_inhibit;
};

/* "webhook", "slack"... */
const char *conf_channel_type_name(enum conf_channel_type t);
/* The channel with this id, or NULL. */
const struct conf_channel *conf_notify_channel(const struct conf_notify *n, const char *id);

struct conf_ctx;
struct conf_node;
/* Parses the section node (NULL: none) into out (zeroed first). */
void conf_notify_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_notify *out);

#endif
