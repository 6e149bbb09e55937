/*
 * series/ingest: what turns the event bus into series. Every check sample
 * becomes the series GET /metrics shows for it (probe_success,
 * probe_duration_seconds, opshub_check_status and the values its type
 * declares, with the labels check, project and type); every scrape of a
 * prometheus check becomes its series with job="<check id>" and
 * instance="<host:port>" added as Prometheus adds them (a scraped job or
 * instance label is kept as exported_job / exported_instance), plus the
 * synthetic up, scrape_duration_seconds and scrape_samples_scraped. Like
 * Prometheus, a series that leaves a scrape, or every series of a scrape
 * that failed, gets a stale marker; so do a check's series when the check
 * leaves the configuration.
 */
#ifndef SERIES_INGEST_H
#define SERIES_INGEST_H

#include "series/series.h"

#include <stdint.h>

struct event_bus;
struct conf_check;
struct sample_record;
struct series_ingest;

/* Subscribes to bus (samples and scrapes). NULL on OOM or a full bus. */
struct series_ingest *series_ingest_new(struct series_db *db, struct event_bus *bus);
/* Unsubscribes and frees. */
void series_ingest_destroy(struct series_ingest *ing);

/* The checks now running (after a reload): every series of a check not
 * among them gets a stale marker at now_ms, and is forgotten. */
void series_ingest_sync(struct series_ingest *ing, const struct conf_check *checks, size_t n, int64_t now_ms);

/* A check's own series rebuilt from its stored samples (any order) after a
 * restart, merged with whatever arrived since (series_db_backfill), so
 * that rules over ranges and `for` clocks see the history. The stored
 * sample has no status after confirmation: opshub_check_status takes the
 * sample's result. Returns the samples added. */
size_t series_ingest_backfill(struct series_ingest *ing, const struct conf_check *c,
                              const struct sample_record *recs, size_t n);

struct series_ingest_stats {
    uint64_t appended;
    uint64_t backfilled;       /* of appended: from the store at a restart */
    uint64_t refused;          /* out of order, too old, limits, bad labels */
    uint64_t stale_markers;
};
void series_ingest_stats(const struct series_ingest *ing, struct series_ingest_stats *st);

#endif
