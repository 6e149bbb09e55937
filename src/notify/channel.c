/*
 * notify/channel: what each channel type sends, built from the canonical
 * payload (Alertmanager's webhook JSON, version 4, as the outbox keeps
 * it), and what each answer means. The public services' base URLs are
 * only defaults: `url` / `api_url` points a channel anywhere (tests point
 * them at local recorders; production code takes the same path).
 *   webhook    the payload itself; X-Opshub-Signature: sha256=<hex HMAC
 *              of the body with `secret`>; custom headers
 *   slack      incoming webhook: Block Kit in an attachment coloured by
 *              severity (value, runbook, silence and dashboard links)
 *   slack_bot  the same message through chat.postMessage (Bearer token)
 *   pagerduty  Events API v2: trigger / resolve with the group's dedup_key
 *   telegram   Bot API sendMessage, HTML
 *   discord    a webhook message with one embed
 *   teams      a webhook message with an Adaptive Card
 *   email      SMTP (libcurl): multipart text + HTML
 *   command    a program (probe/proc) with the payload on stdin and the
 *              delivery in OPSHUB_* variables; exit 0 sent, 75 retried
 * Every request carries X-Opshub-Delivery (the delivery id, the same on a
 * retry) and X-Opshub-Dedup-Key (the group's), so a receiver can drop the
 * duplicates that at-least-once delivery allows.
 */
#include "notify/notify_int.h"

#include "base/alloc.h"
#include "base/err.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALERTS_SHOWN 20   /* per message in chat channels; the rest counted */

void nreq_free(struct nreq *r)
{
    base_free(r->url);
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->rcpt);
    base_free(r->mail_from);
    base_free(r->body);
    memset(r, 0, sizeof(*r));
}

/* A growing text, always NUL-terminated; a piece that would pass max is left out whole. */
struct tb {
    char *p;
    size_t len, cap, max;
};

static void tb_init(struct tb *t, size_t max)
{
    memset(t, 0, sizeof(*t));
    t->max = max;
}

static void tb_free(struct tb *t)
{
    base_free(t->p);
    memset(t, 0, sizeof(*t));
}

static void tb_reset(struct tb *t)
{
    t->len = 0;
    if (t->p)
        t->p[0] = 0;
}

static const char *tb_str(const struct tb *t)
{
    return t->p ? t->p : "";
}

static void tb_put(struct tb *t, const char *s, size_t n)
{
    if (t->len + n > t->max)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *q = base_realloc(t->p, cap);
        if (!q)
            return;
        t->p = q;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void tb_putf(struct tb *t, const char *fmt, ...) BASE_PRINTF(2, 3);
static void tb_putf(struct tb *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        tb_put(t, small, (size_t)n);
        return;
    }
    char *big = base_malloc((size_t)n + 1);
    if (!big)
        return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tb_put(t, big, (size_t)n);
    base_free(big);
}

/* ---- reading the payload ---- */

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *label(json_t *alert_or_payload, const char *obj, const char *key)
{
    return str(json_object_get(alert_or_payload, obj), key);
}

static size_t count_status(json_t *alerts, const char *status)
{
    size_t n = 0, i;
    json_t *a;
    json_array_foreach(alerts, i, a) n += strcmp(str(a, "status"), status) == 0;
    return n;
}

void channel_summary(json_t *p, char *out, size_t n)
{
    if (json_is_string(json_object_get(p, "opshub_page"))) {
        snprintf(out, n, "%s", str(p, "summary"));
        return;
    }
    json_t *alerts = json_object_get(p, "alerts");
    bool firing = strcmp(str(p, "status"), "firing") == 0;
    size_t len = 0;
    if (firing)
        len = (size_t)snprintf(out, n, "[FIRING:%zu]", count_status(alerts, "firing"));
    else
        len = (size_t)snprintf(out, n, "[RESOLVED]");
    json_t *gl = json_object_get(p, "groupLabels"), *cl = json_object_get(p, "commonLabels");
    const char *k;
    json_t *v;
    bool any = false;
    /* the group's label values, sorted by name (jansson keeps insertion order: sort by hand) */
    const char *keys[64];
    size_t nk = 0;
    json_object_foreach(gl, k, v) if (nk < 64) keys[nk++] = k;
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < nk && len < n; i++) {
        len += (size_t)snprintf(out + len, n - len, " %s", json_string_value(json_object_get(gl, keys[i])));
        any = true;
    }
    if (!any && len < n)
        len += (size_t)snprintf(out + len, n - len, " %s", label(p, "commonLabels", "alertname")[0]
                                                           ? label(p, "commonLabels", "alertname") : "alerts");
    /* common labels that are not group labels */
    bool open = false;
    json_object_foreach(cl, k, v)
    {
        if (json_object_get(gl, k) || (!any && strcmp(k, "alertname") == 0) || len >= n)
            continue;
        len += (size_t)snprintf(out + len, n - len, "%s%s=%s", open ? " " : " (", k, json_string_value(v));
        open = true;
    }
    if (open && len < n)
        snprintf(out + len, n - len, ")");
}

