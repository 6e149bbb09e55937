/*
 * store/migrate: the versioned schema of the samples store, one ordered list
 * of (version, SQLite SQL, PostgreSQL SQL), and the driver that applies the
 * missing ones through a backend's exec/query_int, each in its own
 * transaction together with its schema_migrations row. Owns no connection;
 * runs on the store thread. Refuses a database newer than this binary.
 */
#include "store/store_int.h"

#include "base/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct migration {
    int version;
    const char *sqlite_sql;
    const char *postgres_sql;
};

/* Statements both dialects share, spelled once (migrations 2 and 3). */
#define M2_IDENTITY \
     "CREATE TABLE users (" \
     " id TEXT PRIMARY KEY," \
     " username TEXT NOT NULL UNIQUE," \
     " role TEXT NOT NULL CHECK (role IN ('viewer','operator','admin'))," \
     " password_hash TEXT NOT NULL," \
     " disabled SMALLINT NOT NULL DEFAULT 0," \
     " created_at BIGINT NOT NULL," \
     " updated_at BIGINT NOT NULL," \
     " last_login_at BIGINT);" \
     "CREATE TABLE api_tokens (" \
     " id TEXT PRIMARY KEY," \
     " name TEXT NOT NULL," \
     " prefix TEXT NOT NULL," \
     " token_hash TEXT NOT NULL UNIQUE," \
     " role TEXT NOT NULL CHECK (role IN ('viewer','operator','admin'))," \
     " created_by TEXT NOT NULL," \
     " created_at BIGINT NOT NULL," \
     " expires_at BIGINT," \
     " last_used_at BIGINT," \
     " revoked_at BIGINT);" \
     "CREATE TABLE sessions (" \
     " id TEXT PRIMARY KEY," \
     " user_id TEXT NOT NULL REFERENCES users (id)," \
     " refresh_hash TEXT NOT NULL UNIQUE," \
     " prev_refresh_hash TEXT," \
     " created_at BIGINT NOT NULL," \
     " refreshed_at BIGINT NOT NULL," \
     " expires_at BIGINT NOT NULL," \
     " revoked_at BIGINT," \
     " ip TEXT NOT NULL DEFAULT '');" \
     "CREATE INDEX sessions_user ON sessions (user_id);" \
     "CREATE INDEX sessions_prev ON sessions (prev_refresh_hash);"

#define M2_AUDIT_COLUMNS \
     " ts BIGINT NOT NULL," \
     " actor TEXT NOT NULL," \
     " actor_kind TEXT NOT NULL," \
     " role TEXT NOT NULL DEFAULT ''," \
     " action TEXT NOT NULL," \
     " target TEXT NOT NULL DEFAULT ''," \
     " result TEXT NOT NULL," \
     " status INTEGER NOT NULL DEFAULT 0," \
     " ip TEXT NOT NULL DEFAULT ''," \
     " request_id TEXT NOT NULL DEFAULT ''," \
     " detail TEXT NOT NULL DEFAULT '');"

#define M2_META \
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);" \
     "INSERT INTO meta (key, value) VALUES ('auth_gen', 0);"

#define M3_OBJECTS \
     "CREATE TABLE api_objects (" \
     " kind TEXT NOT NULL," \
     " id TEXT NOT NULL," \
     " definition TEXT NOT NULL," \
     " secret TEXT," \
     " key_id TEXT," \
     " version BIGINT NOT NULL DEFAULT 1," \
     " created_at BIGINT NOT NULL," \
     " updated_at BIGINT NOT NULL," \
     " created_by TEXT NOT NULL," \
     " updated_by TEXT NOT NULL," \
     " PRIMARY KEY (kind, id));" \
     "INSERT INTO meta (key, value) VALUES ('objects_gen', 0);"

#define M4_VALUES "ALTER TABLE samples ADD COLUMN values_json TEXT;"

#define M5_HOURS \
     "CREATE TABLE sample_hours (" \
     " check_id TEXT NOT NULL," \
     " hour BIGINT NOT NULL," \
     " up BIGINT NOT NULL," \
     " total BIGINT NOT NULL," \
     " PRIMARY KEY (check_id, hour));" \
     "CREATE INDEX sample_hours_hour ON sample_hours (hour);" \
     "INSERT INTO sample_hours (check_id, hour, up, total)" \
     " SELECT check_id, ts / 3600000, SUM(CASE WHEN result <> 2 THEN 1 ELSE 0 END), COUNT(*)" \
     " FROM samples GROUP BY check_id, ts / 3600000;"
