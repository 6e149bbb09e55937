/*
 * conf/notify: the `notify:` section (see notify.h).
 */
#include "conf/conf_int.h"
#include "conf/notify.h"

#include "base/map.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const type_names[CONF_CHANNEL_TYPE_COUNT] = {
    "webhook", "slack", "slack_bot", "pagerduty", "telegram", "discord", "teams", "email", "command",
};

const char *conf_channel_type_name(enum conf_channel_type t)
{
    return (unsigned)t < CONF_CHANNEL_TYPE_COUNT ? type_names[t] : "unknown";
}

const struct conf_channel *conf_notify_channel(const struct conf_notify *n, const char *id)
{
    for (size_t i = 0; n && id && i < n->n_channels; i++)
        if (n->channels[i].id && strcmp(n->channels[i].id, id) == 0)   /* a channel without id: an error already */
            return &n->channels[i];
    return NULL;
}

struct nctx {
    struct conf_ctx *ctx;
    struct conf_notify *out;
    size_t n_routes;
    struct base_map channel_ids;   /* id -> node */
    bool send_resolved;
};

/* ---- small readers ---- */

static const char *header_name_bad(const char *k)
{
    const char *why = conf_value_header_name_bad(k);
    if (why)
        return why;
    static const char *const own[] = {"content-type", "content-length", "host", "user-agent",
                                      "x-opshub-signature"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (strcasecmp(k, own[i]) == 0)
            return "this header is set by opshub";
    return NULL;
}

static const char *header_value_bad(const char *v, size_t len)
{
    const char *why = conf_value_header_value_bad(v, len);
    return why ? why : len > 4096 ? "longer than 4 KiB" : NULL;
}

/* A secret: 1..4096 bytes, no control characters; never quoted. */
static int secret(struct conf_ctx *ctx, const struct conf_node *n, const char *what, const char **out)
{
    if (conf_value_string(ctx, n, out) != 0)
        return -1;
    size_t len = strlen(*out);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)(*out)[i] < 0x20 || (*out)[i] == 0x7f) {
            conf_value_error(ctx, n, "%s must not contain control characters", what);
            return -1;
        }
    if (len == 0 || len > 4096) {
        conf_value_error(ctx, n, "%s must be 1 to 4096 bytes", what);
        return -1;
    }
    return 0;
}

int conf_string_list(struct conf_ctx *ctx, const struct conf_node *n, size_t max, const char *what,
                     const char *const **out, size_t *n_out)
{
    if (n->kind == CONF_NODE_SCALAR && !conf_value_is_null(n)) {
        const char **one = conf_value_alloc(ctx, sizeof(*one));
        if (!one || conf_value_string(ctx, n, &one[0]) != 0)
            return -1;
        *out = one;
        *n_out = 1;
        return 0;
    }
    if (conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return -1;
    if (n->n > max) {
        conf_value_error(ctx, n, "%s lists at most %zu entries", what, max);
        return -1;
    }
    const char **v = n->n ? conf_value_alloc(ctx, n->n * sizeof(*v)) : NULL;
    if (n->n && !v)
        return -1;
    size_t k = 0;
    int rc = 0;
    for (const struct conf_node *it = n->child; it; it = it->next)
        if (conf_value_string(ctx, it, &v[k]) == 0)
            k++;
        else
            rc = -1;
    *out = v;
    *n_out = k;
    return rc;
}

static const char *any_value_bad(const char *v, size_t len)
{
    (void)v;
    return len > 4096 ? "longer than 4 KiB" : NULL;
}

void conf_matchers_parse(struct conf_ctx *ctx, const struct conf_node *eq, const struct conf_node *re,
                         const struct conf_matcher **out, size_t *n_out)
{
    struct conf_kv *e = NULL, *r = NULL;
    size_t ne = 0, nr = 0;
    if (eq)
        conf_value_kv(ctx, eq, conf_label_name_bad, any_value_bad, &e, &ne);
    if (re)
        conf_value_kv(ctx, re, conf_label_name_bad, any_value_bad, &r, &nr);
    if (ne + nr > CONF_NOTIFY_MATCHERS_MAX) {
        conf_value_error(ctx, eq ? eq : re, "at most %d matchers", CONF_NOTIFY_MATCHERS_MAX);
        return;
    }
    if (!ne && !nr)
        return;
    struct conf_matcher *m = conf_value_alloc(ctx, (ne + nr) * sizeof(*m));
    if (!m)
        return;
    for (size_t i = 0; i < ne; i++)
        m[i] = (struct conf_matcher){e[i].key, e[i].value, false};
    for (size_t i = 0; i < nr; i++) {
        m[ne + i] = (struct conf_matcher){r[i].key, r[i].value, true};
        /* the pattern is anchored as Alertmanager anchors it */
        size_t len = strlen(r[i].value);
        char *anchored = malloc(len + 8);
        if (!anchored) {
            conf_value_nomem(ctx);
            return;
        }
        snprintf(anchored, len + 8, "^(?:%s)$", r[i].value);
        int code;
        PCRE2_SIZE off;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
        free(anchored);
        if (!c) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(code, msg, sizeof(msg));
            const struct conf_node *at = conf_value_member(re, r[i].key);
            conf_value_error(ctx, at ? at : re, "bad regular expression for '%s': %s", r[i].key, (char *)msg);
        }
        pcre2_code_free(c);
    }
    *out = m;
    *n_out = ne + nr;
}

