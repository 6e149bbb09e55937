/*
 * auth/audit: audit rows (see service.h) and their retention. An entry is
 * copied into a job, appended on the store thread and counted; a failure is
 * counted and logged, never retried (fire and forget): for what changed
 * nothing (refusals, failures). A change's own row is written by its
 * handler in the change's transaction (auth_audit_count). Rows older than
 * opts.audit_retention_ms are deleted hourly in chunks of PURGE_CHUNK, the
 * next chunk on the next tick while there is more. Owns nothing beyond
 * its jobs.
 */
#include "auth/auth_int.h"

#include "base/alloc.h"
#include "base/err.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>

#define PURGE_EVERY_MS (3600 * 1000)
#define PURGE_CHUNK 5000

struct audit_job {
    struct auth *a;
    struct auth_audit e;
};

static int audit_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct audit_job *j = data;
    return auth_db_audit_append(c, &j->e, err, errlen);
}

static void audit_done(void *data, int status, const char *errmsg)
{
    struct audit_job *j = data;
    struct auth *a = j->a;
    if (status) {
        a->stats.audit_errors++;
        base_log_error("audit entry not written", BASE_LOG_STR("action", j->e.action),
                       BASE_LOG_STR("actor", j->e.actor), BASE_LOG_STR("error", errmsg ? errmsg : ""));
    } else {
        a->stats.audit_written++;
    }
    base_free(j);
    auth_release(a);
}

void auth_audit(struct auth *a, const struct auth_audit *entry)
{
    struct audit_job *j = base_calloc(1, sizeof(*j));
    if (!j) {
        a->stats.audit_errors++;
        return;
    }
    j->a = a;
    j->e = *entry;
    if (!j->e.ts)
        j->e.ts = auth_now_ms();
    if (store_call(a->st, audit_work, audit_done, j) != 0) {
        a->stats.audit_errors++;
        base_log_error("audit entry not written", BASE_LOG_STR("action", j->e.action),
                       BASE_LOG_STR("error", "store closed"));
        base_free(j);
        return;
    }
    auth_ref(a);
}

void auth_audit_count(struct auth *a, bool ok)
{
    if (ok)
        a->stats.audit_written++;
    else
        a->stats.audit_errors++;
}

void auth_audit_actor(struct auth_audit *e, const struct auth_principal *p)
{
    if (!p || p->kind == AUTH_KIND_NONE) {
        snprintf(e->actor, sizeof(e->actor), "anonymous");
        snprintf(e->actor_kind, sizeof(e->actor_kind), "anonymous");
        e->role[0] = '\0';
        return;
    }
    snprintf(e->actor, sizeof(e->actor), "%s", p->name);
    snprintf(e->actor_kind, sizeof(e->actor_kind), "%s", p->kind == AUTH_KIND_USER ? "user" : "token");
    snprintf(e->role, sizeof(e->role), "%s", auth_role_name(p->role));
}

/* ---- retention ---- */

struct purge_job {
    struct auth *a;
    int64_t before_ms;
    uint64_t deleted;
};

static int purge_work(struct store_conn *c, void *data, char *err, size_t errlen)
{
    struct purge_job *j = data;
    return auth_db_audit_purge(c, j->before_ms, PURGE_CHUNK, &j->deleted, err, errlen);
}

static void purge_done(void *data, int status, const char *errmsg)
{
    struct purge_job *j = data;
    struct auth *a = j->a;
    if (status == 0 && j->deleted == PURGE_CHUNK)
        a->next_purge_ms = auth_now_ms(); /* more to do: next tick */
    else if (status && status != BASE_ERR_UNAVAILABLE)
        base_log_warn("auth: audit purge failed", BASE_LOG_STR("error", errmsg ? errmsg : ""));
    if (j->deleted)
        base_log_info("audit entries purged", BASE_LOG_INT("deleted", j->deleted));
    base_free(j);
    auth_release(a);
}

void auth_audit_tick(struct auth *a, int64_t now)
{
    if (a->opts.audit_retention_ms <= 0 || now < a->next_purge_ms)
        return;
    a->next_purge_ms = now + PURGE_EVERY_MS;
    struct purge_job *j = base_calloc(1, sizeof(*j));
    if (!j)
        return;
    j->a = a;
    j->before_ms = now - a->opts.audit_retention_ms;
    if (store_call(a->st, purge_work, purge_done, j) == 0)
        auth_ref(a);
    else
        base_free(j);
}