/* meta.hours_through: the rollups hold every sample stored before it. */
#define M5_SQLITE M5_HOURS \
     "INSERT INTO meta (key, value) VALUES ('hours_through'," \
     " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"
#define M5_POSTGRES M5_HOURS \
     "INSERT INTO meta (key, value) VALUES ('hours_through', (extract(epoch from now()) * 1000)::bigint);"

/* Every refresh token a rotation replaced, with its session: presenting any
 * of them again (not only the last one) is reuse and revokes the session.
 * Rows go with their session, which is never deleted. */
#define M6_REFRESH_USED \
     "CREATE TABLE session_refresh_used (" \
     " refresh_hash TEXT PRIMARY KEY," \
     " session_id TEXT NOT NULL REFERENCES sessions (id)," \
     " used_at BIGINT NOT NULL);" \
     "INSERT INTO session_refresh_used (refresh_hash, session_id, used_at)" \
     " SELECT prev_refresh_hash, id, refreshed_at FROM sessions WHERE prev_refresh_hash IS NOT NULL;"

/* Minute and hour rollups with latency (store/rollup.h). Rows are partial
 * sums that readers merge, so there is no unique key. The hourly counts of
 * migration 5 are kept where no raw samples are left to rebuild them from;
 * from that hour on the store thread rebuilds both tables from the samples
 * (meta.rollup_through is where that starts). */
#define M7_TABLE(name, real) \
     "CREATE TABLE " name " (" \
     " check_id TEXT NOT NULL," \
     " bucket BIGINT NOT NULL," \
     " total BIGINT NOT NULL, up BIGINT NOT NULL, degraded BIGINT NOT NULL, down BIGINT NOT NULL," \
     " lat_n BIGINT NOT NULL, lat_sum " real " NOT NULL, lat_min " real " NOT NULL, lat_max " real " NOT NULL," \
     " sketch TEXT NOT NULL);" \
     "CREATE INDEX " name "_check ON " name " (check_id, bucket);" \
     "CREATE INDEX " name "_bucket ON " name " (bucket, check_id);"
#define M7_KEEP_FROM(least) \
     "INSERT INTO meta (key, value) VALUES ('rollup_through', " least "(" \
     " COALESCE((SELECT MIN(ts) FROM samples) / 3600000 + 1, 1000000000)," \
     " COALESCE((SELECT value FROM meta WHERE key = 'hours_through') / 3600000, 1000000000)) * 3600000);" \
     "INSERT INTO rollup_hours (check_id, bucket, total, up, degraded, down, lat_n, lat_sum, lat_min, lat_max," \
     " sketch) SELECT check_id, hour * 3600000, total, up, 0, total - up, 0, 0, 0, 0, 'v1;0;' FROM sample_hours" \
     " WHERE hour * 3600000 < (SELECT value FROM meta WHERE key = 'rollup_through');" \
     "DROP TABLE sample_hours;" \
     "DELETE FROM meta WHERE key = 'hours_through';"
/* With neither samples nor hours the cut is far in the future: nothing to
 * rebuild, and the first write of rollups sets the real point. */
#define M7_SQLITE M7_TABLE("rollup_minutes", "REAL") M7_TABLE("rollup_hours", "REAL") M7_KEEP_FROM("MIN")
#define M7_POSTGRES M7_TABLE("rollup_minutes", "DOUBLE PRECISION") M7_TABLE("rollup_hours", "DOUBLE PRECISION") \
     M7_KEEP_FROM("LEAST")

/* Alert transitions (store/alerts.h): the history, append only, and the
 * alerts pending or firing now, one row each (what a restart restores). The
 * value is text ("NaN", "+Inf" survive both backends). */