static int interval(struct conf_ctx *ctx, const struct conf_node *n, int64_t lo, int64_t hi, const char *what,
                    int64_t *out)
{
    int64_t v;
    if (conf_value_is_null(n)) {
        conf_value_error(ctx, n, "%s needs a duration", what);
        return -1;
    }
    /* group_wait may be 0s: conf_value_duration wants > 0 */
    if (n->kind == CONF_NODE_SCALAR && (strcmp(n->text, "0") == 0 || strcmp(n->text, "0s") == 0) && lo == 0) {
        *out = 0;
        return 0;
    }
    if (conf_value_duration(ctx, n, &v) != 0)
        return -1;
    if (v < lo || v > hi) {
        conf_value_error(ctx, n, "%s must be from %lldms to %lldh", what, (long long)lo, (long long)(hi / 3600000));
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- email ---- */

/* local@domain, printable ASCII without spaces, <, >, quotes, commas. */
static bool address_ok(const char *a)
{
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
        return false;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>\"(),;:\\[]", *p))
            return false;
    return true;
}

static const char *env_or(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void parse_email(struct conf_ctx *ctx, const struct conf_node *item, const struct conf_node *to,
                        const struct conf_node *from, const struct conf_node *host, const struct conf_node *port,
                        const struct conf_node *user, const struct conf_node *pass, const struct conf_node *tls,
                        const struct conf_node *ca, struct conf_channel *ch)
{
    if (!to) {
        conf_value_error_member(ctx, item, "to", "an email channel needs 'to' (a list of addresses)");
    } else if (conf_string_list(ctx, to, 100, "to", &ch->to, &ch->n_to) == 0) {
        if (!ch->n_to)
            conf_value_error(ctx, to, "'to' needs at least one address");
        for (size_t i = 0; i < ch->n_to; i++)
            if (!address_ok(ch->to[i]))
                conf_value_error(ctx, to, "'%s' is not an e-mail address (local@domain)", ch->to[i]);
    }
    if (!from)
        conf_value_error_member(ctx, item, "from", "an email channel needs 'from' (the sender's address)");
    else if (conf_value_string(ctx, from, &ch->from) == 0 && !address_ok(ch->from))
        conf_value_error(ctx, from, "'%s' is not an e-mail address (local@domain)", ch->from);
    const char *h = NULL;
    if (host)
        conf_value_string(ctx, host, &h);
    else
        h = env_or("SMTP_HOST");
    if (!h) {
        conf_value_error_member(ctx, item, "smtp_host", "an email channel needs 'smtp_host' (or SMTP_HOST in the "
                                "environment)");
        return;
    }
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-' || *p == ':' || *p == '[' || *p == ']')) {
            conf_value_error(ctx, host ? host : item, "smtp_host must be a host name or an IP address");
            return;
        }
    long long pn = 587;
    if (port) {
        conf_value_int(ctx, port, 1, 65535, &pn);
    } else if (env_or("SMTP_PORT")) {
        char *end;
        pn = strtoll(env_or("SMTP_PORT"), &end, 10);
        if (*end || pn < 1 || pn > 65535) {
            conf_value_error(ctx, item, "SMTP_PORT must be a port number (1-65535)");
            pn = 587;
        }
    }
    size_t tl = 0;
    static const char *const modes[] = {"starttls", "tls", "none"};
    if (tls)
        conf_value_choice(ctx, tls, "tls mode", modes, 3, &tl);
    ch->tls = (int)tl;
    if (user)
        secret(ctx, user, "smtp_user", &ch->smtp_user);
    else if (env_or("SMTP_USER"))
        ch->smtp_user = conf_value_keep(ctx, env_or("SMTP_USER"), strlen(env_or("SMTP_USER")));
    if (pass)
        secret(ctx, pass, "smtp_pass", &ch->smtp_pass);
    else if (env_or("SMTP_PASS"))
        ch->smtp_pass = conf_value_keep(ctx, env_or("SMTP_PASS"), strlen(env_or("SMTP_PASS")));
    if (ch->smtp_pass && !ch->smtp_user)
        conf_value_error(ctx, pass ? pass : item, "smtp_pass without smtp_user");
    if (ch->smtp_user && ch->tls == CONF_SMTP_NONE)
        conf_value_error(ctx, tls ? tls : item, "credentials are never sent without TLS: use tls: starttls or tls");
    if (ca)
        conf_value_string(ctx, ca, &ch->ca_file);
    char url[512];
    snprintf(url, sizeof(url), "%s://%s:%lld", ch->tls == CONF_SMTP_TLS ? "smtps" : "smtp", h, pn);
    ch->url = conf_value_keep(ctx, url, strlen(url));
}

