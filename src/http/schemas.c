/*
 * http/schemas: the JSON Schema components of the OpenAPI document (what
 * request and response bodies look like), as data. Routes name them in
 * http/routes.c; http/openapi renders them and fails to build when a route
 * names one that is not here. Pure data: no state, no I/O.
 */
#include "http/schemas.h"

#include <stdio.h>

#define PROPS(...) HTTP_SCHEMA_PROPS(__VA_ARGS__)

const struct http_schema http_schemas[] = {
    {"ErrorBody", NULL, NULL, NULL,
     PROPS({"code", "string", "bad_request, invalid_parameter, invalid_field, not_found, "
            "method_not_allowed, unsupported_media_type, payload_too_large, unauthorized, "
            "invalid_credentials, forbidden, csrf, rate_limited, locked, conflict, paused, canceled, "
            "unavailable, internal, ...", false},
           {"message", "string", "For people; bytes of client input that are not UTF-8 become ?", false},
           {"field", "string", "The input field at fault", true})},
    {"Error", "Every error answer", NULL, NULL, PROPS({"error", "ErrorBody", NULL, false})},
    {"Healthz", NULL, NULL, NULL, PROPS({"ok", "boolean", NULL, false})},
    {"Live", NULL, NULL, NULL, PROPS({"live", "boolean", NULL, false})},
    {"Ready", NULL, NULL, NULL, PROPS({"ready", "boolean", NULL, false}, {"reason", "string", NULL, true})},
    {"HealthDb", NULL, NULL, NULL,
     PROPS({"database", "enum:connected,disconnected", NULL, false},
           {"responseTime", "number", "Last ping, ms", true})},
    {"HealthDatabase", NULL, NULL, NULL,
     PROPS({"status", "enum:up,down", NULL, false}, {"responseTime", "number", "ms", false})},
    {"HealthMemory", NULL, NULL, NULL,
     PROPS({"status", "enum:up", NULL, false}, {"rssBytes", "integer", NULL, false})},
    {"HealthLoop", NULL, NULL, NULL,
     PROPS({"status", "enum:up,degraded", NULL, false}, {"lagMs", "number", NULL, false})},
    {"HealthProbes", "The monitored checks' statuses; never changes opshub's own status", NULL, NULL,
     PROPS({"status", "enum:up", NULL, false}, {"up", "integer", NULL, false},
           {"degraded", "integer", NULL, false}, {"down", "integer", NULL, false},
           {"unknown", "integer", NULL, false})},
    {"HealthChecks", NULL, NULL, NULL,
     PROPS({"database", "HealthDatabase", NULL, false}, {"memory", "HealthMemory", NULL, false},
           {"loop", "HealthLoop", NULL, false}, {"probes", "HealthProbes", NULL, false})},
    {"Health", NULL, NULL, NULL,
     PROPS({"status", "enum:ok,degraded,down", NULL, false}, {"timestamp", "date-time", NULL, false},
           {"uptime", "number", "Seconds", false}, {"version", "string", NULL, false},
           {"checks", "HealthChecks", NULL, false})},
    {"SampleTimings", "Phases in ms; null when not reached or not applicable", NULL, NULL,
     PROPS({"dns_ms", "number?", NULL, false}, {"connect_ms", "number?", NULL, false},
           {"tls_ms", "number?", NULL, false}, {"ttfb_ms", "number?", NULL, false})},
    {"Sample", "One probe result", NULL, NULL,
     PROPS({"ts", "date-time", "UTC with milliseconds", false}, {"ts_ms", "integer", "Unix ms", false},
           {"result", "enum:up,degraded,down", NULL, false}, {"latency_ms", "number", NULL, false},
           {"code", "integer", "HTTP status (0 when none)", false}, {"error", "string", NULL, false},
           {"values", "numbers", "Named values of the check's type (docs/checks.md): phase durations, "
            "status codes, ratios...", false},
           {"timings", "SampleTimings", "The phase values as cumulative ms (kept for older clients)", false},
           {"detail", "object", "Facts that are not numbers, by type (docs/checks.md): a certificate's issuer, "
            "a plugin's output, the last lines a log pattern matched. Only on a check's last sample (not "
            "stored with the samples)", true})},
    {"Check", "A monitored check with its status", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"project", "string?", NULL, false}, {"type", "string", "A check type (docs/checks.md)", false},
           {"target", "string", "What the check probes (a URL, an address); any password is ***", false},
           {"interval", "duration", NULL, false}, {"timeout", "duration", NULL, false},
           {"confirm", "integer", "Consecutive down samples before status down", false},
           {"enabled", "boolean", NULL, false}, {"labels", "map", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", NULL, false},
           {"since", "date-time?", "When the status last changed", false},
           {"consecutive_failures", "integer", NULL, false}, {"last_sample", "Sample?", NULL, false},
           {"uptime_24h", "number?", "Percent of the last 24 h's samples up or degraded", false},
           {"source", "enum:config,api", NULL, false},
           {"paused", "boolean", "Paused by an operator (POST /checks/{id}/pause)", false},
           {"version", "integer", "API checks only: for If-Match", true})},
    {"StatusDay", "One bar of the status page", NULL, NULL,
     PROPS({"date", "string", "The UTC day, YYYY-MM-DD", false},
           {"uptime", "number?", "Fraction of the day's samples up or degraded; null without samples", false},
           {"samples", "integer", NULL, false})},
    {"StatusComponent", "A component of the status page", NULL, NULL,
     PROPS({"name", "string", NULL, false}, {"description", "string?", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", "The worst of its checks' (paused ones do not count)",
            false},
           {"status_text", "string", NULL, false}, {"since", "date-time?", NULL, false},
           {"uptime", "number?", "Over history_days", false}, {"days", "[]StatusDay", "Oldest first", false})},
    {"StatusPage", "The public status page's figures", NULL, NULL,
     PROPS({"title", "string", NULL, false}, {"description", "string?", NULL, false},
           {"project", "string?", NULL, false}, {"updated_at", "date-time", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", NULL, false}, {"status_text", "string", NULL, false},
           {"history_days", "integer", NULL, false},
           {"history_ready", "boolean", "False until the first read of the history after a start", false},
           {"uptime", "number?", NULL, false}, {"components", "[]StatusComponent", NULL, false},
           {"incidents", "[]object", "Filled by the incidents feature", false},
           {"maintenance", "[]object", "The public maintenance windows: {id, description, active, current, next}",
            false})},
    {"PromQueryData", NULL, NULL, NULL,
     PROPS({"resultType", "enum:scalar,vector,matrix,string", NULL, false},
           {"result", "any", "vector: [{metric, value: [time, \"v\"]}]; matrix: [{metric, values: [[time, \"v\"], ...]}]; "
            "scalar and string: [time, \"v\"]. Times are unix seconds, values strings as Prometheus writes them "
            "(\"NaN\", \"+Inf\")", false})},
    {"PromQuery", "A query's answer in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false}, {"data", "PromQueryData", NULL, false})},
    {"PromSeries", "Label sets, in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false}, {"data", "[]map", NULL, false})},
    {"PromStrings", "Label names or values, in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false}, {"data", "[]string", "Sorted", false})},
    {"PromError", "An error in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:error", NULL, false},
           {"errorType", "string", "bad_data (400), execution (422), unavailable (503), internal", false},
           {"error", "string", "A parse error starts with LINE:COL: of the query", false})},
    {"RuleGroups", "Rule groups in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false},
           {"data", "any", "{groups: [{name, file, interval, limit, evaluationTime, lastEvaluation, rules: [{name, "
            "query, labels, health, lastError, evaluationTime, lastEvaluation, type (alerting|recording); alerting: "
            "state, duration, keepFiringFor, annotations, alerts}]}]}", false})},
    {"ActiveAlerts", "Active alerts in the Prometheus HTTP API's shape", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false},
           {"data", "any", "{alerts: [{labels, annotations, state (pending|firing), activeAt, value, firedAt}]}",
            false})},
    {"AlertTransition", "One transition of one alert", NULL, NULL,
     PROPS({"at", "string", "ISO 8601, the evaluation that made it", false}, {"group", "string", NULL, false},
           {"alertname", "string", NULL, false}, {"labels", "object", "alertname included", false},
           {"annotations", "object", "As expanded at that evaluation", false},
           {"state", "enum:pending,firing,resolved,inactive", "inactive: a pending alert that ended", false},
           {"previous", "enum:inactive,pending,firing,resolved", NULL, false},
           {"value", "string", "The expression's value (NaN, +Inf included)", false},
           {"activeAt", "string", "ISO 8601, since when the condition held", false})},
    {"AlertHistoryData", NULL, NULL, NULL, PROPS({"transitions", "[]AlertTransition", "Newest first", false})},
    {"AlertHistory", "Alert transitions", NULL, NULL,
     PROPS({"status", "enum:success", NULL, false}, {"data", "AlertHistoryData", NULL, false})},
    {"AlertGroup", "An aggregation group of the notification layer", NULL, NULL,
     PROPS({"key", "string", "The route's path and the group_by labels", false},
           {"route", "string", "The route's path: \"\" for the top, \"/0/1\" for the second child of the first",
            false},
           {"labels", "object", "The group_by labels", false}, {"alerts", "integer", "Alerts it holds", false},
           {"next_flush", "string", "ISO 8601", false})},
    {"AlertGroups", NULL, NULL, NULL, PROPS({"groups", "[]AlertGroup", NULL, false})},
    {"Notification", "One delivery of the outbox", NULL, NULL,
     PROPS({"id", "string", "Time ordered; the X-Opshub-Delivery header of every attempt", false},
           {"created", "string", "ISO 8601", false}, {"updated", "string", "ISO 8601", false},
           {"channel", "string", NULL, false}, {"kind", "enum:alert,test", NULL, false},
           {"group_key", "string", "The aggregation group", false},
           {"dedup_key", "string", "The group's (X-Opshub-Dedup-Key; PagerDuty's dedup_key)", false},
           {"status", "enum:pending,sent,failed", NULL, false}, {"attempts", "integer", NULL, false},
           {"next_attempt", "string?", "ISO 8601, pending only", false},
           {"last_error", "string", "Empty when none", false}, {"sent_at", "string?", "ISO 8601", false},
           {"summary", "string", "[FIRING:2] ApiDown (...)", false},
           {"latency_seconds", "number", "From the alert's transition to the receiver's acceptance", true},
           {"payload", "any", "GET of one delivery: Alertmanager's webhook JSON (version 4)", true})},
    {"NotificationList", NULL, NULL, NULL, PROPS({"notifications", "[]Notification", "Newest first", false})},
    {"NotificationQueued", NULL, NULL, NULL,
     PROPS({"id", "string", "The delivery", false}, {"status", "enum:pending", NULL, false})},
    {"Channel", "A notification channel (secrets left out)", NULL, NULL,
     PROPS({"id", "string", NULL, false},
           {"type", "enum:webhook,slack,slack_bot,pagerduty,telegram,discord,teams,email", NULL, false},
           {"send_resolved", "boolean", NULL, false}, {"disabled", "boolean", "DISABLE_SLACK", false},
           {"failing", "boolean", "Its last delivery failed for good (NotificationDeliveryFailed fires)", false},
           {"sent", "integer", NULL, false}, {"failed", "integer", NULL, false}, {"retried", "integer", NULL, false},
           {"last_error", "string", NULL, false})},
    {"ChannelList", NULL, NULL, NULL, PROPS({"channels", "[]Channel", NULL, false})},
    {"MaintenanceSpan", NULL, NULL, NULL,
     PROPS({"start", "string", "ISO 8601", false}, {"end", "string", "ISO 8601", false})},
    {"Maintenance", "A maintenance window", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"description", "string", NULL, false},
           {"active", "boolean", NULL, false}, {"current", "MaintenanceSpan?", "While active", false},
           {"next", "MaintenanceSpan?", "null when none is to come", false},
           {"projects", "[]string", NULL, false}, {"matchers", "[]object", NULL, false},
           {"public", "boolean", "Shown on the status page", false},
           {"schedule", "string", "Recurring: the cron schedule", true},
           {"timezone", "string", "Recurring: the schedule's zone", true},
           {"duration_seconds", "integer", "Recurring", true})},
    {"MaintenanceList", NULL, NULL, NULL, PROPS({"windows", "[]Maintenance", NULL, false})},
    {"Incident", "An incident", NULL, NULL,
     PROPS({"id", "string", "i + 20 hex digits", false}, {"number", "integer?", "null until first written", false},
           {"title", "string", NULL, false}, {"severity", "string", "A level of the scheme", false},
           {"severity_label", "string", "The level's word in messages (HIGH)", false},
           {"public", "boolean", "The level is shown on the status page", false},
           {"state", "enum:INVESTIGATING,IDENTIFIED,MONITORING,RESOLVED", NULL, false},
           {"source", "enum:alert,manual", NULL, false}, {"service", "string", NULL, false},
           {"impact", "string", NULL, false}, {"eta", "string", NULL, false},
           {"commander", "string?", NULL, false}, {"responders", "[]string", NULL, false},
           {"projects", "[]string", NULL, false}, {"checks", "[]string", NULL, false},
           {"components", "[]string", NULL, false}, {"policy", "string?", "Escalation policy", false},
           {"channels", "[]string", "Where updates are posted", false},
           {"group_key", "string", "Alerts of this group join it", false},
           {"alerts", "[]object", "{key, labels, state, since, ended}", false},
           {"created", "string", NULL, false}, {"updated", "string", NULL, false},
           {"acked_at", "string?", NULL, false}, {"acked_by", "string?", NULL, false},
           {"monitoring_at", "string?", NULL, false}, {"resolved_at", "string?", NULL, false},
           {"ack_deadline", "string?", "null: the level has none", false},
           {"ack_missed", "boolean", NULL, false}, {"last_update", "string", NULL, false},
           {"tta_seconds", "number?", "Time to acknowledge", false}, {"ttr_seconds", "number?", "Time to resolve", false},
           {"postmortem", "object", "{summary, impact, root_cause, lessons, follow_ups}", false},
           {"message", "string", "The communication template rendered", false})},
    {"IncidentList", NULL, NULL, NULL, PROPS({"incidents", "[]Incident", "Newest first", false})},
    {"IncidentInput", "A new incident", NULL, NULL,
     PROPS({"title", "string", NULL, false}, {"severity", "string", NULL, false},
           {"state", "string", NULL, true}, {"service", "string", NULL, true}, {"impact", "string", NULL, true},
           {"eta", "string", NULL, true}, {"commander", "string", NULL, true},
           {"responders", "[]string", NULL, true}, {"projects", "[]string", NULL, true},
           {"checks", "[]string", NULL, true}, {"components", "[]string", NULL, true},
           {"policy", "string", NULL, true}, {"channels", "[]string", NULL, true},
           {"text", "string", "The first status update", true})},
    {"IncidentPatch", "Changes to an incident (null clears a field)", NULL, NULL,
     PROPS({"title", "string", NULL, true}, {"severity", "string", NULL, true}, {"state", "string", NULL, true},
           {"service", "string?", NULL, true}, {"impact", "string?", NULL, true}, {"eta", "string?", NULL, true},
           {"commander", "string?", NULL, true}, {"responders", "[]string", NULL, true},
           {"projects", "[]string", NULL, true}, {"checks", "[]string", NULL, true},
           {"components", "[]string", NULL, true}, {"policy", "string?", NULL, true},
           {"channels", "[]string", NULL, true}, {"text", "string", "On the timeline with the change", true},
           {"postmortem", "object", "{summary, impact, root_cause, lessons, follow_ups: [{text, owner, done}]}",
            true})},
    {"IncidentResolve", NULL, NULL, NULL, PROPS({"text", "string", NULL, true})},
    {"IncidentUpdate", "A status update", NULL, NULL,
     PROPS({"text", "string", NULL, false}, {"state", "string", NULL, true})},
    {"TimelineEntry", NULL, NULL, NULL,
     PROPS({"seq", "integer", NULL, false}, {"at", "string", NULL, false}, {"actor", "string", NULL, false},
           {"kind", "string", NULL, false}, {"text", "string", NULL, false}, {"data", "object", NULL, false})},
    {"IncidentTimeline", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"number", "integer", NULL, false},
           {"timeline", "[]TimelineEntry", "Oldest first", false})},
    {"IncidentStats", NULL, NULL, NULL,
     PROPS({"severity", "string", "by_severity", true}, {"project", "string", "by_project (\"\": none)", true},
           {"count", "integer", NULL, false}, {"open", "integer", NULL, false},
           {"acknowledged", "integer", NULL, false}, {"resolved", "integer", NULL, false},
           {"ack_deadlines_missed", "integer", NULL, false}, {"mtta_seconds", "number?", NULL, false},
           {"mttr_seconds", "number?", NULL, false})},
    {"IncidentReport", NULL, NULL, NULL,
     PROPS({"from", "string", NULL, false}, {"to", "string", NULL, false}, {"total", "IncidentStats", NULL, false},
           {"by_severity", "[]IncidentStats", NULL, false}, {"by_project", "[]IncidentStats", NULL, false})},
    {"Contacts", "Where pages reach a user", NULL, NULL,
     PROPS({"user", "string", "The user's name", false}, {"email", "string", NULL, false},
           {"slack", "string", "A Slack member id", false}, {"phone", "string", "E.164", false},
           {"pagerduty_set", "boolean", "A routing key is set (never shown)", false},
           {"updated_at", "string?", NULL, false})},
    {"ContactsInput", NULL, NULL, NULL,
     PROPS({"email", "string?", NULL, true}, {"slack", "string?", NULL, true}, {"phone", "string?", NULL, true},
           {"pagerduty", "string?", "An Events API v2 routing key", true})},
    {"OnCallSpan", "Who is on call from start to end", NULL, NULL,
     PROPS({"user", "string?", "null: nobody (outside restrict, or before the first shift)", false},
           {"override", "boolean", "user is an override's", false},
           {"start", "string?", "ISO 8601; null: since ever", false},
           {"end", "string?", "ISO 8601; null: for ever", false})},
    {"RotationWindow", "A restrict window, in the rotation's time zone", NULL, NULL,
     PROPS({"days", "string", "sun,mon,...", false}, {"from", "string", "HH:MM", false},
           {"to", "string", "HH:MM (before from: crosses midnight)", false})},
    {"RotationOverride", "A one-off replacement", NULL, NULL,
     PROPS({"user", "string", NULL, false}, {"start", "string", "ISO 8601", false},
           {"end", "string", "ISO 8601", false})},
    {"Rotation", "An on-call rotation", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false}, {"members", "[]string", "In order", false},
           {"length", "string", "Shift length: 1w, 1d, 12h...", false},
           {"handoff", "string", "\"mon 09:00\" or \"09:00\"", false},
           {"timezone", "string", NULL, false}, {"start", "string", "The date of the first shift", false},
           {"restrict", "[]RotationWindow", NULL, false}, {"overrides", "[]RotationOverride", NULL, false},
           {"current", "OnCallSpan", "Now", false}, {"next", "OnCallSpan?", "After current", false},
           {"feed_path", "string", "The iCalendar feed with its token", true},
           {"spans", "[]OnCallSpan", "GET /api/v1/rotations/{id}: from..to", true},
           {"truncated", "boolean", "More spans than 5000", true})},
    {"RotationList", NULL, NULL, NULL, PROPS({"rotations", "[]Rotation", NULL, false})},
    {"OnCallRotation", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"user", "string?", NULL, false}, {"override", "boolean", NULL, false},
           {"since", "string?", NULL, false}, {"until", "string?", NULL, false})},
    {"OnCallTarget", "A target of a step", NULL, NULL,
     PROPS({"kind", "enum:user,rotation,channel", NULL, false}, {"id", "string", NULL, false},
           {"user", "string?", "user and rotation targets: who is paged", true},
           {"until", "string?", "rotation targets: until when", true})},
    {"OnCallStep", NULL, NULL, NULL,
     PROPS({"step", "integer", "From 1", false}, {"delay_seconds", "integer", "After the previous step", false},
           {"targets", "[]OnCallTarget", NULL, false})},
    {"OnCallPolicy", "An escalation policy", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"description", "string?", NULL, false},
           {"repeat", "integer", "Times the steps run again", false}, {"steps", "[]OnCallStep", NULL, false})},
    {"OnCall", "Who is on call at an instant", NULL, NULL,
     PROPS({"at", "string", "ISO 8601", false}, {"rotations", "[]OnCallRotation", NULL, false},
           {"policies", "[]OnCallPolicy", NULL, false})},
    {"Matcher", "A label matcher of a silence", NULL, NULL,
     PROPS({"name", "string", NULL, false}, {"value", "string", NULL, false},
           {"isRegex", "boolean", NULL, false}, {"isEqual", "boolean", "false: != or !~", false})},
    {"SilenceStatus", NULL, NULL, NULL, PROPS({"state", "enum:pending,active,expired", NULL, false})},
    {"Silence", "A silence (Alertmanager's GettableSilence)", NULL, NULL,
     PROPS({"id", "string", "A UUID", false}, {"status", "SilenceStatus", NULL, false},
           {"updatedAt", "string", "ISO 8601", false}, {"comment", "string", NULL, false},
           {"createdBy", "string", NULL, false}, {"endsAt", "string", "ISO 8601", false},
           {"startsAt", "string", "ISO 8601", false}, {"matchers", "[]Matcher", NULL, false})},
    {"SilenceList", NULL, NULL, NULL, PROPS({"silences", "[]Silence", "Newest first", false})},
    {"GettableSilences", "A list of Silence", "[]Silence", NULL, NULL},
    {"SilenceInput", "A silence to create or update (Alertmanager's PostableSilence, plus duration)", NULL, NULL,
     PROPS({"id", "string", "Update this silence", true},
           {"matchers", "any", "Matcher objects or strings (name=value, name!=value, name=~re, name!~re)", false},
           {"startsAt", "string", "RFC 3339; default now", true},
           {"endsAt", "string", "RFC 3339; or give duration", true},
           {"duration", "string", "2h, 30m...: endsAt = startsAt + duration", true},
           {"createdBy", "string", "Default: the caller", true}, {"comment", "string", NULL, true})},
    {"SilenceID", NULL, NULL, NULL, PROPS({"silenceID", "string", NULL, false})},
    {"PostableAlerts", "A list of {labels, annotations, startsAt, endsAt, generatorURL}", "[]object", NULL, NULL},
    {"GettableAlerts", "A list of {labels, annotations, startsAt, endsAt, generatorURL, fingerprint, updatedAt, "
     "receivers: [{name}], status: {state, silencedBy, inhibitedBy}}", "[]object", NULL, NULL},
    {"AlertmanagerStatus", "Alertmanager's status: cluster, versionInfo, config, uptime", "object", NULL, NULL},
    {"Receivers", "A list of {name}", "[]object", NULL, NULL},
    {"Empty", "An empty object", "object", NULL, NULL},
    {"CheckList", NULL, NULL, NULL,
     PROPS({"checks", "[]Check", NULL, false}, {"next_cursor", "string?", "null on the last page", false},
           {"counts", "numbers", "Checks by status over every page of the filters other than status (up, "
            "degraded, down, unknown, paused)", false})},
    {"CheckDefinition", "A check as in the configuration file's checks: list (docs/checks.md); the served "
     "document lists the fields of every check type of this opshub",
     NULL, NULL,
     PROPS({"id", "string", "[a-z0-9][a-z0-9._-]{0,62}", false}, {"type", "enum:http,tcp", NULL, false},
           {"name", "string", NULL, true}, {"project", "string", NULL, true},
           {"url", "string", "http: the URL (sealed at rest)", true},
           {"address", "string", "tcp: host:port", true}, {"interval", "string", "Duration, default 60s", true},
           {"timeout", "string", "Duration, below interval", true}, {"confirm", "integer", NULL, true},
           {"enabled", "boolean", NULL, true}, {"labels", "map", NULL, true},
           {"method", "string", NULL, true}, {"headers", "map", "Sealed at rest", true},
           {"body", "string", "Sealed at rest", true}, {"expect", "object", "status, max_latency, "
           "body_contains, json (http); a banner substring (tcp)", true},
           {"tls_verify", "boolean", NULL, true}, {"follow_redirects", "boolean", NULL, true},
           {"max_body", "integer", NULL, true}, {"send", "string", "tcp: bytes to send (sealed at rest)", true})},
    {"CheckPatch", "A JSON merge patch (RFC 7396) of a CheckDefinition: members given replace, null "
     "removes; id, if given, must be the check's", "object", NULL, NULL},
    {"Project", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"environments", "[]string", NULL, false}, {"source", "enum:config,api", NULL, false},
           {"version", "integer", "API projects only", true})},
    {"ProjectList", NULL, NULL, NULL,
     PROPS({"projects", "[]Project", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"ProjectDefinition", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, true},
           {"environments", "[]string", NULL, true})},
    {"ProjectPatch", "A JSON merge patch (RFC 7396) of a ProjectDefinition", "object", NULL, NULL},
    {"SampleList", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"samples", "[]Sample", "Newest first", false})},
    {"LatencySummary", "Latency of the samples that were not down, ms", NULL, NULL,
     PROPS({"min", "number", NULL, false}, {"avg", "number", NULL, false}, {"max", "number", NULL, false},
           {"p50", "number", "Latency points only; within 1% of a measured value", true},
           {"p95", "number", "Latency points only", true}, {"p99", "number", "Latency points only", true})},
    {"Uptime", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"window", "string", "As asked, e.g. 24h", false},
           {"from", "date-time", "Start of the counted span (the window's start, to its minute)", false},
           {"to", "date-time", NULL, false}, {"total", "integer", NULL, false}, {"up", "integer", NULL, false},
           {"degraded", "integer", NULL, false}, {"down", "integer", NULL, false},
           {"uptime", "number?", "(up + degraded) / total; null without samples", false},
           {"latency_ms", "LatencySummary?", "null when no sample was up or degraded", false},
           {"partial", "boolean", "Rollups of part of the window are still being rebuilt", false})},
    {"LatencyPoint", NULL, NULL, NULL,
     PROPS({"ts", "date-time", "The step's start", false}, {"total", "integer", NULL, false},
           {"up", "integer", NULL, false}, {"degraded", "integer", NULL, false}, {"down", "integer", NULL, false},
           {"latency_ms", "LatencySummary?", "null for a step without an up or degraded sample", false})},
    {"LatencySeries", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"from", "date-time", "The first step's start", false},
           {"to", "date-time", "The last step's end", false}, {"step_seconds", "integer", NULL, false},
           {"partial", "boolean", "Rollups of part of the span are still being rebuilt", false},
           {"points", "[]LatencyPoint", NULL, false})},
    {"CheckRun", NULL, NULL, NULL,
     PROPS({"check", "string", NULL, false}, {"sample", "Sample", NULL, false},
           {"status", "enum:up,degraded,down,unknown,paused", NULL, false})},
    {"Role", NULL, "enum:viewer,operator,admin", NULL, NULL},
    {"User", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"username", "string", NULL, false},
           {"role", "Role", NULL, false}, {"disabled", "boolean", NULL, false},
           {"created_at", "date-time", NULL, false}, {"updated_at", "date-time", NULL, false},
           {"last_login_at", "date-time?", NULL, false})},
    {"UserList", NULL, NULL, NULL,
     PROPS({"users", "[]User", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"UserCreate", NULL, NULL, NULL,
     PROPS({"username", "string", NULL, false}, {"password", "string", NULL, false},
           {"role", "Role", NULL, false})},
    {"UserPatch", "Only the fields given change", NULL, NULL,
     PROPS({"role", "Role", NULL, true}, {"disabled", "boolean", NULL, true},
           {"password", "string", NULL, true})},
    {"LoginRequest", NULL, NULL, NULL,
     PROPS({"username", "string", NULL, false}, {"password", "string", NULL, false},
           {"cookie", "boolean", "true: a browser session (the tokens in HttpOnly cookies, see BrowserSession)",
            true})},
    {"RefreshRequest", "refresh_token, or cookie true (the opshub_refresh cookie and X-CSRF-Token)", NULL, NULL,
     PROPS({"refresh_token", "string", "Required unless cookie is true", true},
           {"cookie", "boolean", "true: refresh the browser session of the cookies", true})},
    {"OverrideInput", NULL, NULL, NULL,
     PROPS({"user", "string", "An enabled opshub user", false}, {"start", "string", "ISO 8601 or unix seconds", false},
           {"end", "string", "ISO 8601 or unix seconds", false}, {"reason", "string?", "At most 200 characters", true})},
    {"Override", NULL, NULL, NULL,
     PROPS({"id", "string", "Only the API's", true}, {"user", "string", NULL, false},
           {"start", "date-time", NULL, false}, {"end", "date-time", NULL, false},
           {"source", "enum:config,api", NULL, false}, {"reason", "string", NULL, true}, {"by", "string", NULL, true},
           {"created_at", "date-time", NULL, true})},
    {"Subscriber", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"kind", "enum:email,webhook", NULL, false},
           {"address", "string", "The e-mail address, or a webhook URL's origin", false},
           {"project", "string?", "null: every public incident of the page", false},
           {"created_at", "date-time", NULL, false})},
    {"SubscriberList", NULL, NULL, NULL, PROPS({"subscribers", "[]Subscriber", NULL, false})},
    {"SubscriberInput", "One of email or webhook", NULL, NULL,
     PROPS({"email", "string", NULL, true}, {"webhook", "string", "An http(s) URL, at most 512 bytes", true},
           {"project", "string?", "A project id: only its incidents", true})},
    {"SubscribeRequest", NULL, NULL, NULL,
     PROPS({"email", "string", NULL, false}, {"project", "string?", "A project id: only its incidents", true})},
    {"Result", NULL, NULL, NULL, PROPS({"result", "string", NULL, false})},
    {"ClockAdvance", NULL, NULL, NULL, PROPS({"advance", "string", "A duration, 1ms to 30d (\"15m\")", false})},
    {"ClockNow", NULL, NULL, NULL,
     PROPS({"now", "string", "The moved clock, ISO 8601", false},
           {"shift_ms", "integer", "How far it was moved in total", false})},
    {"TestLoginRequest", NULL, NULL, NULL,
     PROPS({"username", "string", NULL, false}, {"cookie", "boolean", "As in LoginRequest", true})},
    {"AuthProvider", NULL, NULL, NULL,
     PROPS({"id", "enum:github,oidc", NULL, false}, {"name", "string", "For the button: GitHub, or oidc.name", false},
           {"start", "string", "The path that starts it (/auth/github/start)", false})},
    {"AuthProviders", NULL, NULL, NULL,
     PROPS({"password", "boolean", "Password login (always true)", false},
           {"providers", "[]AuthProvider", "Only the configured ones", false})},
    {"BrowserSession", "A login or refresh with cookie true: the access and refresh tokens are only in "
     "the HttpOnly cookies opshub_session and opshub_refresh; opshub_csrf (readable by script) holds "
     "csrf_token, to send as X-CSRF-Token on every POST, PUT, PATCH and DELETE", NULL, NULL,
     PROPS({"user", "Principal", NULL, false},
           {"csrf_token", "string", "The session's CSRF token (also in the opshub_csrf cookie)", false},
           {"expires_at", "date-time", "When the access token in opshub_session expires", false})},
    {"AuthTokens", NULL, NULL, NULL,
     PROPS({"access_token", "string", "JWT for Authorization: Bearer", false},
           {"token_type", "enum:Bearer", NULL, false},
           {"expires_in", "integer", "Seconds until the access token expires", false},
           {"refresh_token", "string", NULL, false},
           {"refresh_expires_in", "integer", "Seconds until the refresh token expires", false},
           {"user", "User", NULL, false})},
    {"Principal", "Who the request's credentials belong to", NULL, NULL,
     PROPS({"kind", "enum:user,token", NULL, false}, {"id", "string", NULL, false},
           {"name", "string", "Username or token name", false}, {"role", "Role", NULL, false})},
    {"ApiToken", "An API token; its secret is never shown again after creation", NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"name", "string", NULL, false},
           {"prefix", "string", "First characters of the secret, to recognise it", false},
           {"role", "Role", NULL, false}, {"created_by", "string", NULL, false},
           {"created_at", "date-time", NULL, false}, {"expires_at", "date-time?", NULL, false},
           {"last_used_at", "date-time?", NULL, false}, {"revoked_at", "date-time?", NULL, false})},
    {"ApiTokenCreated", "The new token with its secret, shown once", NULL, "ApiToken",
     PROPS({"token", "string", "The secret: Authorization: Bearer <token>", false})},
    {"TokenList", NULL, NULL, NULL,
     PROPS({"tokens", "[]ApiToken", NULL, false}, {"next_cursor", "string?", "null on the last page", false})},
    {"TokenCreate", NULL, NULL, NULL,
     PROPS({"name", "string", NULL, false}, {"role", "Role", NULL, false},
           {"expires", "duration", "Lifetime (\"90d\"); none when absent", true})},
    {"AuditEntry", NULL, NULL, NULL,
     PROPS({"id", "string", NULL, false}, {"ts", "date-time", NULL, false},
           {"actor", "string", NULL, false}, {"actor_kind", "enum:user,token,cli,system", NULL, false},
           {"role", "Role?", NULL, false}, {"action", "string", "\"user.create\", ...", false},
           {"target", "string?", NULL, false}, {"result", "enum:ok,denied,error", NULL, false},
           {"status", "integer?", "HTTP status (null outside HTTP)", false},
           {"ip", "string?", NULL, false}, {"request_id", "string?", NULL, false})},
    {"AuditList", NULL, NULL, NULL,
     PROPS({"entries", "[]AuditEntry", "Newest first", false},
           {"next_cursor", "string?", "null on the last page", false})},
    {"OpenApiDocument", "An OpenAPI 3.1 document (this one)", "object", NULL, NULL},
    {"HeartbeatPing", "What a heartbeat ping did", NULL, NULL,
     PROPS({"ok", "boolean", "true: the ping was recorded", false}, {"check", "string", "The check id", false},
           {"event", "enum:success,start,fail", NULL, false},
           {"status", "enum:unknown,up,degraded,down,paused", "The check's status after the ping", false},
           {"run_seconds", "number?", "The run's duration, when /start began it", true},
           {"error", "string", "Why the ping made the check down (ran too long or too short, /fail)", true})},
};
const size_t http_schemas_n = sizeof(http_schemas) / sizeof(http_schemas[0]);