#define M8_ACTIVE \
     "CREATE TABLE alerts_active (" \
     " fingerprint TEXT PRIMARY KEY," \
     " ts BIGINT NOT NULL, grp TEXT NOT NULL, alertname TEXT NOT NULL," \
     " labels TEXT NOT NULL, annotations TEXT NOT NULL, state TEXT NOT NULL, previous TEXT NOT NULL," \
     " value TEXT NOT NULL, active_at BIGINT NOT NULL);"
#define M8_COLUMNS \
     " ts BIGINT NOT NULL, grp TEXT NOT NULL, alertname TEXT NOT NULL, fingerprint TEXT NOT NULL," \
     " labels TEXT NOT NULL, annotations TEXT NOT NULL, state TEXT NOT NULL, previous TEXT NOT NULL," \
     " value TEXT NOT NULL, active_at BIGINT NOT NULL);" \
     "CREATE INDEX alert_transitions_ts ON alert_transitions (ts);"
#define M8_SQLITE "CREATE TABLE alert_transitions (id INTEGER PRIMARY KEY AUTOINCREMENT," M8_COLUMNS M8_ACTIVE
#define M8_POSTGRES "CREATE TABLE alert_transitions (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
     M8_COLUMNS M8_ACTIVE

/* The notification outbox (store/notify.h): ids are made by opshub (time
 * ordered), so a row is inserted before its first attempt and updated after. */
#define M9_NOTIFICATIONS \
     "CREATE TABLE notifications (" \
     " id TEXT PRIMARY KEY, created BIGINT NOT NULL, updated BIGINT NOT NULL," \
     " channel TEXT NOT NULL, kind TEXT NOT NULL, group_key TEXT NOT NULL, dedup_key TEXT NOT NULL," \
     " status TEXT NOT NULL, attempts INTEGER NOT NULL, next_at BIGINT NOT NULL," \
     " last_error TEXT NOT NULL, sent_at BIGINT NOT NULL, alert_at BIGINT NOT NULL," \
     " summary TEXT NOT NULL, payload TEXT NOT NULL);" \
     "CREATE INDEX notifications_created ON notifications (created);" \
     "CREATE INDEX notifications_status ON notifications (status, created);"

/* Silences (store/silences.h): expired ones stay (ends_at in the past). */
#define M10_SILENCES \
     "CREATE TABLE silences (" \
     " id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL," \
     " created_by TEXT NOT NULL, comment TEXT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL);" \
     "CREATE INDEX silences_ends ON silences (ends_at);" \
     "INSERT INTO meta (key, value) VALUES ('silences_gen', 0);"

/* Incidents (store/incidents.h): the columns filtered on, the rest of an
 * incident in `doc` (JSON); the timeline append-only; numbers from a
 * counter in meta; incidents_gen bumped by every write. */
#define M11_COLUMNS \
     " incident_id TEXT NOT NULL, ts BIGINT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL," \
     " text TEXT NOT NULL, data TEXT NOT NULL);" \
     "CREATE INDEX incident_events_incident ON incident_events (incident_id, id);"
#define M11_INCIDENTS \
     "CREATE TABLE incidents (" \
     " id TEXT PRIMARY KEY, number BIGINT NOT NULL UNIQUE, state TEXT NOT NULL, severity TEXT NOT NULL," \
     " group_key TEXT NOT NULL, created BIGINT NOT NULL, updated BIGINT NOT NULL, acked_at BIGINT NOT NULL," \
     " resolved_at BIGINT NOT NULL, doc TEXT NOT NULL);" \
     "CREATE INDEX incidents_created ON incidents (created);" \
     "CREATE INDEX incidents_state ON incidents (state);" \
     "INSERT INTO meta (key, value) VALUES ('incident_seq', 0);" \
     "INSERT INTO meta (key, value) VALUES ('incidents_gen', 0);"
#define M11_SQLITE M11_INCIDENTS "CREATE TABLE incident_events (id INTEGER PRIMARY KEY AUTOINCREMENT," M11_COLUMNS
#define M11_POSTGRES M11_INCIDENTS \
     "CREATE TABLE incident_events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," M11_COLUMNS

/* Contact methods of users (auth/db.h): one row per user who has any. */
#define M12_CONTACTS \
     "CREATE TABLE user_contacts (" \
     " user_id TEXT PRIMARY KEY, email TEXT NOT NULL, slack TEXT NOT NULL, phone TEXT NOT NULL," \
     " pagerduty TEXT NOT NULL, updated_at BIGINT NOT NULL);"

