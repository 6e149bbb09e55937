/*
 * objects/confs: the running configuration = the configuration file plus
 * the objects created through the API, merged kind by kind in the order of
 * objects/kind.h. Stage i is the file plus kinds 0..i, so an update of a
 * kind is validated against what comes before it (a check against the
 * file and every project, not against the API checks it would collide
 * with), and the last stage is what runs. An API object that no longer
 * validates (the file now defines its id: the file wins; its secret cannot
 * be opened) is skipped with an error in the log. A kind without objects
 * adds no stage of its own (no copy of the configuration: with no API
 * objects what runs is the file's conf itself). Owns its stages; borrows
 * the file's conf and the objects' items for the build only.
 */
#ifndef OBJECTS_CONFS_H
#define OBJECTS_CONFS_H

#include "conf/conf.h"
#include "objects/kind.h"
#include "objects/service.h"

struct objects_confs;

/* Builds every stage over `file` (borrowed; must outlive the result) with
 * the items of `objects` (may be NULL: no API objects). 0 and *out, or
 * BASE_ERR_NOMEM (nothing built). */
int objects_confs_build(const struct objects_svc *objects, const struct conf *file,
                        const struct conf_check_types *types, struct objects_confs **out);
/* What runs: the file and every API object. Borrowed from c. */
const struct conf *objects_confs_run(const struct objects_confs *c);
/* The file and the kinds before k: what an update of a k object is
 * validated against. Borrowed. */
const struct conf *objects_confs_before(const struct objects_confs *c, const struct objects_kind *k);
/* The configuration file alone. */
const struct conf *objects_confs_file(const struct objects_confs *c);
void objects_confs_destroy(struct objects_confs *c);

#endif