/* ---- text helpers ---- */

/* Appends s escaped for Slack mrkdwn and Telegram HTML (&, <, >). */
static void esc(struct tb *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            tb_put(b, "&amp;", 5);
        else if (*s == '<')
            tb_put(b, "&lt;", 4);
        else if (*s == '>')
            tb_put(b, "&gt;", 4);
        else
            tb_put(b, s, 1);
    }
}

static const char *severity_of(json_t *p)
{
    const char *s = label(p, "commonLabels", "severity");
    if (!*s) {
        json_t *alerts = json_object_get(p, "alerts");
        s = label(json_array_get(alerts, 0), "labels", "severity");
    }
    return s;
}

/* Slack's attachment colour, Discord's integer. */
static const char *color_hex(json_t *p)
{
    if (strcmp(str(p, "status"), "firing") != 0)
        return "#2eb67d";
    const char *s = severity_of(p);
    if (strcmp(s, "critical") == 0 || strcmp(s, "page") == 0 || strcmp(s, "error") == 0)
        return "#d00000";
    if (strcmp(s, "warning") == 0)
        return "#e8a100";
    return "#2f6fdb";
}

static const char *runbook_of(json_t *a)
{
    const char *r = label(a, "annotations", "runbook_url");
    return *r ? r : label(a, "annotations", "runbook");
}

/* URL-encodes s onto b. */
static void urlenc(struct tb *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            tb_put(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            tb_put(b, e, 3);
        }
    }
}

/* The dashboard's silence form for an alert, its labels filled in. */
static void silence_link(struct tb *b, const char *base, json_t *a)
{
    tb_putf(b, "%s/#/silences/new?matchers=", base);
    struct tb m;
    tb_init(&m, 4096);
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(json_object_get(a, "labels"), k, v)
    {
        tb_putf(&m, "%s%s=\"%s\"", first ? "" : ",", k, json_string_value(v));
        first = false;
    }
    urlenc(b, tb_str(&m));
    tb_free(&m);
}

/* One alert's lines in mrkdwn (Slack) or HTML (Telegram). */
static void alert_text(struct tb *b, json_t *a, const char *base, bool html)
{
    const char *b0 = html ? "<b>" : "*", *b1 = html ? "</b>" : "*";
    bool firing = strcmp(str(a, "status"), "firing") == 0;
    const char *summary = label(a, "annotations", "summary"), *desc = label(a, "annotations", "description");
    tb_putf(b, "%s %s", firing ? "\xF0\x9F\x94\xA5" : "\xE2\x9C\x85", b0);
    esc(b, label(a, "labels", "alertname"));
    tb_putf(b, "%s", b1);
    if (*summary) {
        tb_put(b, ": ", 2);
        esc(b, summary);
    }
    if (*desc) {
        tb_put(b, "\n", 1);
        esc(b, desc);
    }
    tb_put(b, "\n", 1);
    if (firing && *str(a, "value")) {
        tb_putf(b, "Value: ");
        esc(b, str(a, "value"));
        tb_put(b, " \xC2\xB7 ", 4);
    }
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(json_object_get(a, "labels"), k, v)
    {
        if (strcmp(k, "alertname") == 0)
            continue;
        tb_putf(b, "%s", first ? "" : ", ");
        esc(b, k);
        tb_put(b, "=", 1);
        esc(b, json_string_value(v));
        first = false;
    }
    const char *rb = runbook_of(a);
    if (*rb || (*base && firing))
        tb_put(b, "\n", 1);
    if (*rb) {
        if (html) {
            tb_putf(b, "<a href=\"");
            esc(b, rb);
            tb_putf(b, "\">Runbook</a>");
        } else {
            tb_put(b, "<", 1);
            esc(b, rb);
            tb_putf(b, "|Runbook>");
        }
    }
    if (*base && firing) {
        struct tb link;
        tb_init(&link, 8192);
        silence_link(&link, base, a);
        if (*rb)
            tb_put(b, " \xC2\xB7 ", 4);
        tb_putf(b, html ? "<a href=\"%s\">Silence</a>" : "<%s|Silence>", tb_str(&link));
        tb_free(&link);
    }
}