/* Subscribers of the status page (store/subscribers.h). */
#define M13_SUBSCRIBERS \
     "CREATE TABLE status_subscribers (" \
     " id TEXT PRIMARY KEY, kind TEXT NOT NULL, address TEXT NOT NULL, project TEXT NOT NULL," \
     " created_at BIGINT NOT NULL, UNIQUE (kind, address, project));"

/* On-call overrides made through the API (store/overrides.h). */
#define M14_OVERRIDES \
     "CREATE TABLE rotation_overrides (" \
     " id TEXT PRIMARY KEY, rotation TEXT NOT NULL, user_name TEXT NOT NULL, from_ms BIGINT NOT NULL," \
     " to_ms BIGINT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL);" \
     "CREATE INDEX rotation_overrides_to ON rotation_overrides (to_ms);"

/* Append only: a released migration is never edited, a fix is a new version. */
static const struct migration migrations[] = {
    {1,
     "CREATE TABLE samples ("
     " check_id TEXT NOT NULL,"
     " ts BIGINT NOT NULL," /* unix ms */
     " result SMALLINT NOT NULL CHECK (result BETWEEN 0 AND 2),"
     " latency_ms REAL NOT NULL,"
     " code INTEGER NOT NULL DEFAULT 0,"
     " error TEXT NOT NULL DEFAULT '',"
     " dns_ms REAL, connect_ms REAL, tls_ms REAL, ttfb_ms REAL);"
     "CREATE INDEX samples_check_ts ON samples (check_id, ts DESC);"
     "CREATE INDEX samples_ts ON samples (ts);",
     "CREATE TABLE samples ("
     " check_id TEXT NOT NULL,"
     " ts BIGINT NOT NULL,"
     " result SMALLINT NOT NULL CHECK (result BETWEEN 0 AND 2),"
     " latency_ms DOUBLE PRECISION NOT NULL,"
     " code INTEGER NOT NULL DEFAULT 0,"
     " error TEXT NOT NULL DEFAULT '',"
     " dns_ms DOUBLE PRECISION, connect_ms DOUBLE PRECISION,"
     " tls_ms DOUBLE PRECISION, ttfb_ms DOUBLE PRECISION);"
     "CREATE INDEX samples_check_ts ON samples (check_id, ts DESC);"
     "CREATE INDEX samples_ts ON samples (ts);"},
    /* 2: identity and audit (issue 3). Ids are random text made by opshub;
     * times are unix ms; secrets are stored only as SHA-256 (tokens) or
     * Argon2id (passwords). meta.auth_gen is bumped by every change to
     * users, tokens or sessions so a running daemon notices CLI edits. */
    {2,
     M2_IDENTITY
     "CREATE TABLE audit_log ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT,"
     M2_AUDIT_COLUMNS
     "CREATE INDEX audit_ts ON audit_log (ts);"
     "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
     " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
     M2_META,
     M2_IDENTITY
     "CREATE TABLE audit_log ("
     " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     M2_AUDIT_COLUMNS
     "CREATE INDEX audit_ts ON audit_log (ts);"
     "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
     " $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;"
     "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
     " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();"
     M2_META},
    /* 3: objects created through the API (checks and projects now; alert
     * rules, channels, silences... later), one generic table keyed by kind.
     * `definition` is the object's JSON without its secret fields; those are
     * in `secret`, AES-256-GCM sealed ("v1:<keyid>:..."), key_id naming the
     * key so `opshub secrets rotate-key` can re-seal them. meta.objects_gen
     * is bumped by every change. */
    {3, M3_OBJECTS, M3_OBJECTS},
    /* 4: named numeric values of a sample (per check type: phase durations,
     * status codes, ratios...) as a JSON object; NULL for none. New rows
     * leave the four timing columns NULL: rows written before keep them and
     * are read back as the equivalent values (store/values.c). */
    {4, M4_VALUES, M4_VALUES},
    /* 5: hourly rollups of every check's samples (up or degraded, total),
     * so uptime over a day survives a restart without scanning a day of
     * samples (and longer reports read hours, not samples). The store
     * thread adds what it wrote every few minutes and at shutdown, with
     * meta.hours_through saying up to when; filled here from the samples
     * already stored. */
    {5, M5_SQLITE, M5_POSTGRES},
    /* 6: the refresh tokens each session's rotations replaced, so reuse of
     * any earlier one is detected, not only of the last. */
    {6, M6_REFRESH_USED, M6_REFRESH_USED},
    /* 7: minute and hour rollups with latency percentiles, replacing
     * sample_hours (store/rollup.h). */
    {7, M7_SQLITE, M7_POSTGRES},
    /* 8: alert transitions and the alerts active now (store/alerts.h). */
    {8, M8_SQLITE, M8_POSTGRES},
    /* 9: the notification outbox (store/notify.h). */
    {9, M9_NOTIFICATIONS, M9_NOTIFICATIONS},
    /* 10: silences (store/silences.h). */
    {10, M10_SILENCES, M10_SILENCES},
    /* 11: incidents and their timelines (store/incidents.h). */
    {11, M11_SQLITE, M11_POSTGRES},
    /* 12: contact methods of users, where pages reach them (auth/db.h). */
    {12, M12_CONTACTS, M12_CONTACTS},
    {13, M13_SUBSCRIBERS, M13_SUBSCRIBERS},
    {14, M14_OVERRIDES, M14_OVERRIDES},
};

