/*
 * incidents/subscribers: status page subscribers' tokens, validation and
 * the sending of public updates (subscribers.h).
 */
#include "incidents/subscribers.h"

#include "auth/db.h"
#include "auth/jwt.h"
#include "auth/service.h"
#include "base/alloc.h"
#include "base/err.h"
#include "base/time.h"
#include "conf/value.h"
#include "incidents/incident.h"
#include "notify/notify.h"
#include "store/store.h"

#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNSUB_LABEL "opshub-unsubscribe-v1"
#define CONFIRM_LABEL "opshub-subscribe-v1"

const char *subs_bad(const struct store_subscriber *s, const char **field)
{
    size_t len = strlen(s->address);
    if (!strcmp(s->kind, "email")) {
        *field = "email";
        return auth_email_ok(s->address) ? NULL : "email must be an address local@domain";
    }
    *field = "webhook";
    if (!strcmp(s->kind, "webhook")) {
        if (len > STORE_SUBSCRIBER_ADDRESS_MAX)
            return "webhook is at most 512 bytes";
        const char *p = conf_url_problem(s->address, len);
        return p ? p : NULL;
    }
    return "one of email or webhook is required";
}

void subs_new_id(struct store_subscriber *s)
{
    unsigned char b[8];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        uint64_t t = (uint64_t)base_time_mono_ns() ^ (uint64_t)base_time_now_ms() << 20;
        memcpy(b, &t, sizeof(b));
    }
    snprintf(s->id, sizeof(s->id), "s%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
}

int subs_unsubscribe_token(const struct auth *a, const char *id, char *out, size_t n)
{
    char mac[AUTH_MAC_TOKEN_MAX];
    if (!a || auth_mac_token(a, UNSUB_LABEL, id, mac, sizeof(mac)) != 0)
        return BASE_ERR_INVALID;
    int k = snprintf(out, n, "%s-%s", id, mac);
    return k > 0 && (size_t)k < n ? 0 : BASE_ERR_INVALID;
}

int subs_unsubscribe_check(const struct auth *a, const char *token, char *id, size_t n)
{
    const char *d = token ? strchr(token, '-') : NULL;
    if (!a || !d || (size_t)(d - token) >= n || (size_t)(d - token) >= STORE_SUBSCRIBER_ID_MAX)
        return BASE_ERR_INVALID;
    snprintf(id, n, "%.*s", (int)(d - token), token);
    return auth_mac_verify(a, UNSUB_LABEL, id, d + 1) ? 0 : BASE_ERR_INVALID;
}

/* A confirmation token: base64url("email\nproject\nexpiry hex") "." MAC. */
int subs_confirm_token(const struct auth *a, const char *email, const char *project, int64_t expires_ms, char *out,
                       size_t n)
{
    char msg[STORE_SUBSCRIBER_ADDRESS_MAX + 128], mac[AUTH_MAC_TOKEN_MAX];
    int k = snprintf(msg, sizeof(msg), "%s\n%s\n%" PRIx64, email, project ? project : "", (uint64_t)expires_ms);
    if (!a || k <= 0 || (size_t)k >= sizeof(msg) || auth_mac_token(a, CONFIRM_LABEL, msg, mac, sizeof(mac)) != 0)
        return BASE_ERR_INVALID;
    if (auth_jwt_base64url_encode((const unsigned char *)msg, (size_t)k, out, n) < 0)
        return BASE_ERR_INVALID;
    size_t used = strlen(out);
    k = snprintf(out + used, n - used, ".%s", mac);
    return k > 0 && (size_t)k < n - used ? 0 : BASE_ERR_INVALID;
}

int subs_confirm_check(const struct auth *a, const char *token, int64_t now, struct store_subscriber *s)
{
    memset(s, 0, sizeof(*s));
    const char *dot = token ? strchr(token, '.') : NULL;
    char msg[STORE_SUBSCRIBER_ADDRESS_MAX + 128];
    if (!a || !dot || (size_t)(dot - token) > SUBS_TOKEN_MAX)
        return BASE_ERR_INVALID;
    int k = auth_jwt_base64url_decode(token, (size_t)(dot - token), (unsigned char *)msg, sizeof(msg) - 1);
    if (k <= 0)
        return BASE_ERR_INVALID;
    msg[k] = 0;
    if (strlen(msg) != (size_t)k || !auth_mac_verify(a, CONFIRM_LABEL, msg, dot + 1))
        return BASE_ERR_INVALID;
    char *nl1 = strchr(msg, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (!nl1 || !nl2)
        return BASE_ERR_INVALID;
    *nl1 = *nl2 = 0;
    char *end;
    unsigned long long exp = strtoull(nl2 + 1, &end, 16);
    if (*end || (size_t)(nl1 - msg) > STORE_SUBSCRIBER_ADDRESS_MAX || strlen(nl1 + 1) >= sizeof(s->project))
        return BASE_ERR_INVALID;
    snprintf(s->kind, sizeof(s->kind), "email");
    memcpy(s->address, msg, (size_t)(nl1 - msg));   /* s was zeroed; lengths checked above */
    memcpy(s->project, nl1 + 1, strlen(nl1 + 1));
    return (int64_t)exp < now ? BASE_ERR_TIMEOUT : 0;
}

/* ---- sending ---- */

struct send_job {
    struct subs_send ctx;
    char email_ch[CONF_ID_MAX + 1], webhook_ch[CONF_ID_MAX + 1], base_url[512], title[200];
    json_t *view;
    bool resolved;
    struct store_subscriber *list;
    size_t n;
    void (*done)(void *data, size_t sent);
    void *data;
};

static int list_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct send_job *j = data;
    return store_subscribers_list(c, &j->list, &j->n, err, errlen);
}