/* Block Kit for slack and slack_bot. */
static json_t *slack_message(json_t *p, const char *summary, const char *base, const char *custom)
{
    json_t *blocks = json_array();
    struct tb t;
    tb_init(&t, 64 * 1024);
    tb_putf(&t, "*");
    esc(&t, summary);
    tb_putf(&t, "*");
    json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn",
                                            "text", tb_str(&t)));
    json_t *alerts = json_object_get(p, "alerts");
    size_t i;
    json_t *a;
    if (custom) {
        tb_reset(&t);
        esc(&t, custom);
        json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn",
                                                "text", tb_str(&t)));
    }
    json_array_foreach(alerts, i, a)
    {
        if (i >= ALERTS_SHOWN || custom)
            break;
        tb_reset(&t);
        alert_text(&t, a, base, false);
        json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn",
                                                "text", tb_str(&t)));
    }
    size_t more = !custom && json_array_size(alerts) > ALERTS_SHOWN ? json_array_size(alerts) - ALERTS_SHOWN : 0;
    more += (size_t)json_integer_value(json_object_get(p, "truncatedAlerts"));
    if (more || *base) {
        tb_reset(&t);
        if (more)
            tb_putf(&t, "and %zu more. ", more);
        if (*base)
            tb_putf(&t, "<%s/#/alerts|Open opshub>", base);
        json_array_append_new(blocks, json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements", "type",
                                                "mrkdwn", "text", tb_str(&t)));
    }
    tb_free(&t);
    return json_pack("{s:s, s:[{s:s, s:s, s:o}]}", "text", summary, "attachments", "color", color_hex(p), "fallback",
                     summary, "blocks", blocks);
}

static json_t *pagerduty_event(json_t *p, const char *summary, const struct nchannel *ch, const char *dedup,
                               const char *base)
{
    bool firing = strcmp(str(p, "status"), "firing") == 0;
    const char *s = severity_of(p);
    const char *sev = strcmp(s, "critical") == 0 || strcmp(s, "page") == 0 ? "critical"
                      : strcmp(s, "error") == 0                              ? "error"
                      : strcmp(s, "warning") == 0                            ? "warning"
                                                                             : "info";
    json_t *details = json_pack("{s:I, s:I, s:O?, s:O?}", "num_firing",
                                (json_int_t)count_status(json_object_get(p, "alerts"), "firing"), "num_resolved",
                                (json_int_t)count_status(json_object_get(p, "alerts"), "resolved"), "commonLabels",
                                json_object_get(p, "commonLabels"), "commonAnnotations",
                                json_object_get(p, "commonAnnotations"));
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "routing_key", ch->routing_key, "event_action",
                           firing ? "trigger" : "resolve", "dedup_key", dedup, "client", "opshub");
    if (firing) {
        char src[256];
        snprintf(src, sizeof(src), "%s", *label(p, "commonLabels", "check") ? label(p, "commonLabels", "check")
                                         : *label(p, "commonLabels", "project") ? label(p, "commonLabels", "project")
                                                                                  : "opshub");
        json_object_set_new(ev, "payload", json_pack("{s:s, s:s, s:s, s:o}", "summary", summary, "source", src,
                                                     "severity", sev, "custom_details", details));
        details = NULL;
        if (*base)
            json_object_set_new(ev, "links", json_pack("[{s:s+, s:s}]", "href", base, "/#/alerts", "text",
                                                       "Open opshub"));
    }
    json_decref(details);
    return ev;
}

static void html_message(struct tb *b, json_t *p, const char *summary, const char *base, const char *custom)
{
    tb_putf(b, "<b>");
    esc(b, summary);
    tb_putf(b, "</b>\n");
    if (custom) {
        tb_put(b, "\n", 1);
        esc(b, custom);
        return;
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(p, "alerts"), i, a)
    {
        if (i >= ALERTS_SHOWN) {
            tb_putf(b, "\nand %zu more", json_array_size(json_object_get(p, "alerts")) - ALERTS_SHOWN);
            break;
        }
        tb_put(b, "\n", 1);
        alert_text(b, a, base, true);
    }
}

