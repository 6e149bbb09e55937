/*
 * objects/service: the daemon's in-memory view of the objects created
 * through the API (api_objects), kept current like auth's mirror: loaded at
 * start, reloaded when meta.objects_gen changes (polled every second, so
 * CLI or other nodes' edits arrive) or at once after a write made here.
 * Secret fields are opened with the keyring while loading and kept only in
 * the `full` JSON that the configuration is built from; `definition` is
 * the masked form that may be shown. Runs on the loop; SQL goes to the
 * store thread.
 */
#ifndef OBJECTS_SERVICE_H
#define OBJECTS_SERVICE_H

#include "auth/secret.h"
#include "base/map.h"
#include "objects/db.h"
#include "objects/kind.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct objects_item {
    char kind[OBJECTS_KIND_MAX];
    char id[OBJECTS_ID_MAX];
    char key[OBJECTS_KIND_MAX + OBJECTS_ID_MAX]; /* "kind/id": the lookup index's key */
    int64_t version, created_at, updated_at;
    char created_by[OBJECTS_ACTOR_MAX], updated_by[OBJECTS_ACTOR_MAX];
    json_t *definition;   /* masked: safe to show */
    json_t *full;         /* with the opened secret fields: never shown or logged */
    bool secret_ok;       /* false when the secret could not be opened (key missing) */
};

struct objects_svc;
typedef void (*objects_change_cb)(void *data);

/* keyring is borrowed and must outlive the service. on_change runs on the
 * loop after every load that changed something. */
struct objects_svc *objects_svc_new(uv_loop_t *loop, struct store *st, const struct auth_secret_keyring *kr,
                                    objects_change_cb on_change, void *data);
void objects_svc_start(struct objects_svc *s);
typedef void (*objects_close_cb)(void *data);
void objects_svc_close(struct objects_svc *s, objects_close_cb cb, void *data);

/* Reloads now; cb (may be NULL) runs after on_change. */
typedef void (*objects_done_cb)(void *data, int status);
int objects_svc_reload(struct objects_svc *s, objects_done_cb cb, void *data);

bool objects_svc_loaded(const struct objects_svc *s);
/* Items of a kind (objects/kind.h), in id order; borrowed until the next load. */
const struct objects_item *objects_svc_items(const struct objects_svc *s, const struct objects_kind *kind,
                                             size_t *n);
/* One item by kind and id through a hash index: O(1) at 100,000 objects. */
const struct objects_item *objects_svc_find(const struct objects_svc *s, const struct objects_kind *kind,
                                            const char *id);

struct store *objects_svc_store(const struct objects_svc *s);
const struct auth_secret_keyring *objects_svc_keyring(const struct objects_svc *s);

/* Splits a canonical object into its masked definition and the JSON text
 * of its secret fields (NULL when it has none). `secret_fields` is a NULL-
 * terminated list of top-level member names. New references / base_malloc'd
 * text. */
int objects_split_secrets(const json_t *full, const char *const *secret_fields, json_t **masked,
                          char **secret_json);

#endif