/* ---- command ---- */

static void parse_command(struct conf_ctx *ctx, const struct conf_node *item, const struct conf_node *cmd,
                          const struct conf_node *env, const struct conf_node *workdir, struct conf_channel *ch)
{
    if (!cmd) {
        conf_value_error_member(ctx, item, "command", "a command channel needs 'command' (the program and its "
                                "arguments as a list)");
    } else if (cmd->kind != CONF_NODE_SEQ) {
        conf_value_error(ctx, cmd, "command: expected a list of arguments (no shell: use [/bin/sh, -c, '...'] "
                         "for one), got %s", conf_value_kind_name(cmd));
    } else if (conf_string_list(ctx, cmd, CONF_NOTIFY_COMMAND_ARGS_MAX, "command", &ch->command, &ch->n_command) == 0) {
        size_t total = 0;
        for (size_t i = 0; i < ch->n_command; i++)
            total += strlen(ch->command[i]) + 1;
        if (!ch->n_command || !ch->command[0][0])
            conf_value_error(ctx, cmd, "command: the program (the first item) must not be empty");
        else if (total > CONF_NOTIFY_COMMAND_TEXT_MAX)
            conf_value_error(ctx, cmd, "command is longer than %d bytes", CONF_NOTIFY_COMMAND_TEXT_MAX);
    }
    if (env && conf_value_kv(ctx, env, conf_value_env_name_bad, NULL, &ch->env, &ch->n_env) == 0 &&
        ch->n_env > CONF_NOTIFY_COMMAND_ENV_MAX)
        conf_value_error(ctx, env, "env has %zu variables, at most %d", ch->n_env, CONF_NOTIFY_COMMAND_ENV_MAX);
    if (workdir && conf_value_string(ctx, workdir, &ch->workdir) == 0 && ch->workdir[0] != '/')
        conf_value_error(ctx, workdir, "workdir must be an absolute path");
}

/* ---- channels ---- */