/* Plain text (Markdown-ish) for Discord and Teams. */
static void plain_message(struct tb *b, json_t *p, const char *base, const char *custom)
{
    size_t i;
    json_t *a;
    if (custom) {
        tb_put(b, custom, strlen(custom));
        tb_put(b, "\n", 1);
        if (*base)
            tb_putf(b, "[Open opshub](%s/#/alerts)", base);
        return;
    }
    json_array_foreach(json_object_get(p, "alerts"), i, a)
    {
        if (i >= ALERTS_SHOWN) {
            tb_putf(b, "and %zu more\n", json_array_size(json_object_get(p, "alerts")) - ALERTS_SHOWN);
            break;
        }
        bool firing = strcmp(str(a, "status"), "firing") == 0;
        const char *summary = label(a, "annotations", "summary");
        tb_putf(b, "%s **%s**%s%s", firing ? "\xF0\x9F\x94\xA5" : "\xE2\x9C\x85",
                         label(a, "labels", "alertname"), *summary ? ": " : "", summary);
        if (firing && *str(a, "value"))
            tb_putf(b, " (value %s)", str(a, "value"));
        const char *rb = runbook_of(a);
        if (*rb)
            tb_putf(b, " [Runbook](%s)", rb);
        tb_put(b, "\n", 1);
    }
    if (*base)
        tb_putf(b, "[Open opshub](%s/#/alerts)", base);
}

/* ---- e-mail ---- */

/* Base64 in lines of 76 characters (CRLF). */
static void b64_lines(struct tb *t, const char *s, size_t n)
{
    unsigned char out[80];
    for (size_t i = 0; i < n; i += 57) {
        size_t k = n - i < 57 ? n - i : 57;
        int w = EVP_EncodeBlock(out, (const unsigned char *)s + i, (int)k);
        tb_put(t, (const char *)out, (size_t)w);
        tb_put(t, "\r\n", 2);
    }
}

/* A header's text: as is when it is printable ASCII, else an RFC 2047 encoded word. */
static void header_text(struct tb *t, const char *s)
{
    bool plain = true;
    for (const char *p = s; *p && plain; p++)
        plain = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
    if (plain) {
        tb_put(t, s, strlen(s));
        return;
    }
    unsigned char out[1024];
    size_t n = strlen(s);
    if (n > 700)
        n = 700;
    while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--; /* whole characters only */
    int w = EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
    tb_putf(t, "=?UTF-8?B?%.*s?=", w, (const char *)out);
}

static int email_request(const struct nchannel *ch, json_t *p, const char *summary, const char *delivery_id,
                         const char *dedup_key, const char *base, const char *custom, struct nreq *out)
{
    struct tb m, text, html;
    tb_init(&m, 1024 * 1024);
    tb_init(&text, 256 * 1024);
    tb_init(&html, 256 * 1024);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *domain = strchr(ch->from, '@') + 1;
    tb_putf(&m, "Date: %s\r\nFrom: %s\r\nTo: ", date, ch->from);
    for (size_t i = 0; i < ch->n_to; i++)
        tb_putf(&m, "%s%s", i ? ", " : "", ch->to[i]);
    tb_put(&m, "\r\nSubject: ", 11);
    header_text(&m, summary);
    tb_putf(&m, "\r\nMessage-ID: <%s.%s@%s>\r\nMIME-Version: 1.0\r\nX-Opshub-Delivery: %s\r\n"
                "X-Opshub-Dedup-Key: %s\r\nAuto-Submitted: auto-generated\r\n"
                "Content-Type: multipart/alternative; boundary=\"opshub-%s\"\r\n\r\n",
            delivery_id, dedup_key, domain, delivery_id, dedup_key, delivery_id);
    tb_putf(&text, "%s\n\n", summary);
    plain_message(&text, p, base, custom);
    tb_put(&text, "\n", 1);
    tb_put(&html, "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>", 62);
    struct tb inner;
    tb_init(&inner, 256 * 1024);
    html_message(&inner, p, summary, base, custom);
    for (const char *c = tb_str(&inner); *c; c++) {
        if (*c == '\n')
            tb_put(&html, "<br>\n", 5);
        else
            tb_put(&html, c, 1);
    }
    tb_free(&inner);
    tb_put(&html, "</p></body></html>\n", 19);
    tb_putf(&m, "--opshub-%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            delivery_id);
    b64_lines(&m, tb_str(&text), text.len);
    tb_putf(&m, "--opshub-%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            delivery_id);
    b64_lines(&m, tb_str(&html), html.len);
    tb_putf(&m, "--opshub-%s--\r\n", delivery_id);
    tb_free(&text);
    tb_free(&html);
    out->smtp = true;
    out->url = base_strdup(ch->url);
    char from[300];
    snprintf(from, sizeof(from), "<%s>", ch->from);
    out->mail_from = base_strdup(from);
    int rc = out->url && out->mail_from ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < ch->n_to; i++) {
        char rcpt[300];
        snprintf(rcpt, sizeof(rcpt), "<%s>", ch->to[i]);
        struct curl_slist *l = curl_slist_append(out->rcpt, rcpt);
        if (!l)
            rc = -1;
        else
            out->rcpt = l;
    }
    out->body_len = m.len;
    out->body = m.p;
    if (!out->body)
        rc = -1;
    return rc;
}

/* ---- templates ---- */

/* A JSON object's string members as template pairs (borrowed from it). */
static struct template_kv *kv_of(json_t *o, size_t *n)
{
    size_t cap = json_object_size(o), k = 0;
    struct template_kv *v = base_calloc(cap ? cap : 1, sizeof(*v));
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        if (v && k < cap && json_is_string(val))
            v[k++] = (struct template_kv){key, json_string_value(val)};
    }
    for (size_t i = 1; v && i < k; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1].name, v[j].name) > 0; j--) {
            struct template_kv t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *n = v ? k : 0;
    return v;
}

