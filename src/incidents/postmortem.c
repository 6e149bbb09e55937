/*
 * incidents/postmortem: an incident's postmortem as Markdown (see
 * postmortem.h).
 */
#include "incidents/postmortem.h"

#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Text in a table cell: pipes escaped, line breaks as <br>, control characters dropped. */
static int cell(struct base_buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '|')
            rc = base_buf_append(b, "\\|", 2);
        else if (*s == '\n')
            rc = base_buf_append(b, "<br>", 4);
        else if ((unsigned char)*s >= 0x20 || *s == '\t')
            rc = base_buf_append(b, s, 1);
    }
    return rc;
}

static int text(struct base_buf *b, const char *s)
{
    return base_buf_append(b, s, strlen(s));
}

static const char *when(int64_t ms, char *buf, size_t n)
{
    if (ms <= 0)
        return "-";
    base_time_format_iso8601(ms, buf, n);
    /* 2026-12-04T06:00:00.000Z -> 2026-12-04 06:00:00 UTC */
    char *t = strchr(buf, 'T'), *dot = strchr(buf, '.');
    if (t)
        *t = ' ';
    if (dot)
        snprintf(dot, n - (size_t)(dot - buf), " UTC");
    return buf;
}

static void span(int64_t ms, char *out, size_t n)
{
    int64_t s = ms / 1000;
    if (s < 3600)
        snprintf(out, n, "%" PRId64 " min %" PRId64 " s", s / 60, s % 60);
    else
        snprintf(out, n, "%" PRId64 " h %" PRId64 " min", s / 3600, (s % 3600) / 60);
}

static const char *list(const json_t *a, char *out, size_t n)
{
    size_t k = 0, i;
    json_t *v;
    out[0] = 0;
    json_array_foreach(a, i, v) {
        if (k < n)
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? ", " : "", json_string_value(v) ? json_string_value(v) : "");
    }
    return k ? out : "-";
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t num(const json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static int section(struct base_buf *b, const char *title, const char *body)
{
    int rc = text(b, "\n## ");
    rc |= text(b, title);
    rc |= text(b, "\n\n");
    rc |= text(b, *body ? body : "_To be written._");
    rc |= text(b, "\n");
    return rc;
}

int incidents_postmortem_markdown(int64_t number, const json_t *doc, const char *severity_label,
                                  const struct store_incident_event *ev, size_t n_ev, struct base_buf *b)
{
    char t1[48], t2[48], t3[48], l1[600], l2[600];
    const json_t *pm = json_object_get(doc, "postmortem");
    int rc = 0;
    char head[400];
    snprintf(head, sizeof(head), "# Postmortem: #%" PRId64 " %s\n\n", number, str(doc, "title"));
    rc |= text(b, head);
    char line[1200];
    snprintf(line, sizeof(line), "- Severity: %s (%s)\n- State: %s\n", str(doc, "severity"), severity_label,
             str(doc, "state"));
    rc |= text(b, line);
    int64_t created = num(doc, "created"), acked = num(doc, "acked_at"), resolved = num(doc, "resolved_at");
    snprintf(line, sizeof(line), "- Opened: %s\n- Acknowledged: %s%s%s\n- Resolved: %s\n", when(created, t1, sizeof(t1)),
             when(acked, t2, sizeof(t2)), acked && *str(doc, "acked_by") ? " by " : "",
             acked ? str(doc, "acked_by") : "", when(resolved, t3, sizeof(t3)));
    rc |= text(b, line);
    if (acked) {
        span(acked - created, l1, sizeof(l1));
        snprintf(line, sizeof(line), "- Time to acknowledge: %s\n", l1);
        rc |= text(b, line);
    }
    if (resolved) {
        span(resolved - created, l1, sizeof(l1));
        snprintf(line, sizeof(line), "- Time to resolve: %s\n", l1);
        rc |= text(b, line);
    }
    snprintf(line, sizeof(line), "- Commander: %s\n- Responders: %s\n",
             *str(doc, "commander") ? str(doc, "commander") : "-", list(json_object_get(doc, "responders"), l1,
                                                                       sizeof(l1)));
    rc |= text(b, line);
    snprintf(line, sizeof(line), "- Projects: %s\n- Checks: %s\n", list(json_object_get(doc, "projects"), l1,
                                                                          sizeof(l1)),
             list(json_object_get(doc, "checks"), l2, sizeof(l2)));
    rc |= text(b, line);
    snprintf(line, sizeof(line), "- Components: %s\n", list(json_object_get(doc, "components"), l1, sizeof(l1)));
    rc |= text(b, line);
    rc |= section(b, "Summary", str(pm, "summary"));
    rc |= section(b, "Impact", *str(pm, "impact") ? str(pm, "impact") : str(doc, "impact"));
    rc |= section(b, "Root cause", str(pm, "root_cause"));
    rc |= text(b, "\n## Timeline\n\n| Time (UTC) | Who | What |\n|---|---|---|\n");
    for (size_t i = 0; i < n_ev; i++) {
        rc |= text(b, "| ");
        rc |= text(b, when(ev[i].ts_ms, t1, sizeof(t1)));
        rc |= text(b, " | ");
        rc |= cell(b, *ev[i].actor ? ev[i].actor : "-");
        rc |= text(b, " | ");
        rc |= cell(b, ev[i].text);
        rc |= text(b, " |\n");
    }
    rc |= text(b, "\n## Follow-ups\n\n");
    json_t *fu = json_object_get(pm, "follow_ups");
    if (!json_array_size(fu))
        rc |= text(b, "_None yet._\n");
    size_t i;
    json_t *f;
    json_array_foreach(fu, i, f) {
        rc |= text(b, json_is_true(json_object_get(f, "done")) ? "- [x] " : "- [ ] ");
        rc |= cell(b, str(f, "text"));
        if (*str(f, "owner")) {
            rc |= text(b, " (");
            rc |= cell(b, str(f, "owner"));
            rc |= text(b, ")");
        }
        rc |= text(b, "\n");
    }
    if (*str(pm, "lessons"))
        rc |= section(b, "Lessons", str(pm, "lessons"));
    return rc ? -1 : 0;
}
