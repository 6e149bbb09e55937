/*
 * incidents/postmortem: an incident's postmortem exported as Markdown:
 * the facts (severity, times, time to acknowledge and to resolve, people,
 * scope), the summary, impact and root cause written in the postmortem,
 * the timeline as a table (every entry, oldest first), the follow-ups as a
 * task list with their owners, and the lessons. Pure.
 */
#ifndef INCIDENTS_POSTMORTEM_H
#define INCIDENTS_POSTMORTEM_H

#include "base/buf.h"
#include "store/incidents.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Appends the Markdown to b: 0, or -1 when b is full or out of memory. */
int incidents_postmortem_markdown(int64_t number, const json_t *doc, const char *severity_label,
                                  const struct store_incident_event *ev, size_t n_ev, struct base_buf *b);

#endif