/* ---- the check schemas from the check type registry ---- */

static json_t *field_schema(const struct conf_field *f);

static json_t *fields_object(const struct conf_field *fields)
{
    json_t *o = json_pack("{s:s, s:{}, s:b}", "type", "object", "properties", "additionalProperties", 0);
    json_t *props = o ? json_object_get(o, "properties") : NULL;
    for (const struct conf_field *f = fields; o && f && f->name; f++)
        if (json_object_set_new(props, f->name, field_schema(f)) != 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

/* The JSON Schema of one field, as the loader reads it from JSON. */
static json_t *field_schema(const struct conf_field *f)
{
    json_t *s = NULL;
    switch (f->kind) {
    case CONF_FIELD_BOOL:
        s = json_pack("{s:s}", "type", "boolean");
        break;
    case CONF_FIELD_INT:
        s = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum", (json_int_t)f->min, "maximum", (json_int_t)f->max);
        break;
    case CONF_FIELD_SIZE:
        s = json_pack("{s:[s, s]}", "type", "integer", "string");
        break;
    case CONF_FIELD_KV:
        s = json_pack("{s:s, s:{s:s}}", "type", "object", "additionalProperties", "type", "string");
        break;
    case CONF_FIELD_OBJECT:
        s = fields_object(f->fields);
        break;
    case CONF_FIELD_ENUM: {
        json_t *e = json_array();
        for (size_t i = 0; e && f->choices[i]; i++)
            json_array_append_new(e, json_string(f->choices[i]));
        s = e ? json_pack("{s:s, s:o}", "type", "string", "enum", e) : NULL;
        break;
    }
    case CONF_FIELD_CUSTOM:
        s = json_object(); /* its own shape: the description says it */
        break;
    default:
        s = json_pack("{s:s}", "type", "string");
        break;
    }
    if (s && f->doc)
        json_object_set_new(s, "description", json_string(f->doc));
    return s;
}

/* A field several types share under one name (tcp's expect is a string,
 * http's an object): any shape, each type's meaning in the description. */
static int add_field(json_t *props, const struct conf_field *f, const char *type)
{
    json_t *have = json_object_get(props, f->name);
    if (!have) {
        json_t *s = field_schema(f);
        if (s) {
            char d[512];
            snprintf(d, sizeof(d), "%s: %s", type, f->doc ? f->doc : "");
            json_object_set_new(s, "description", json_string(d));
        }
        return s ? json_object_set_new(props, f->name, s) : BASE_ERR_NOMEM;
    }
    char d[2048];
    snprintf(d, sizeof(d), "%s; %s: %s", json_string_value(json_object_get(have, "description")), type,
             f->doc ? f->doc : "");
    json_t *any = json_pack("{s:s}", "description", d);
    return any ? json_object_set_new(props, f->name, any) : BASE_ERR_NOMEM;
}

int http_schemas_for_types(json_t *doc, const struct conf_check_types *types)
{
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *check = json_object_get(schemas, "Check");
    json_t *def = json_object_get(schemas, "CheckDefinition");
    if (!schemas || !check || !def || !types)
        return BASE_ERR_INVALID;
    json_t *names = json_array();
    json_t *props = json_object();
    int rc = names && props ? 0 : BASE_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < types->n; i++)
        rc = json_array_append_new(names, json_string(types->items[i]->name)) ? BASE_ERR_NOMEM : 0;
    for (const struct conf_field *f = conf_check_common_fields; rc == 0 && f->name; f++)
        rc = json_object_set_new(props, f->name, field_schema(f)) ? BASE_ERR_NOMEM : 0;
    if (rc == 0)
        rc = json_object_set_new(props, "type", json_pack("{s:s, s:O, s:s}", "type", "string", "enum", names,
                                                          "description", "The check type")) ? BASE_ERR_NOMEM : 0;
    for (size_t i = 0; rc == 0 && i < types->n; i++)
        for (const struct conf_field *f = types->items[i]->fields; rc == 0 && f && f->name; f++)
            rc = add_field(props, f, types->items[i]->name);
    if (rc == 0) {
        json_object_set_new(json_object_get(check, "properties"), "type",
                        json_pack("{s:s, s:O, s:s}", "type", "string", "enum", names, "description", "The check type"));
        json_object_set_new(def, "properties", props);
        json_object_set_new(def, "required", json_pack("[s, s]", "id", "type"));
        props = NULL;
    }
    json_decref(props);
    json_decref(names);
    return rc;
}
