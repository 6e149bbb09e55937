/*
 * conf/schema: configuration objects described by tables of fields. A
 * table (struct conf_field[], ended by a NULL name) says each member's key,
 * kind, place in the C struct, whether it is required or secret, and one
 * line of documentation; from it the loader parses the mapping (unknown
 * keys, duplicates and missing required keys reported with positions),
 * and the definition hash, the deep copy and the canonical JSON are all
 * derived, so a field can never be parsed but left out of the hash (the
 * reload bug that hand-written lists allow). Check types describe their
 * settings this way (conf/check.h); a field whose shape no kind covers is
 * CUSTOM with its own ops. Runs inside a load (parse) or on immutable
 * objects (hash, copy, JSON); no I/O.
 */
#ifndef CONF_SCHEMA_H
#define CONF_SCHEMA_H

#include "base/arena.h"
#include "conf/value.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The C type each kind is stored as is in brackets. */
enum conf_field_kind {
    CONF_FIELD_STRING,   /* [const char *] NULL when absent (then omitted from JSON) */
    CONF_FIELD_ID,       /* [const char *] [a-z0-9][a-z0-9._-]{0,62} */
    CONF_FIELD_URL,      /* [const char *] absolute http(s) URL */
    CONF_FIELD_HOSTPORT, /* [const char *] host:port, [v6]:port */
    CONF_FIELD_BOOL,     /* [bool] */
    CONF_FIELD_INT,      /* [int] min..max */
    CONF_FIELD_DURATION, /* [int64_t] ms; min/max when non-zero; 0 = unset (omitted from JSON) */
    CONF_FIELD_SIZE,     /* [size_t] bytes, 1..max */
    CONF_FIELD_ENUM,     /* [const char *] points at one of `choices` (case-insensitive match) */
    CONF_FIELD_KV,       /* [struct conf_kv *] + [size_t] count at count_offset */
    CONF_FIELD_OBJECT,   /* a nested mapping of `fields`, whose offsets are relative to this
                          * field's offset (a nested struct or the same one) */
    CONF_FIELD_CUSTOM,   /* anything else: `ops` */
};

#define CONF_FIELD_REQUIRED 1u  /* an error when absent */
#define CONF_FIELD_SECRET 2u    /* top-level fields: sealed at rest when created through the API */

struct conf_field;

/* A CUSTOM field's behaviour. `field` points at the member (obj + offset). */
struct conf_field_ops {
    /* Reads n into *field (allocating in the conf arena with
     * conf_value_alloc); 0, or -1 after reporting. */
    int (*parse)(struct conf_ctx *ctx, const struct conf_node *n, void *field);
    /* Feeds every semantic part of the value to the hash. */
    void (*hash)(uint64_t *h, const void *field);
    /* *field holds a shallow copy: re-point everything it references at
     * copies in `a`. 0 or BASE_ERR_NOMEM. */
    int (*copy)(void *field, struct base_arena *a);
    /* The canonical JSON value (new reference) in *out, or NULL to omit the
     * member. 0 or BASE_ERR_NOMEM. Feeding it back to parse gives the same
     * hash. */
    int (*to_json)(const void *field, json_t **out);
};

struct conf_field {
    const char *name;                   /* the key; NULL ends a table */
    enum conf_field_kind kind;
    size_t offset;                      /* of the member in the object */
    unsigned flags;                     /* CONF_FIELD_REQUIRED | CONF_FIELD_SECRET */
    const char *doc;                    /* one line for docs/checks.md and OpenAPI; required */
    const char *example;                /* a valid value as YAML flow text, different from the
                                         * default ("2s", "[200, 3xx]"); required: docs show it and
                                         * tests prove the hash sees the field with it */
    long long min, max;                 /* INT bounds; DURATION bounds in ms (0 = none); SIZE max */
    size_t count_offset;                /* KV: offset of the size_t count */
    const char *const *choices;         /* ENUM: canonical spellings, NULL-terminated */
    const struct conf_field *fields;    /* OBJECT */
    const struct conf_field_ops *ops;   /* CUSTOM */
    const char *(*key_bad)(const char *k);               /* KV: a reason or NULL */
    const char *(*value_bad)(const char *v, size_t len); /* KV: may be NULL */
};