static void parse_channel(struct nctx *nc, const struct conf_node *item, struct conf_channel *ch)
{
    struct conf_ctx *ctx = nc->ctx;
    enum { F_ID, F_TYPE, F_URL, F_API_URL, F_SECRET, F_HEADERS, F_TOKEN, F_CHANNEL, F_CHAT_ID, F_ROUTING_KEY,
           F_SEND_RESOLVED, F_TIMEOUT, F_MAX_AGE, F_TO, F_FROM, F_SMTP_HOST, F_SMTP_PORT, F_SMTP_USER, F_SMTP_PASS,
           F_TLS, F_CA_FILE, F_TITLE, F_TEXT, F_COMMAND, F_ENV, F_WORKDIR, F_N };
    static const char *const names[F_N] = {"id", "type", "url", "api_url", "secret", "headers", "token",
                                           "channel", "chat_id", "routing_key", "send_resolved", "timeout",
                                           "max_age", "to", "from", "smtp_host", "smtp_port", "smtp_user",
                                           "smtp_pass", "tls", "ca_file", "title", "text", "command", "env",
                                           "workdir"};
    const struct conf_node *f[F_N];
    ch->send_resolved = nc->send_resolved;
    ch->timeout_ms = CONF_NOTIFY_TIMEOUT_MS;
    ch->max_age_ms = CONF_NOTIFY_MAX_AGE_MS;
    ch->line = item->line;
    ch->col = item->col;
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (!f[F_ID])
        conf_value_error_member(ctx, item, "id", "channel is missing 'id'");
    else if (conf_value_id(ctx, f[F_ID], &ch->id) == 0)
        conf_value_unique(ctx, &nc->channel_ids, ch->id, f[F_ID], "channel");
    size_t t = 0;
    if (!f[F_TYPE]) {
        conf_value_error_member(ctx, item, "type", "channel is missing 'type' (one of webhook, slack, slack_bot, "
                                "pagerduty, telegram, discord, teams, email, command)");
        return;
    }
    if (conf_value_choice(ctx, f[F_TYPE], "channel type", type_names, CONF_CHANNEL_TYPE_COUNT, &t) != 0)
        return;
    ch->type = (enum conf_channel_type)t;
    /* which fields each type takes */
    bool want_url = t == CONF_CHANNEL_WEBHOOK || t == CONF_CHANNEL_SLACK || t == CONF_CHANNEL_DISCORD ||
                    t == CONF_CHANNEL_TEAMS;
    bool email = t == CONF_CHANNEL_EMAIL, cmd = t == CONF_CHANNEL_COMMAND;
    /* webhook and command carry the payload itself: no message templates */
    bool templated = t != CONF_CHANNEL_WEBHOOK && !cmd;
    struct { int field; bool ok; } allowed[] = {
        {F_URL, want_url},
        {F_API_URL, !want_url && !email && !cmd},
        {F_TITLE, templated}, {F_TEXT, templated},
        {F_COMMAND, cmd}, {F_ENV, cmd}, {F_WORKDIR, cmd},
        {F_TO, email}, {F_FROM, email}, {F_SMTP_HOST, email}, {F_SMTP_PORT, email}, {F_SMTP_USER, email},
        {F_SMTP_PASS, email}, {F_TLS, email}, {F_CA_FILE, email},
        {F_SECRET, t == CONF_CHANNEL_WEBHOOK},
        {F_HEADERS, t == CONF_CHANNEL_WEBHOOK},
        {F_TOKEN, t == CONF_CHANNEL_SLACK_BOT || t == CONF_CHANNEL_TELEGRAM},
        {F_CHANNEL, t == CONF_CHANNEL_SLACK_BOT},
        {F_CHAT_ID, t == CONF_CHANNEL_TELEGRAM},
        {F_ROUTING_KEY, t == CONF_CHANNEL_PAGERDUTY},
    };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (f[allowed[i].field] && !allowed[i].ok)
            conf_value_error(ctx, f[allowed[i].field]->key, "a %s channel has no '%s'", type_names[t],
                             names[allowed[i].field]);
    if (want_url) {
        if (!f[F_URL])
            conf_value_error_member(ctx, item, "url", "a %s channel needs 'url'", type_names[t]);
        else
            conf_value_url(ctx, f[F_URL], &ch->url);
    } else if (f[F_API_URL]) {
        conf_value_url(ctx, f[F_API_URL], &ch->url);
    }
    if (f[F_SECRET] && ch->type == CONF_CHANNEL_WEBHOOK)
        secret(ctx, f[F_SECRET], "secret", &ch->secret);
    if (f[F_HEADERS] && ch->type == CONF_CHANNEL_WEBHOOK)
        conf_value_kv(ctx, f[F_HEADERS], header_name_bad, header_value_bad, &ch->headers, &ch->n_headers);
    if (t == CONF_CHANNEL_SLACK_BOT) {
        if (f[F_TOKEN])
            secret(ctx, f[F_TOKEN], "token", &ch->token);
        else if (getenv("SLACK_BOT_TOKEN") && *getenv("SLACK_BOT_TOKEN"))
            ch->token = conf_value_keep(ctx, getenv("SLACK_BOT_TOKEN"), strlen(getenv("SLACK_BOT_TOKEN")));
        else
            conf_value_error_member(ctx, item, "token", "a slack_bot channel needs 'token' (or SLACK_BOT_TOKEN "
                                    "in the environment)");
        if (f[F_CHANNEL])
            conf_value_string(ctx, f[F_CHANNEL], &ch->target);
        else if (getenv("SLACK_CHANNEL") && *getenv("SLACK_CHANNEL"))
            ch->target = conf_value_keep(ctx, getenv("SLACK_CHANNEL"), strlen(getenv("SLACK_CHANNEL")));
        else
            conf_value_error_member(ctx, item, "channel", "a slack_bot channel needs 'channel' (or SLACK_CHANNEL "
                                    "in the environment)");
    }
    if (t == CONF_CHANNEL_TELEGRAM) {
        if (!f[F_TOKEN])
            conf_value_error_member(ctx, item, "token", "a telegram channel needs 'token' (the bot's)");
        else
            secret(ctx, f[F_TOKEN], "token", &ch->token);
        if (!f[F_CHAT_ID])
            conf_value_error_member(ctx, item, "chat_id", "a telegram channel needs 'chat_id'");
        else
            conf_value_string(ctx, f[F_CHAT_ID], &ch->target);
    }
    if (t == CONF_CHANNEL_PAGERDUTY) {
        if (!f[F_ROUTING_KEY])
            conf_value_error_member(ctx, item, "routing_key", "a pagerduty channel needs 'routing_key' (the "
                                    "integration key of an Events API v2 service)");
        else
            secret(ctx, f[F_ROUTING_KEY], "routing_key", &ch->routing_key);
    }
    if (cmd)
        parse_command(ctx, item, f[F_COMMAND], f[F_ENV], f[F_WORKDIR], ch);
    if (email)
        parse_email(ctx, item, f[F_TO], f[F_FROM], f[F_SMTP_HOST], f[F_SMTP_PORT], f[F_SMTP_USER], f[F_SMTP_PASS],
                    f[F_TLS], f[F_CA_FILE], ch);
    if (f[F_SEND_RESOLVED])
        conf_value_bool(ctx, f[F_SEND_RESOLVED], &ch->send_resolved);
    ch->file = item->file; /* in the conf arena */
    if (f[F_TITLE] && templated && conf_value_string(ctx, f[F_TITLE], &ch->title) == 0) {
        ch->title_line = f[F_TITLE]->line;
        ch->title_col = f[F_TITLE]->col;
        if (strlen(ch->title) > 4096 || strchr(ch->title, '\n'))
            conf_value_error(ctx, f[F_TITLE], "a title is one line of at most 4096 bytes");
    }
    if (f[F_TEXT] && templated && conf_value_string(ctx, f[F_TEXT], &ch->text) == 0) {
        ch->text_line = f[F_TEXT]->line;
        ch->text_col = f[F_TEXT]->col;
        if (strlen(ch->text) > 16384)
            conf_value_error(ctx, f[F_TEXT], "a text template is at most 16 KiB");
    }
    if (f[F_TIMEOUT])
        interval(ctx, f[F_TIMEOUT], 100, 600000, "timeout", &ch->timeout_ms);
    if (f[F_MAX_AGE])
        interval(ctx, f[F_MAX_AGE], 1000, 30LL * 86400000, "max_age", &ch->max_age_ms);
}