/* The channel's title (into summary) and text (returned, or NULL) from
 * its templates: $labels the common labels, $annotations the common
 * annotations, $value the number of firing alerts. A template that fails
 * says so in its output, as Prometheus shows a failed annotation. */
static char *expand_templates(const struct nchannel *ch, json_t *p, char *summary, size_t n)
{
    struct template_data d = {0};
    struct template_kv *l = kv_of(json_object_get(p, "commonLabels"), &d.n_labels);
    struct template_kv *a = kv_of(json_object_get(p, "commonAnnotations"), &d.n_annotations);
    d.labels = l;
    d.annotations = a;
    d.value = (double)count_status(json_object_get(p, "alerts"), "firing");
    char *text = NULL;
    if (ch->title_t) {
        template_expand(ch->title_t, &d, summary, n);
        for (char *c = summary; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    if (ch->text_t && (text = base_malloc(TEMPLATE_TEXT_MAX)) != NULL)
        template_expand(ch->text_t, &d, text, TEMPLATE_TEXT_MAX);
    base_free(l);
    base_free(a);
    return text;
}

/* ---- requests ---- */

/* "name: value", or "name:" (curl then sends no such header) when value is NULL. */
static int add_header(struct nreq *r, const char *name, const char *value)
{
    char line[4600];
    if (value)
        snprintf(line, sizeof(line), "%s: %s", name, value);
    else
        snprintf(line, sizeof(line), "%s:", name);
    struct curl_slist *l = curl_slist_append(r->headers, line);
    volatile char *p = line;
    while (*p)
        *p++ = 0;
    if (!l)
        return -1;
    r->headers = l;
    return 0;
}

static char *join_url(const char *base, const char *def, const char *path)
{
    const char *b = base && *base ? base : def;
    size_t lb = strlen(b);
    while (lb && b[lb - 1] == '/')
        lb--;
    size_t n = lb + strlen(path) + 1;
    char *u = base_malloc(n);
    if (u)
        snprintf(u, n, "%.*s%s", (int)lb, b, path);
    return u;
}

static void hmac_hex(const char *key, const char *body, size_t len, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, len, mac, &ml);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < ml && i < 32; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = 0;
}

int channel_request(const struct nchannel *ch, const char *payload, const char *delivery_id, const char *dedup_key,
                    const char *base_url, struct nreq *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *p = json_loads(payload, 0, &jerr);
    if (!json_is_object(p)) {
        json_decref(p);
        snprintf(why, why_len, "the stored payload is not a JSON object: %s", jerr.text);
        return -1;
    }
    const char *base = base_url ? base_url : "";
    char summary[512];
    channel_summary(p, summary, sizeof(summary));
    char *custom = NULL;
    /* a page of an incident (notify_page): its own text, to its recipient */
    struct nchannel pc;
    char *to1[1];
    if (json_is_string(json_object_get(p, "opshub_page"))) {
        const char *ack = str(p, "ack_url"), *url = str(p, "url");
        size_t n = strlen(str(p, "text")) + strlen(ack) + strlen(url) + 64;
        custom = base_malloc(n);
        if (custom)
            snprintf(custom, n, "%s%s%s%s%s", str(p, "text"), *ack ? "\n\nAcknowledge: " : "", ack,
                     *url ? "\nIncident: " : "", url);
        const char *rcpt = json_string_value(json_object_get(p, "recipient"));
        if (rcpt && *rcpt) {
            pc = *ch;
            if (ch->type == CONF_CHANNEL_EMAIL) {
                to1[0] = (char *)rcpt;
                pc.to = to1;
                pc.n_to = 1;
            } else if (ch->type == CONF_CHANNEL_SLACK_BOT || ch->type == CONF_CHANNEL_TELEGRAM) {
                pc.target = (char *)rcpt;
            } else if (ch->type == CONF_CHANNEL_PAGERDUTY) {
                pc.routing_key = (char *)rcpt;
            }
            ch = &pc;
        }
    } else if (ch->title_t || ch->text_t) {
        custom = expand_templates(ch, p, summary, sizeof(summary));
    }
    json_t *body = NULL;
    char *text_body = NULL;
    struct tb t;
    tb_init(&t, 256 * 1024);
    switch (ch->type) {
    case CONF_CHANNEL_WEBHOOK:
        /* a page to a status page subscriber goes to the subscriber's URL */
        out->url = base_strdup(json_is_string(json_object_get(p, "opshub_page")) && *str(p, "target_url")
                                   ? str(p, "target_url")
                                   : ch->url);
        text_body = base_strdup(payload);
        break;
    case CONF_CHANNEL_SLACK:
        out->url = base_strdup(ch->url);
        body = slack_message(p, summary, base, custom);
        break;
    case CONF_CHANNEL_SLACK_BOT:
        out->url = join_url(ch->url, "https://slack.com/api", "/chat.postMessage");
        body = slack_message(p, summary, base, custom);
        json_object_set_new(body, "channel", json_string(ch->target));
        break;
    case CONF_CHANNEL_PAGERDUTY:
        out->url = join_url(ch->url, "https://events.pagerduty.com", "/v2/enqueue");
        body = pagerduty_event(p, summary, ch, dedup_key, base);
        break;
    case CONF_CHANNEL_TELEGRAM: {
        out->url = join_url(ch->url, "https://api.telegram.org", "/bot");
        size_t ul = out->url ? strlen(out->url) + strlen(ch->token) + 16 : 0;
        char *u = ul ? base_malloc(ul) : NULL;
        if (u)
            snprintf(u, ul, "%s%s/sendMessage", out->url, ch->token);
        base_free(out->url);
        out->url = u;
        html_message(&t, p, summary, base, custom);
        body = json_pack("{s:s, s:s, s:s, s:b}", "chat_id", ch->target, "text", tb_str(&t), "parse_mode",
                         "HTML", "disable_web_page_preview", 1);
        break;
    }
    case CONF_CHANNEL_DISCORD: {
        out->url = base_strdup(ch->url);
        plain_message(&t, p, base, custom);
        long color = strtol(color_hex(p) + 1, NULL, 16);
        body = json_pack("{s:s, s:[{s:s, s:s, s:I}]}", "content", summary, "embeds", "title", summary, "description",
                         tb_str(&t), "color", (json_int_t)color);
        break;
    }
    case CONF_CHANNEL_EMAIL: {
        int erc = email_request(ch, p, summary, delivery_id, dedup_key, base, custom, out);
        base_free(text_body);
        base_free(custom);
        json_decref(p);
        tb_free(&t);
        if (erc != 0) {
            nreq_free(out);
            snprintf(why, why_len, "out of memory building the message");
            return -1;
        }
        return 0;
    }
    case CONF_CHANNEL_TEAMS: {
        out->url = base_strdup(ch->url);
        plain_message(&t, p, base, custom);
        bool firing = strcmp(str(p, "status"), "firing") == 0;
        json_t *card = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:b}]}", "$schema",
                                 "http://adaptivecards.io/schemas/adaptive-card.json", "type", "AdaptiveCard",
                                 "version", "1.4", "body", "type", "TextBlock", "text", summary, "weight", "Bolder",
                                 "size", "Medium", "color", firing ? "Attention" : "Good", "wrap", 1, "type",
                                 "TextBlock", "text", tb_str(&t), "wrap", 1);
        body = json_pack("{s:s, s:[{s:s, s:o}]}", "type", "message", "attachments", "contentType",
                         "application/vnd.microsoft.card.adaptive", "content", card);
        break;
    }
    default:
        break;
    }
    tb_free(&t);
    json_decref(p);
    base_free(custom);
    if (body) {
        text_body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
    }
    if (!out->url || !text_body) {
        base_free(text_body);
        nreq_free(out);
        snprintf(why, why_len, "out of memory building the request");
        return -1;
    }
    out->body = text_body;
    out->body_len = strlen(text_body);
    int rc = add_header(out, "Content-Type", "application/json");
    rc |= add_header(out, "X-Opshub-Delivery", delivery_id);
    rc |= add_header(out, "X-Opshub-Dedup-Key", dedup_key);
    rc |= add_header(out, "Expect", NULL);
    if (ch->type == CONF_CHANNEL_SLACK_BOT) {
        char auth[4200];
        snprintf(auth, sizeof(auth), "Bearer %s", ch->token);
        rc |= add_header(out, "Authorization", auth);
        volatile char *z = auth;
        while (*z)
            *z++ = 0;
    }
    if (ch->type == CONF_CHANNEL_WEBHOOK) {
        if (ch->secret) {
            char hex[65];
            hmac_hex(ch->secret, out->body, out->body_len, hex);
            char sig[80];
            snprintf(sig, sizeof(sig), "sha256=%s", hex);
            rc |= add_header(out, "X-Opshub-Signature", sig);
        }
        for (size_t i = 0; i < ch->n_headers; i++)
            rc |= add_header(out, ch->headers[i].key, ch->headers[i].value);
    }
    if (rc) {
        nreq_free(out);
        snprintf(why, why_len, "out of memory building the request");
        return -1;
    }
    return 0;
}