#define MIGRATION_COUNT (sizeof(migrations) / sizeof(migrations[0]))

int store_migrate_latest_version(void)
{
    return migrations[MIGRATION_COUNT - 1].version;
}

static int apply_one(const struct store_backend_ops *ops, struct store_db *db,
                     const struct migration *m, char *errbuf, size_t errlen)
{
    int pg = ops->dialect == STORE_DIALECT_POSTGRES;
    /* SQLite: BEGIN IMMEDIATE takes the write lock now. PostgreSQL: the table
     * lock serialises several nodes migrating the same database at once. */
    int rc = ops->exec(db, pg ? "BEGIN; LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE"
                              : "BEGIN IMMEDIATE", errbuf, errlen);
    if (rc)
        return rc;
    int64_t current = 0;
    rc = ops->query_int(db, "SELECT MAX(version) FROM schema_migrations", &current, errbuf, errlen);
    if (rc)
        goto fail;
    if (current >= m->version) /* applied meanwhile by another process */
        return ops->exec(db, "COMMIT", errbuf, errlen);
    rc = ops->exec(db, pg ? m->postgres_sql : m->sqlite_sql, errbuf, errlen);
    if (rc)
        goto fail;
    char sql[160];
    snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %s)",
             m->version, pg ? "(extract(epoch from now()) * 1000)::bigint"
                            : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)");
    rc = ops->exec(db, sql, errbuf, errlen);
    if (rc)
        goto fail;
    return ops->exec(db, "COMMIT", errbuf, errlen);
fail:
    ops->exec(db, "ROLLBACK", NULL, 0);
    if (errbuf && errlen) {
        char inner[256];
        snprintf(inner, sizeof(inner), "%s", errbuf);
        snprintf(errbuf, errlen, "migration %d: %s", m->version, inner);
    }
    return rc;
}

int store_migrate_apply(const struct store_backend_ops *ops, struct store_db *db,
                        char *errbuf, size_t errlen)
{
    int rc = ops->exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           " version INTEGER PRIMARY KEY,"
                           " applied_at BIGINT NOT NULL)", errbuf, errlen);
    if (rc)
        return rc;
    int64_t current = 0;
    rc = ops->query_int(db, "SELECT MAX(version) FROM schema_migrations", &current, errbuf, errlen);
    if (rc)
        return rc;
    int latest = store_migrate_latest_version();
    if (current > latest) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen,
                     "database schema version %" PRId64 " is newer than this opshub knows (%d): "
                     "upgrade opshub or use another database", current, latest);
        return BASE_ERR_INVALID;
    }
    for (size_t i = 0; i < MIGRATION_COUNT; i++) {
        if (migrations[i].version <= current)
            continue;
        rc = apply_one(ops, db, &migrations[i], errbuf, errlen);
        if (rc)
            return rc;
    }
    return 0;
}