/* ---- routes ---- */

static void check_channel_ids(struct nctx *nc, const struct conf_node *n, const char *const *ids, size_t count)
{
    const struct conf_node *it = n->kind == CONF_NODE_SEQ ? n->child : n;
    for (size_t i = 0; i < count && it; i++, it = n->kind == CONF_NODE_SEQ ? it->next : it)
        if (!base_map_get(&nc->channel_ids, ids[i]))
            conf_value_error(nc->ctx, it, "no channel has the id '%s'", ids[i]);
}

static void parse_route(struct nctx *nc, const struct conf_node *item, struct conf_route *r,
                        const struct conf_route *parent, int depth);

static void parse_routes(struct nctx *nc, const struct conf_node *n, struct conf_route *parent, int depth)
{
    struct conf_ctx *ctx = nc->ctx;
    if (conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ))
        return;
    if (depth >= CONF_NOTIFY_ROUTE_DEPTH) {
        conf_value_error(ctx, n, "routes nest at most %d levels deep", CONF_NOTIFY_ROUTE_DEPTH);
        return;
    }
    if (nc->n_routes + n->n > CONF_NOTIFY_ROUTES_MAX) {
        conf_value_error(ctx, n, "notify holds at most %d routes", CONF_NOTIFY_ROUTES_MAX);
        return;
    }
    nc->n_routes += n->n;
    struct conf_route *rs = n->n ? conf_value_alloc(ctx, n->n * sizeof(*rs)) : NULL;
    if (n->n && !rs)
        return;
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next)
        parse_route(nc, it, &rs[k++], parent, depth + 1);
    parent->routes = rs;
    parent->n_routes = k;
}