/* ---- command ---- */

void channel_command_free(struct nchannel *c)
{
    base_free(c->cmem);
    c->cmem = NULL;
    memset(&c->cmd, 0, sizeof(c->cmd));
}

/* argv pointers, env entries and every string of cc's program in one block. */
int channel_command_load(struct nchannel *c, const struct conf_channel *cc)
{
    channel_command_free(c);
    if (cc->type != CONF_CHANNEL_COMMAND)
        return 0;
    size_t bytes = cc->n_command * sizeof(char *) + cc->n_env * sizeof(struct conf_kv);
    for (size_t i = 0; i < cc->n_command; i++)
        bytes += strlen(cc->command[i]) + 1;
    for (size_t i = 0; i < cc->n_env; i++)
        bytes += strlen(cc->env[i].key) + strlen(cc->env[i].value) + 2;
    bytes += cc->workdir ? strlen(cc->workdir) + 1 : 0;
    char *mem = base_malloc(bytes ? bytes : 1);
    if (!mem)
        return BASE_ERR_NOMEM;
    const char **argv = (const char **)mem;
    struct conf_kv *env = (struct conf_kv *)(mem + cc->n_command * sizeof(char *));
    char *s = (char *)(env + cc->n_env);
    for (size_t i = 0; i < cc->n_command; i++) {
        size_t l = strlen(cc->command[i]) + 1;
        argv[i] = memcpy(s, cc->command[i], l);
        s += l;
    }
    for (size_t i = 0; i < cc->n_env; i++) {
        size_t lk = strlen(cc->env[i].key) + 1, lv = strlen(cc->env[i].value) + 1;
        env[i].key = memcpy(s, cc->env[i].key, lk);
        s += lk;
        env[i].value = memcpy(s, cc->env[i].value, lv);
        s += lv;
    }
    c->cmd = (struct probe_command_conf){
        .command = {.items = argv, .n = cc->n_command},
        .env = env,
        .n_env = cc->n_env,
        .workdir = cc->workdir ? memcpy(s, cc->workdir, strlen(cc->workdir) + 1) : NULL,
        .output_max = 4096,
    };
    c->cmem = mem;
    return 0;
}