/* One table entry: CONF_FIELD("url", CONF_FIELD_URL, offsetof(struct x, url),
 * CONF_FIELD_REQUIRED, "doc", .max = ...); end a table with CONF_FIELD_END. */
#define CONF_FIELD(name_, kind_, offset_, flags_, doc_, ...) \
    {.name = (name_), .kind = (kind_), .offset = (offset_), .flags = (flags_), .doc = (doc_), __VA_ARGS__}
#define CONF_FIELD_END {.name = NULL}

#define CONF_SCHEMA_HASH_INIT 0xcbf29ce484222325ULL

/* Number of fields in a table. */
size_t conf_schema_count(const struct conf_field *fields);
/* The field named `name` in the table (not nested), or NULL. */
const struct conf_field *conf_schema_find(const struct conf_field *fields, const char *name);

/* Parses every member of `map` into obj: unknown keys (with "did you
 * mean"), duplicates and missing required keys ("<what> is missing 'x'")
 * are reported; parsing goes on after each error. */
void conf_schema_parse_map(struct conf_ctx *ctx, const struct conf_node *map,
                           const struct conf_field *fields, void *obj, const char *what);
/* The same when the caller has already sorted the members: vals[i] is the
 * node for fields[i] (NULL when absent). */
void conf_schema_parse_vals(struct conf_ctx *ctx, const struct conf_node *map,
                            const struct conf_field *fields, const struct conf_node *const *vals,
                            void *obj, const char *what);

/* Parses one field's node into obj; 0, or -1 when an error was reported. */
int conf_schema_parse_field(struct conf_ctx *ctx, const struct conf_node *n, const struct conf_field *f,
                            void *obj);

/* FNV-1a 64 over every field of obj. */
void conf_schema_hash(uint64_t *h, const struct conf_field *fields, const void *obj);
/* obj holds a shallow copy of another object: deep-copies every string and
 * array the fields reference into `a`. 0 or BASE_ERR_NOMEM. */
int conf_schema_copy(const struct conf_field *fields, void *obj, struct base_arena *a);
/* Adds every field of obj to the JSON object `into` in table order (strings
 * and unset durations omitted; durations as "30s"; sizes in bytes; KV as
 * objects; OBJECT nested). 0 or BASE_ERR_NOMEM. */
int conf_schema_to_json(const struct conf_field *fields, const void *obj, json_t *into);

/* A list of strings in the conf arena: the storage of a CUSTOM field that
 * holds one (a dns check's expect, a prometheus check's match, argv). */
struct conf_strings {
    const char **items;
    size_t n;
};
/* The items of the list node n into *out: each a string without NUL of at
 * most item_max bytes (0: no limit; longer: "<what> entries must be at
 * most N bytes, without NUL" at the item). The caller checks the node's
 * kind and count first, with its own words. 0, or -1 after reporting. */
int conf_strings_parse(struct conf_ctx *ctx, const struct conf_node *n, const char *what, size_t item_max,
                       struct conf_strings *out);
void conf_strings_hash(uint64_t *h, const struct conf_strings *s);
/* Deep-copies the items into a: 0 or BASE_ERR_NOMEM. */
int conf_strings_copy(struct conf_strings *s, struct base_arena *a);
/* A JSON array (new reference) in *out, or NULL for an empty list. */
int conf_strings_json(const struct conf_strings *s, json_t **out);

/* Hash building blocks for CUSTOM fields (length-prefixed strings, so that
 * ("ab","c") and ("a","bc") differ and NULL differs from ""). */
void conf_schema_hash_bytes(uint64_t *h, const void *p, size_t n);
void conf_schema_hash_str(uint64_t *h, const char *s);
void conf_schema_hash_int(uint64_t *h, int64_t v);

#endif