static void group_by(struct nctx *nc, const struct conf_node *n, struct conf_route *r)
{
    if (conf_string_list(nc->ctx, n, CONF_NOTIFY_GROUP_BY_MAX, "group_by", &r->group_by, &r->n_group_by) != 0)
        return;
    for (size_t i = 0; i < r->n_group_by; i++) {
        if (strcmp(r->group_by[i], "...") == 0) {
            if (r->n_group_by > 1)
                conf_value_error(nc->ctx, n, "group_by: ['...'] (every label) stands alone");
            r->group_by_all = true;
            continue;
        }
        const char *why = conf_label_name_bad(r->group_by[i]);
        if (why)
            conf_value_error(nc->ctx, n, "group_by: bad label name '%s': %s", r->group_by[i], why);
    }
    if (r->group_by_all)
        r->n_group_by = 0;
}

static void parse_route(struct nctx *nc, const struct conf_node *item, struct conf_route *r,
                        const struct conf_route *parent, int depth)
{
    struct conf_ctx *ctx = nc->ctx;
    enum { F_MATCH, F_MATCH_RE, F_CHANNELS, F_CONTINUE, F_GROUP_BY, F_GROUP_WAIT, F_GROUP_INTERVAL,
           F_REPEAT_INTERVAL, F_ROUTES, F_RECEIVER, F_MATCHERS, F_N };
    static const char *const names[F_N] = {"match", "match_re", "channels", "continue", "group_by", "group_wait",
                                           "group_interval", "repeat_interval", "routes", "receiver", "matchers"};
    const struct conf_node *f[F_N];
    r->line = item->line;
    r->col = item->col;
    if (parent) {
        r->channels = parent->channels;
        r->n_channels = parent->n_channels;
        r->group_by = parent->group_by;
        r->n_group_by = parent->n_group_by;
        r->group_by_all = parent->group_by_all;
        r->group_wait_ms = parent->group_wait_ms;
        r->group_interval_ms = parent->group_interval_ms;
        r->repeat_interval_ms = parent->repeat_interval_ms;
    }
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (f[F_RECEIVER])
        conf_value_error(ctx, f[F_RECEIVER]->key, "opshub routes name 'channels' (a list of channel ids), "
                         "not Alertmanager's 'receiver'");
    if (f[F_MATCHERS])
        conf_value_error(ctx, f[F_MATCHERS]->key, "'matchers' is not supported yet: use match (equality) and "
                         "match_re (regular expressions)");
    conf_matchers_parse(ctx, f[F_MATCH], f[F_MATCH_RE], &r->matchers, &r->n_matchers);
    if (f[F_CHANNELS] && conf_string_list(ctx, f[F_CHANNELS], CONF_NOTIFY_CHANNELS_MAX, "channels", &r->channels,
                                     &r->n_channels) == 0)
        check_channel_ids(nc, f[F_CHANNELS], r->channels, r->n_channels);
    if (f[F_CONTINUE])
        conf_value_bool(ctx, f[F_CONTINUE], &r->cont);
    if (f[F_GROUP_BY])
        group_by(nc, f[F_GROUP_BY], r);
    if (f[F_GROUP_WAIT])
        interval(ctx, f[F_GROUP_WAIT], 0, 3600000, "group_wait", &r->group_wait_ms);
    if (f[F_GROUP_INTERVAL])
        interval(ctx, f[F_GROUP_INTERVAL], 100, 86400000, "group_interval", &r->group_interval_ms);
    if (f[F_REPEAT_INTERVAL])
        interval(ctx, f[F_REPEAT_INTERVAL], 1000, 30LL * 86400000, "repeat_interval", &r->repeat_interval_ms);
    if (f[F_ROUTES])
        parse_routes(nc, f[F_ROUTES], r, depth);
    if (!r->n_channels && !r->n_routes)
        conf_value_error(ctx, item, "this route sends nowhere: give it 'channels' (or routes under it), or "
                         "set notify.default_channels");
}