int channel_command(const struct nchannel *ch, const char *payload, const char *delivery_id, const char *dedup_key,
                    struct probe_command_conf *out, void **mem, char *why, size_t why_len)
{
    json_t *p = json_loads(payload, 0, NULL);
    if (!json_is_object(p)) {
        json_decref(p);
        snprintf(why, why_len, "the stored payload is not a JSON object");
        return -1;
    }
    char summary[512];
    channel_summary(p, summary, sizeof(summary));
    const char *status = str(p, "status");
    const char *extra[][2] = {
        {"OPSHUB_DELIVERY_ID", delivery_id}, {"OPSHUB_DEDUP_KEY", dedup_key}, {"OPSHUB_CHANNEL", ch->id},
        {"OPSHUB_STATUS", *status ? status : "firing"}, {"OPSHUB_SUMMARY", summary},
    };
    size_t ne = sizeof(extra) / sizeof(extra[0]), n = ch->cmd.n_env + ne;
    size_t bytes = n * sizeof(struct conf_kv);
    for (size_t i = 0; i < ne; i++)
        bytes += strlen(extra[i][1]) + 1;
    struct conf_kv *env = base_malloc(bytes);
    if (!env) {
        json_decref(p);
        snprintf(why, why_len, "out of memory starting the program");
        return -1;
    }
    /* the channel's own env first: a name given twice is taken at its last */
    memcpy(env, ch->cmd.env, ch->cmd.n_env * sizeof(*env));
    char *s = (char *)(env + n);
    for (size_t i = 0; i < ne; i++) {
        size_t l = strlen(extra[i][1]) + 1;
        env[ch->cmd.n_env + i] = (struct conf_kv){extra[i][0], memcpy(s, extra[i][1], l)};
        s += l;
    }
    json_decref(p);
    *out = ch->cmd;
    out->env = env;
    out->n_env = n;
    *mem = env;
    return 0;
}

