/*
 * rules/promql_labels: the evaluator's label sets (sorted, hashed, in the
 * evaluation's arena; what operators and functions make of them: without
 * the metric name, with a label set or dropped, on()/ignoring() subsets)
 * and the small hash table from 64-bit keys to indexes that matching and
 * aggregation use.
 */
#include "rules/promql_int.h"

#include "base/alloc.h"
#include "base/map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t pql_lset_hash(const struct series_label *l, size_t n)
{
    uint64_t h = BASE_HASH_SEED;
    for (size_t i = 0; i < n; i++)
        h = base_hash_more(base_hash_more(h, l[i].name), l[i].value);
    return h;
}

struct pql_lset *pql_lset_alloc(struct base_arena *a, size_t n)
{
    return base_arena_alloc(a, sizeof(struct pql_lset) + n * sizeof(struct series_label));
}

const struct pql_lset *pql_lset_new(struct pql_ev *ev, const struct series_label *l, size_t n)
{
    struct pql_lset *ls = pql_lset_alloc(ev->step, n);
    if (!ls) {
        pql_fail(ev, PROMQL_ERR_NOMEM, 0, "out of memory");
        return NULL;
    }
    ls->n = (uint32_t)n;
    if (n)
        memcpy(ls->l, l, n * sizeof(*l));
    ls->hash = pql_lset_hash(l, n);
    return ls;
}

const char *pql_lset_get(const struct pql_lset *ls, const char *name)
{
    for (uint32_t i = 0; i < ls->n; i++)
        if (strcmp(ls->l[i].name, name) == 0)
            return ls->l[i].value;
    return "";
}

bool pql_names_has(const struct pql_names *ns, const char *name)
{
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], name) == 0)
            return true;
    return false;
}

/* ls filtered: keep (on) the names listed, or drop them (and, when
 * drop_name, __name__). */
const struct pql_lset *pql_lset_filter(struct pql_ev *ev, const struct pql_lset *ls,
                                       const struct pql_names *ns, bool keep, bool drop_name)
{
    struct series_label tmp[SERIES_LABELS_MAX * 2];
    size_t n = 0;
    for (uint32_t i = 0; i < ls->n && n < sizeof(tmp) / sizeof(tmp[0]); i++) {
        bool listed = ns && pql_names_has(ns, ls->l[i].name);
        if (keep ? !listed : listed)
            continue;
        if (drop_name && strcmp(ls->l[i].name, "__name__") == 0)
            continue;
        tmp[n++] = ls->l[i];
    }
    if (n == ls->n)
        return ls;
    return pql_lset_new(ev, tmp, n);
}

const struct pql_lset *pql_lset_drop_name(struct pql_ev *ev, const struct pql_lset *ls)
{
    if (!ls->n || strcmp(ls->l[0].name, "__name__") != 0) {
        /* sorted: __name__ sorts first among [A-Za-z_] names only after upper case */
        bool has = false;
        for (uint32_t i = 0; i < ls->n; i++)
            has |= strcmp(ls->l[i].name, "__name__") == 0;
        if (!has)
            return ls;
    }
    return pql_lset_filter(ev, ls, NULL, false, true);
}

const struct pql_lset *pql_lset_set(struct pql_ev *ev, const struct pql_lset *ls, const char *name,
                                    const char *value)
{
    struct series_label tmp[SERIES_LABELS_MAX * 2 + 1];
    size_t n = 0;
    bool done = false;
    for (uint32_t i = 0; i < ls->n && n + 1 < sizeof(tmp) / sizeof(tmp[0]); i++) {
        int c = strcmp(ls->l[i].name, name);
        if (c == 0) {
            if (*value)
                tmp[n++] = (struct series_label){name, value};
            done = true;
            continue;
        }
        if (c > 0 && !done) {
            if (*value)
                tmp[n++] = (struct series_label){name, value};
            done = true;
        }
        tmp[n++] = ls->l[i];
    }
    if (!done && *value)
        tmp[n++] = (struct series_label){name, value};
    return pql_lset_new(ev, tmp, n);
}

bool pql_lset_equal(const struct pql_lset *a, const struct pql_lset *b)
{
    if (a == b)
        return true;
    if (a->hash != b->hash || a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++)
        if (strcmp(a->l[i].name, b->l[i].name) != 0 || strcmp(a->l[i].value, b->l[i].value) != 0)
            return false;
    return true;
}

/* The matching signature: hash of the on() labels, or of all but the
 * ignoring() labels and __name__. */
uint64_t pql_signature(const struct pql_lset *ls, bool on, const struct pql_names *ns)
{
    uint64_t h = BASE_HASH_SEED;
    for (uint32_t i = 0; i < ls->n; i++) {
        const char *name = ls->l[i].name;
        bool listed = pql_names_has(ns, name);
        if (on ? !listed : (listed || strcmp(name, "__name__") == 0))
            continue;
        h = base_hash_more(base_hash_more(h, name), ls->l[i].value);
    }
    return h;
}

/* ---- a small hash table: uint64 key -> index ---- */

bool pql_htab_init(struct pql_ev *ev, struct pql_htab *h, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    h->keys = pql_alloc(ev, cap * sizeof(*h->keys));
    h->vals = pql_alloc(ev, cap * sizeof(*h->vals));
    if (!h->keys || !h->vals)
        return false;
    memset(h->vals, 0xff, cap * sizeof(*h->vals));
    h->mask = cap - 1;
    return true;
}

/* The slot for key: its value is -1 when the key is new. */
int32_t *pql_htab_slot(struct pql_htab *h, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & h->mask;
    while (h->vals[i] >= 0 && h->keys[i] != key)
        i = (i + 1) & h->mask;
    h->keys[i] = key;
    return &h->vals[i];
}

bool pql_vec_has_dups(struct pql_ev *ev, const struct pql_vec *v)
{
    if (v->n < 2)
        return false;
    struct pql_htab h;
    if (!pql_htab_init(ev, &h, v->n))
        return false;
    for (size_t i = 0; i < v->n; i++) {
        int32_t *s = pql_htab_slot(&h, v->s[i].ls->hash);
        if (*s >= 0 && pql_lset_equal(v->s[*s].ls, v->s[i].ls))
            return true;
        *s = (int32_t)i;
    }
    return false;
}