/* ---- inhibit ---- */

static void parse_inhibit(struct conf_ctx *ctx, const struct conf_node *item, struct conf_inhibit *in)
{
    enum { F_SOURCE, F_SOURCE_MATCH, F_SOURCE_RE, F_TARGET, F_TARGET_MATCH, F_TARGET_RE, F_EQUAL, F_N };
    static const char *const names[F_N] = {"source", "source_match", "source_match_re", "target", "target_match",
                                           "target_match_re", "equal"};
    const struct conf_node *f[F_N];
    if (conf_value_expect(ctx, item, CONF_NODE_MAP))
        return;
    conf_value_fields(ctx, item, names, F_N, f);
    if (f[F_SOURCE] && f[F_SOURCE_MATCH])
        conf_value_error(ctx, f[F_SOURCE_MATCH]->key, "give source or source_match, not both");
    if (f[F_TARGET] && f[F_TARGET_MATCH])
        conf_value_error(ctx, f[F_TARGET_MATCH]->key, "give target or target_match, not both");
    conf_matchers_parse(ctx, f[F_SOURCE] ? f[F_SOURCE] : f[F_SOURCE_MATCH], f[F_SOURCE_RE], &in->source, &in->n_source);
    conf_matchers_parse(ctx, f[F_TARGET] ? f[F_TARGET] : f[F_TARGET_MATCH], f[F_TARGET_RE], &in->target, &in->n_target);
    if (!in->n_source && !(f[F_SOURCE] || f[F_SOURCE_MATCH] || f[F_SOURCE_RE]))
        conf_value_error_member(ctx, item, "source", "an inhibition rule needs 'source' matchers (the alert that "
                                "mutes)");
    if (!in->n_target && !(f[F_TARGET] || f[F_TARGET_MATCH] || f[F_TARGET_RE]))
        conf_value_error_member(ctx, item, "target", "an inhibition rule needs 'target' matchers (the alerts "
                                "it mutes)");
    if (f[F_EQUAL] && conf_string_list(ctx, f[F_EQUAL], CONF_NOTIFY_MATCHERS_MAX, "equal", &in->equal, &in->n_equal) == 0)
        for (size_t i = 0; i < in->n_equal; i++) {
            const char *why = conf_label_name_bad(in->equal[i]);
            if (why)
                conf_value_error(ctx, f[F_EQUAL], "equal: bad label name '%s': %s", in->equal[i], why);
        }
}

/* ---- the section ---- */