/* The first line of stderr, printable. */
static void first_line(const char *s, size_t len, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < len && s[i] != '\n' && k + 1 < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    while (k && out[k - 1] == ' ')
        k--;
    out[k] = 0;
}

enum nresult channel_command_result(const struct nchannel *ch, const struct probe_proc_result *r, char *why,
                                    size_t why_len)
{
    const char *prog = ch && ch->cmd.command.n ? ch->cmd.command.items[0] : "the program";
    char line[256];
    first_line(r->errout, r->err_len, line, sizeof(line));
    const char *sep = line[0] ? ": " : "";
    if (r->err) {
        const char *what = r->what && strcmp(r->what, "queue") && strcmp(r->what, "watch") ? r->what : NULL;
        snprintf(why, why_len, "cannot run %s: %s%s%s", prog, what ? what : "", what ? ": " : "", uv_strerror(r->err));
        /* a program that is not there (or not runnable) stays so until the configuration changes */
        return r->err == UV_ENOENT || r->err == UV_EACCES || r->err == UV_ENOTDIR ? NRESULT_FAIL : NRESULT_RETRY;
    }
    if (r->timed_out) {
        snprintf(why, why_len, "%s: timeout (process group killed)%s%s", prog, sep, line);
        return NRESULT_RETRY;
    }
    if (r->term_signal) {
        snprintf(why, why_len, "%s: killed by signal %d%s%s", prog, r->term_signal, sep, line);
        return NRESULT_RETRY;
    }
    if (r->exit_status == 0)
        return NRESULT_OK;
    if (r->exit_status == 75) {
        snprintf(why, why_len, "%s: exit code 75 (temporary failure)%s%s", prog, sep, line);
        return NRESULT_RETRY;
    }
    snprintf(why, why_len, "%s: exit code %lld%s%s", prog, (long long)r->exit_status, sep, line[0] ? line : " (no output)");
    return NRESULT_FAIL;
}

/* The answer's start, printable, for an error message. */
static void body_start(const char *body, size_t len, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < n && i < 200; i++) {
        unsigned char c = (unsigned char)body[i];
        out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    out[k] = 0;
}

enum nresult channel_result(const struct nchannel *ch, CURLcode rc, long status, const char *body, size_t len,
                            char *why, size_t why_len)
{
    char start[256];
    if (ch && ch->type == CONF_CHANNEL_EMAIL) {
        if (rc == CURLE_OK)
            return NRESULT_OK;
        /* the server's last reply code: 5xx is final, 4xx and no answer are tried again */
        snprintf(why, why_len, "SMTP%s%ld: %s", status ? " " : "", status, curl_easy_strerror(rc));
        if (rc == CURLE_LOGIN_DENIED || (status >= 500 && status < 600))
            return NRESULT_FAIL;
        return NRESULT_RETRY;
    }
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s", curl_easy_strerror(rc));
        return NRESULT_RETRY;
    }
    body_start(body, len, start, sizeof(start));
    if (status >= 200 && status < 300) {
        if (ch && ch->type == CONF_CHANNEL_SLACK_BOT) {
            /* Slack's Web API answers 200 with {"ok": false, "error": "..."} */
            json_t *j = json_loadb(body, len, 0, NULL);
            bool ok = json_is_true(json_object_get(j, "ok"));
            const char *err = json_string_value(json_object_get(j, "error"));
            if (!ok)
                snprintf(why, why_len, "slack: %s", err ? err : start);
            bool limited = err && strcmp(err, "ratelimited") == 0;
            json_decref(j);
            if (!ok)
                return limited ? NRESULT_RETRY : NRESULT_FAIL;
        }
        return NRESULT_OK;
    }
    snprintf(why, why_len, "HTTP %ld%s%s", status, *start ? ": " : "", start);
    if (status == 408 || status == 429 || status >= 500)
        return NRESULT_RETRY;
    return NRESULT_FAIL;
}
