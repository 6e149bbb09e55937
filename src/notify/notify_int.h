/*
 * notify/notify_int: the contract between the files of the notification
 * layer: notify.c (alerts, routes, aggregation groups, inhibition, the
 * notification log), outbox.c (deliveries: the store, sending, retries)
 * and channel.c (each channel type's request from a payload). No other
 * folder includes this header.
 */
#ifndef NOTIFY_NOTIFY_INT_H
#define NOTIFY_NOTIFY_INT_H

#include "base/map.h"
#include "base/metrics.h"
#include "notify/notify.h"
#include "probe/curlm.h"
#include "probe/proc.h"
#include "rules/template.h"
#include "series/series.h"

#include <curl/curl.h>

#define NOTIFY_ERROR_MAX 300

/* A channel as running: its configuration copied (a reload replaces the
 * conf), its counters kept across reloads by id. */
struct nchannel {
    char *id;
    enum conf_channel_type type;
    char *url, *secret, *token, *target, *routing_key;
    char **to;                        /* email */
    size_t n_to;
    char *from, *smtp_user, *smtp_pass, *ca_file;
    int tls;                          /* enum conf_smtp_tls */
    struct template *title_t, *text_t; /* title: / text: (rules/template); NULL: the defaults */
    struct probe_command_conf cmd;    /* command: argv, env, workdir, all in cmem */
    char *cmem;
    struct conf_kv *headers;          /* strings in hmem */
    size_t n_headers;
    char *hmem;
    bool send_resolved, disabled;
    int64_t timeout_ms, max_age_ms;
    /* counters */
    uint64_t sent, failed, retried, dropped;
    bool failing;                     /* the self-alert fires */
    char last_error[NOTIFY_ERROR_MAX];
};

/* One request to make. */
struct nreq {
    char *url;
    struct curl_slist *headers;
    char *body;
    size_t body_len;
    /* SMTP: the message is uploaded (body is the whole message) */
    bool smtp;
    struct curl_slist *rcpt;
    char *mail_from;
    size_t sent;                      /* bytes of body uploaded */
};
void nreq_free(struct nreq *r);

enum nresult { NRESULT_OK, NRESULT_RETRY, NRESULT_FAIL };

/* channel.c: the request for one delivery of ch: its payload (Alertmanager
 * webhook JSON) turned into what the receiver takes. 0, or -1 with why. */
int channel_request(const struct nchannel *ch, const char *payload, const char *delivery_id, const char *dedup_key,
                    const char *base_url, struct nreq *out, char *why, size_t why_len);
/* What an answer means (curl's result, HTTP status, the body's start). */
enum nresult channel_result(const struct nchannel *ch, CURLcode rc, long status, const char *body, size_t len,
                            char *why, size_t why_len);
/* command channels: the program's settings copied into c->cmd (0, or
 * BASE_ERR_NOMEM), and freed. */
int channel_command_load(struct nchannel *c, const struct conf_channel *cc);
void channel_command_free(struct nchannel *c);
/* The program of one delivery: c->cmd with OPSHUB_DELIVERY_ID,
 * OPSHUB_DEDUP_KEY, OPSHUB_CHANNEL, OPSHUB_STATUS and OPSHUB_SUMMARY added
 * to its env, in *mem (the caller frees it). 0, or -1 with why. */
int channel_command(const struct nchannel *ch, const char *payload, const char *delivery_id, const char *dedup_key,
                    struct probe_command_conf *out, void **mem, char *why, size_t why_len);
/* What a run of a command channel's program means: exit 0 sent; 75
 * (EX_TEMPFAIL), a timeout, a signal or a transient failure to start it
 * tried again; anything else failed, with the first line of stderr. */
enum nresult channel_command_result(const struct nchannel *ch, const struct probe_proc_result *r, char *why,
                                    size_t why_len);
/* The one-line summary of a payload: "[FIRING:2] ApiDown (project=shop)". */
void channel_summary(json_t *payload, char *out, size_t n);

/* outbox.c */
struct outbox;
struct outbox *outbox_new(struct notify *n, uv_loop_t *loop, struct store *st);
/* Queues a delivery (takes payload, a JSON text, over). 0, BASE_ERR_TOO_BIG
 * when the outbox is full (counted as dropped), BASE_ERR_NOMEM. */
int outbox_add(struct outbox *o, struct nchannel *ch, const char *kind, const char *group_key, const char *dedup_key,
               const char *summary, char *payload, int64_t alert_at_ms, char *id_out, size_t id_len);
void outbox_resume(struct outbox *o);
int outbox_retry(struct outbox *o, const char *id, notify_retry_cb cb, void *data);
void outbox_close(struct outbox *o, void (*cb)(void *data), void *data);
size_t outbox_depth(const struct outbox *o);
struct outbox_stats {
    uint64_t written, write_errors, dropped, resumed;
    size_t depth, inflight;
    struct base_histogram latency;    /* alert transition -> delivered, seconds */
};
void outbox_stats(const struct outbox *o, struct outbox_stats *out);

/* notify.c, for outbox.c */
struct nchannel *notify_channel(struct notify *n, const char *id);
const char *notify_base_url(const struct notify *n);
/* A channel's delivery failed for good (failing = true) or succeeded
 * again (false): the self-alert NotificationDeliveryFailed. */
void notify_channel_failing(struct notify *n, struct nchannel *ch, bool failing, const char *why);

#endif