void conf_notify_parse(struct conf_ctx *ctx, const struct conf_node *n, struct conf_notify *out)
{
    enum { F_CHANNELS, F_ROUTES, F_INHIBIT, F_DEFAULT, F_GROUP_BY, F_GROUP_WAIT, F_GROUP_INTERVAL,
           F_REPEAT_INTERVAL, F_SEND_RESOLVED, F_N };
    static const char *const names[F_N] = {"channels", "routes", "inhibit", "default_channels", "group_by",
                                           "group_wait", "group_interval", "repeat_interval", "send_resolved"};
    const struct conf_node *f[F_N];
    memset(out, 0, sizeof(*out));
    struct conf_route *root = &out->root;
    root->group_wait_ms = CONF_NOTIFY_GROUP_WAIT_MS;
    root->group_interval_ms = CONF_NOTIFY_GROUP_INTERVAL_MS;
    root->repeat_interval_ms = CONF_NOTIFY_REPEAT_INTERVAL_MS;
    if (!n || conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_MAP))
        return;
    struct nctx nc = {.ctx = ctx, .out = out, .send_resolved = true};
    base_map_init(&nc.channel_ids);
    conf_value_fields(ctx, n, names, F_N, f);
    root->line = n->line;
    root->col = n->col;
    if (f[F_SEND_RESOLVED])
        conf_value_bool(ctx, f[F_SEND_RESOLVED], &nc.send_resolved);
    if (f[F_CHANNELS] && !conf_value_is_null(f[F_CHANNELS]) &&
        conf_value_expect(ctx, f[F_CHANNELS], CONF_NODE_SEQ) == 0) {
        const struct conf_node *cs = f[F_CHANNELS];
        if (cs->n > CONF_NOTIFY_CHANNELS_MAX) {
            conf_value_error(ctx, cs, "notify.channels lists at most %d channels", CONF_NOTIFY_CHANNELS_MAX);
        } else if (cs->n) {
            struct conf_channel *ch = conf_value_alloc(ctx, cs->n * sizeof(*ch));
            size_t k = 0;
            for (const struct conf_node *it = cs->child; ch && it; it = it->next)
                parse_channel(&nc, it, &ch[k++]);
            out->channels = ch;
            out->n_channels = ch ? k : 0;
        }
    }
    if (f[F_GROUP_BY])
        group_by(&nc, f[F_GROUP_BY], root);
    if (f[F_GROUP_WAIT])
        interval(ctx, f[F_GROUP_WAIT], 0, 3600000, "group_wait", &root->group_wait_ms);
    if (f[F_GROUP_INTERVAL])
        interval(ctx, f[F_GROUP_INTERVAL], 100, 86400000, "group_interval", &root->group_interval_ms);
    if (f[F_REPEAT_INTERVAL])
        interval(ctx, f[F_REPEAT_INTERVAL], 1000, 30LL * 86400000, "repeat_interval", &root->repeat_interval_ms);
    if (f[F_DEFAULT] && conf_string_list(ctx, f[F_DEFAULT], CONF_NOTIFY_CHANNELS_MAX, "default_channels",
                                    &root->channels, &root->n_channels) == 0)
        check_channel_ids(&nc, f[F_DEFAULT], root->channels, root->n_channels);
    if (f[F_ROUTES])
        parse_routes(&nc, f[F_ROUTES], root, 0);
    if (f[F_INHIBIT] && !conf_value_is_null(f[F_INHIBIT]) &&
        conf_value_expect(ctx, f[F_INHIBIT], CONF_NODE_SEQ) == 0) {
        const struct conf_node *is = f[F_INHIBIT];
        if (is->n > CONF_NOTIFY_INHIBIT_MAX) {
            conf_value_error(ctx, is, "notify.inhibit lists at most %d rules", CONF_NOTIFY_INHIBIT_MAX);
        } else if (is->n) {
            struct conf_inhibit *in = conf_value_alloc(ctx, is->n * sizeof(*in));
            size_t k = 0;
            for (const struct conf_node *it = is->child; in && it; it = it->next)
                parse_inhibit(ctx, it, &in[k++]);
            out->inhibit = in;
            out->n_inhibit = in ? k : 0;
        }
    }
    base_map_free(&nc.channel_ids);
}