static bool wants(const struct store_subscriber *s, const json_t *view)
{
    if (!s->project[0])
        return true;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(view, "projects"), i, p)
        if (json_is_string(p) && !strcmp(json_string_value(p), s->project))
            return true;
    return false;
}

/* The public text of an update: what the status page shows of it. */
static void public_text(const struct send_job *j, const char *unsub, char *out, size_t n)
{
    const json_t *v = j->view;
    const json_t *last = json_array_get(json_object_get(v, "updates"), 0);   /* newest first */
    size_t k = (size_t)snprintf(out, n, "%s\nStatus: %s\n", incident_doc_str(v, "title"), incident_doc_str(v, "state"));
    size_t i;
    json_t *c;
    const json_t *comps = json_object_get(v, "components");
    json_array_foreach(comps, i, c)
        if (k < n && json_is_string(c))
            k += (size_t)snprintf(out + k, n - k, "%s%s", i ? ", " : "Affected: ", json_string_value(c));
    if (k < n && json_array_size(comps))
        k += (size_t)snprintf(out + k, n - k, "\n");
    if (k < n && last && *incident_doc_str(last, "text"))
        k += (size_t)snprintf(out + k, n - k, "\n%s (%s)\n", incident_doc_str(last, "text"), incident_doc_str(last, "at"));
    if (k < n && j->base_url[0])
        k += (size_t)snprintf(out + k, n - k, "\n%s/status\n", j->base_url);
    if (k < n && unsub[0])
        snprintf(out + k, n - k, "Unsubscribe: %s\n", unsub);
}

static void list_done(void *data, int status, const char *errmsg)
{
    struct send_job *j = data;
    (void)errmsg;
    size_t sent = 0;
    char summary[400], text[6000], token[SUBS_TOKEN_MAX], unsub[SUBS_TOKEN_MAX + 600];
    snprintf(summary, sizeof(summary), "[%s] %s: %s", j->title, incident_doc_str(j->view, "title"),
             incident_doc_str(j->view, "state"));
    for (size_t i = 0; status == 0 && !*j->ctx.closing && i < j->n; i++) {
        const struct store_subscriber *s = &j->list[i];
        bool email = !strcmp(s->kind, "email");
        const char *ch = email ? j->email_ch : j->webhook_ch;
        if (!ch[0] || !wants(s, j->view))
            continue;
        unsub[0] = 0;
        if (subs_unsubscribe_token(j->ctx.auth, s->id, token, sizeof(token)) == 0)
            snprintf(unsub, sizeof(unsub), "%s/api/v1/status/unsubscribe/%s", j->base_url, token);
        public_text(j, unsub, text, sizeof(text));
        char dedup[96];
        snprintf(dedup, sizeof(dedup), "%s:%s", incident_doc_str(j->view, "id"), s->id);
        struct notify_page pg = {.channel = ch, .recipient = email ? s->address : NULL,
                                 .event = j->resolved ? "resolve" : "trigger", .dedup_key = dedup,
                                 .summary = summary, .text = text, .target_url = email ? NULL : s->address,
                                 .unsubscribe_url = unsub[0] ? unsub : NULL,
                                 .incident_id = incident_doc_str(j->view, "id"),
                                 .severity = incident_doc_str(j->view, "severity"),
                                 .state = incident_doc_str(j->view, "state"),
                                 .number = (long long)incident_doc_int(j->view, "number")};
        if (notify_page(j->ctx.notify, &pg, NULL, 0) == 0)
            sent++;
    }
    j->done(j->data, sent);
    json_decref(j->view);
    base_free(j->list);
    base_free(j);
}

int subs_send(const struct subs_send *ctx, const json_t *view, bool resolved, void (*done)(void *data, size_t sent),
              void *data)
{
    const struct conf_incidents *sch = ctx->sch;
    if (!ctx->notify || !view || !(sch->subscriber_email || sch->subscriber_webhook))
        return BASE_ERR_NOT_FOUND;
    struct send_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return BASE_ERR_NOMEM;
    j->ctx = *ctx;
    snprintf(j->email_ch, sizeof(j->email_ch), "%s", sch->subscriber_email ? sch->subscriber_email : "");
    snprintf(j->webhook_ch, sizeof(j->webhook_ch), "%s", sch->subscriber_webhook ? sch->subscriber_webhook : "");
    snprintf(j->base_url, sizeof(j->base_url), "%s", ctx->base_url ? ctx->base_url : "");
    snprintf(j->title, sizeof(j->title), "%s", ctx->page_title ? ctx->page_title : "Status");
    j->view = json_deep_copy(view);
    j->resolved = resolved;
    j->done = done;
    j->data = data;
    int rc = j->view ? store_call(ctx->store, list_work, list_done, j) : BASE_ERR_NOMEM;
    if (rc != 0) {
        json_decref(j->view);
        base_free(j);
    }
    return rc;
}
