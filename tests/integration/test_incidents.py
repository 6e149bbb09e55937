"""
Integration tests of incidents (docs/incidents.md) on a running opshub with real checks:
- by hand through the API: open (the number, the ack deadline of the level, the communication
  template rendered exactly), roles (a viewer reads but cannot acknowledge, an operator can),
  acknowledge once (the second is 409), status updates with a state, PATCH (severity with a new
  deadline, fields cleared with null, a postmortem), resolve (409 again), reopen, the timeline
  with who/when/what, the postmortem as Markdown with the timeline in it, bad bodies named by
  field, unknown incidents 404;
- from alerts: a check goes down, its alert opens a P1 incident by the rule (title from the
  template, project and check filled in), a second alert of the same group joins it instead of
  opening another, recovery moves it to MONITORING and after the quiet period to RESOLVED; a
  level whose deadline passes unacknowledged is recorded as missed; /metrics and the report
  give the counts, MTTA and MTTR;
- the CLI: open, update, ack, resolve, list, show, seen by the running daemon within a second;
- kill -9 with an open incident: after the restart it is read back and the recovery of its
  check still resolves it (no second incident);
- the same lifecycle on PostgreSQL; configuration errors at FILE:LINE:COL.
"""
# ctest: COST 36
import datetime
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

PROJECTS = [{"id": "shop", "name": "Shop"}]

RULES = """
evaluation_interval: 200ms
alerts:
  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}
incidents:
  quiet_period: 2s
  rules:
    - match: {severity: critical}
      severity: P1
      title: '{{ $labels.alertname }}: {{ $labels.check }}'
      group_by: [alertname, project]
"""


def checks(port, n):
    return [h.http_check(f"api{i}", f"http://127.0.0.1:{port}/", interval="200ms", timeout="150ms",
                         project="shop") for i in range(n)]


def parse_iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def incident(o, ref):
    return o.get_json(f"/api/v1/incidents/{ref}")


def timeline(o, ref):
    return o.get_json(f"/api/v1/incidents/{ref}/timeline")["timeline"]


def lifecycle(o):
    """The manual lifecycle through the API; returns the incident's number."""
    r = o.post("/api/v1/incidents", body={"title": "Checkout fails", "severity": "P1", "service": "Checkout",
                                          "impact": "about 300 users affected", "eta": "30 min",
                                          "commander": "alice", "responders": ["bob"], "projects": ["shop"],
                                          "components": ["payments"]})
    h.eq(r.status, 201, f"opened: {r.body[:300]!r}")
    inc = r.json()
    num = inc["number"]
    h.check(isinstance(num, int) and num >= 1, f"a number ({num})")
    h.eq((inc["state"], inc["source"], inc["severity_label"], inc["public"]), ("INVESTIGATING", "manual", "HIGH", True),
         "state, source, label, public")
    created = parse_iso(inc["created"])
    h.eq(round(parse_iso(inc["ack_deadline"]) - created), 15 * 60, "P1: acknowledge within 15 minutes")
    h.eq(inc["message"],
         "\U0001F6A8 INCIDENT: Checkout - Checkout fails\n"
         "Status: INVESTIGATING\n"
         "Severity: HIGH\n"
         "Impact: about 300 users affected\n"
         "ETA: 30 min\n"
         "Updates: Investigating.", "the communication template, rendered exactly")
    # roles: a viewer reads, cannot acknowledge; an operator can
    viewer, operator = o.create_token(role="viewer"), o.create_token(role="operator")
    o.wait_token(viewer)
    o.wait_token(operator)
    h.eq(o.get(f"/api/v1/incidents/{num}", auth=viewer).status, 200, "a viewer reads")
    h.eq(o.request("POST", f"/api/v1/incidents/{num}/ack", body={}, auth=viewer).status, 403, "a viewer cannot ack")
    r = o.request("POST", f"/api/v1/incidents/{num}/ack", body={}, auth=operator)
    h.eq(r.status, 200, "an operator acknowledges")
    h.eq(r.json()["acked_by"], "harness-operator", "who acknowledged")
    h.check(r.json()["tta_seconds"] >= 0, "time to acknowledge")
    h.eq(o.post(f"/api/v1/incidents/{num}/ack", body={}).status, 409, "acknowledged once")
    # a status update with a state
    r = o.post(f"/api/v1/incidents/{num}/updates", body={"text": "Payment provider returns 502", "state": "IDENTIFIED"})
    h.eq(r.status, 201, "update posted")
    h.eq(r.json()["state"], "IDENTIFIED", "state moved")
    h.contains(r.json()["message"], "Status: IDENTIFIED\n", "message follows the state")
    h.contains(r.json()["message"], "Updates: Payment provider returns 502", "message has the latest update")
    # PATCH: severity (a new deadline only matters unacknowledged), null clears, the postmortem
    r = o.request("PATCH", f"/api/v1/incidents/{num}", body={"severity": "P0", "eta": None,
                                                             "postmortem": {"summary": "Checkout failed for 25 min.",
                                                                            "root_cause": "Expired API key.",
                                                                            "follow_ups": [{"text": "Alert on key expiry",
                                                                                            "owner": "bob",
                                                                                            "done": False}]}})
    h.eq(r.status, 200, f"patched: {r.body[:300]!r}")
    h.eq((r.json()["severity"], r.json()["eta"]), ("P0", ""), "severity changed, eta cleared")
    for body, field in [({"severity": "P9"}, "severity"), ({"state": "DONE"}, "state"), ({"title": ""}, "title"),
                        ({"postmortem": {"follow_ups": [{"owner": "x"}]}}, "postmortem.follow_ups[0].text"),
                        ({"bogus": 1}, "bogus")]:
        r = o.request("PATCH", f"/api/v1/incidents/{num}", body=body)
        h.eq(r.status, 400, f"bad patch {body}")
        h.eq(r.json()["error"].get("field"), field, f"the field of {body}")
    r = o.post("/api/v1/incidents", body={"title": "x", "severity": "P7"})
    h.eq((r.status, r.json()["error"]["field"]), (400, "severity"), "an unknown level")
    h.contains(r.json()["error"]["message"], "P0, P1, P2, P3", "the levels named")
    h.eq(o.post("/api/v1/incidents", body={"severity": "P1"}).status, 400, "a title is required")
    # resolve, then again
    r = o.post(f"/api/v1/incidents/{num}/resolve", body={"text": "Key rotated"})
    h.eq((r.status, r.json()["state"]), (200, "RESOLVED"), "resolved")
    h.check(r.json()["ttr_seconds"] >= 0, "time to resolve")
    h.eq(o.post(f"/api/v1/incidents/{num}/resolve", body={}).status, 409, "resolved once")
    h.eq(o.post(f"/api/v1/incidents/{num}/ack", body={}).status, 409, "a resolved incident is not acknowledged")
    # the timeline: who, when, what
    tl = timeline(o, num)
    kinds = [e["kind"] for e in tl]
    h.eq(kinds, ["opened", "ack", "state", "update", "field", "field", "postmortem", "state"], "timeline kinds")
    h.eq([e["actor"] for e in tl][:2], ["harness-admin", "harness-operator"], "who")
    h.contains(tl[-1]["text"], "IDENTIFIED -> RESOLVED: Key rotated", "the resolution's text")
    h.contains(tl[4]["text"], "severity P1 -> P0", "the severity change")
    # the postmortem export holds the timeline
    r = o.get(f"/api/v1/incidents/{num}/postmortem.md")
    h.eq(r.status, 200, "postmortem export")
    md = r.body.decode()
    h.contains(r.headers.get("content-type", ""), "text/markdown", "content type")
    h.contains(md, f"# Postmortem: #{num} Checkout fails", "title")
    h.contains(md, "## Root cause\n\nExpired API key.", "root cause")
    h.contains(md, "| Time (UTC) | Who | What |", "timeline table")
    for e in tl:
        h.contains(md, e["text"].replace("|", "\\|"), "every timeline entry in the export")
    h.contains(md, "- [ ] Alert on key expiry (bob)", "follow-ups")
    h.contains(md, "- Acknowledged: ", "acknowledged line")
    # reopen by PATCH state, unknown ones
    r = o.request("PATCH", f"/api/v1/incidents/{num}", body={"state": "INVESTIGATING", "text": "It is back"})
    h.eq((r.status, r.json()["state"], r.json()["resolved_at"]), (200, "INVESTIGATING", None), "reopened")
    o.post(f"/api/v1/incidents/{num}/resolve", body={})
    for path in ["/api/v1/incidents/9999", "/api/v1/incidents/i000000000000deadbeef", "/api/v1/incidents/x",
                 "/api/v1/incidents/9999/timeline"]:
        h.eq(o.get(path).status, 404, path)
    h.eq(o.post("/api/v1/incidents/9999/ack", body={}).status, 404, "ack of an unknown incident")
    listed = o.get_json("/api/v1/incidents?state=resolved")["incidents"]
    h.check(any(i["number"] == num for i in listed), "listed as resolved")
    h.eq(o.get("/api/v1/incidents?state=bogus").status, 400, "a bad state filter")
    return num


def test_manual_lifecycle_api_and_roles():
    o = h.track(h.Opshub(h.make_config([])))
    o.start()
    lifecycle(o)
    h.assert_no_secret_in(o.log_text(), "log")
    o.stop()


def test_manual_lifecycle_postgres():
    pg = h.Postgres().start()
    try:
        o = h.track(h.Opshub(h.make_config([], storage_url=pg.url("incidents-pg-pw"))))
        o.start()
        n1 = lifecycle(o)
        r = o.post("/api/v1/incidents", body={"title": "Second", "severity": "P3"})
        h.eq(r.json()["number"], n1 + 1, "numbers from the counter on PostgreSQL")
        h.eq(o.cli("incident", "ack", str(n1 + 1)).returncode, 0, "the CLI on PostgreSQL")
        h.wait_for(lambda: incident(o, n1 + 1)["acked_at"] is not None, 5, "read back")
        # the subscribers' table on PostgreSQL: add, the same again, list, remove
        r = o.post("/api/v1/status/subscribers", body={"email": "pg@example.test"})
        h.eq(r.status, 201, f"a subscriber on PostgreSQL: {r.body[:200]!r}")
        again = o.post("/api/v1/status/subscribers", body={"email": "pg@example.test"})
        h.eq((again.status, again.json()["id"]), (200, r.json()["id"]), "the existing one again")
        h.eq([x["address"] for x in o.get_json("/api/v1/status/subscribers")["subscribers"]], ["pg@example.test"],
             "listed")
        h.eq(o.request("DELETE", f"/api/v1/status/subscribers/{r.json()['id']}").status, 204, "removed")
        o.stop()
    finally:
        pg.close()


def test_alerts_open_join_monitor_and_resolve():
    page = Page()
    page.set("ok\n")
    text = h.make_config(checks(page.port, 2), projects=PROJECTS) + RULES
    o = h.track(h.Opshub(text))
    o.start()
    page.set("down\n", code=500)
    h.wait_for(lambda: o.get_json("/api/v1/incidents?state=open")["incidents"], 15, "an incident opened")
    h.wait_for(lambda: len(o.get_json("/api/v1/incidents?state=open")["incidents"][0]["alerts"]) == 2, 15,
               "the second alert joined")
    incs = o.get_json("/api/v1/incidents?state=open")["incidents"]
    h.eq(len(incs), 1, "one incident for the group, not two")
    inc = incs[0]
    h.eq((inc["source"], inc["severity"], inc["projects"], inc["service"]), ("alert", "P1", ["shop"], "shop"),
         "from the rule and the labels")
    h.check(inc["title"] in ("ApiDown: api0", "ApiDown: api1"), f"title from the template ({inc['title']})")
    h.eq(sorted(a["labels"]["check"] for a in inc["alerts"]), ["api0", "api1"], "both alerts")
    num = inc["number"]
    m = o.metrics()
    h.eq(m.get("opshub_incidents_open", severity="P1"), 1, "open incidents by severity")
    h.eq(o.post(f"/api/v1/incidents/{num}/ack", body={}).status, 200, "acknowledged")
    page.set("ok\n")
    h.wait_for(lambda: incident(o, num)["state"] == "MONITORING", 15, "every alert resolved -> MONITORING")
    h.wait_for(lambda: incident(o, num)["state"] == "RESOLVED", 10, "quiet for 2 s -> RESOLVED")
    kinds = [e["kind"] for e in timeline(o, num)]
    h.eq(kinds.count("alert"), 4, "two alerts joined, two resolved, on the timeline")
    texts = [e["text"] for e in timeline(o, num)]
    h.check(any("every alert resolved" in t for t in texts), "why it moved to MONITORING")
    h.check(any("quiet for" in t for t in texts), "why it resolved")
    m = o.metrics()
    h.eq(m.get("opshub_incidents_open", severity="P1"), 0, "none open")
    h.eq(m.get("opshub_incident_tta_seconds_count", severity="P1"), 1, "MTTA observed")
    h.eq(m.get("opshub_incident_ttr_seconds_count", severity="P1"), 1, "MTTR observed")
    rep = o.get_json("/api/v1/reports/incidents")
    p1 = [s for s in rep["by_severity"] if s["severity"] == "P1"][0]
    h.eq((p1["count"], p1["acknowledged"], p1["resolved"]), (1, 1, 1), "report per severity")
    h.check(p1["mtta_seconds"] is not None and p1["mttr_seconds"] > 0, "MTTA and MTTR in the report")
    shop = [s for s in rep["by_project"] if s["project"] == "shop"][0]
    h.eq(shop["count"], 1, "report per project")
    # a new failure opens a new incident (the old one is resolved)
    page.set("down\n", code=500)
    h.wait_for(lambda: o.get_json("/api/v1/incidents?state=open")["incidents"], 15, "a new incident")
    h.check(o.get_json("/api/v1/incidents?state=open")["incidents"][0]["number"] != num, "not the resolved one")
    page.set("ok\n")
    o.stop()


def test_alerts_from_prometheus_open_incidents():
    """Alerts a Prometheus server sends to POST /api/v2/alerts (Alertmanager's API) open and join
    incidents by the same rules as opshub's own: a matching alert opens one, another of the same
    group joins it, a non-matching one opens nothing; endsAt in the past resolves them, and the
    incident moves to MONITORING, then RESOLVED after the quiet period."""
    text = h.make_config([]) + """
incidents:
  quiet_period: 2s
  rules:
    - match: {severity: critical}
      severity: P1
      title: '{{ $labels.alertname }} on {{ $labels.instance }}'
      group_by: [alertname]
"""
    o = h.track(h.Opshub(text))
    o.start()
    disk = lambda inst, **kw: {"labels": {"alertname": "DiskFull", "severity": "critical", "instance": inst},  # noqa: E731
                               "annotations": {"summary": f"disk full on {inst}"}, **kw}
    h.eq(o.post("/api/v2/alerts", body=[disk("db1:9100"), {"labels": {"alertname": "Slow", "severity": "warning"}}])
         .status, 200, "alerts taken")
    incs = h.wait_for(lambda: o.get_json("/api/v1/incidents?state=open")["incidents"], 10, "an incident opened")
    h.eq([(i["title"], i["severity"], i["source"]) for i in incs], [("DiskFull on db1:9100", "P1", "alert")],
         "one incident, from the critical alert only")
    num = incs[0]["number"]
    h.eq(o.post("/api/v2/alerts", body=[disk("db2:9100")]).status, 200, "a second alert")
    h.wait_for(lambda: len(incident(o, num)["alerts"]) == 2, 10, "the second alert of the group joined")
    h.eq(o.post("/api/v2/alerts", body=[disk("db1:9100")]).status, 200, "the first again (Prometheus resends)")
    time.sleep(0.5)
    h.eq(len(o.get_json("/api/v1/incidents?state=all")["incidents"]), 1, "a resent alert opens nothing new")
    past = {"endsAt": "2020-01-01T00:00:00Z"}
    h.eq(o.post("/api/v2/alerts", body=[disk("db1:9100", **past), disk("db2:9100", **past)]).status, 200, "resolved")
    h.wait_for(lambda: incident(o, num)["state"] == "MONITORING", 10, "every alert resolved -> MONITORING")
    h.wait_for(lambda: incident(o, num)["state"] == "RESOLVED", 10, "quiet period -> RESOLVED")
    h.eq([e["kind"] for e in timeline(o, num)].count("alert"), 4, "two joined, two resolved, on the timeline")
    o.stop()


def test_custom_scheme_and_missed_deadline():
    page = Page()
    page.set("ok\n")
    text = h.make_config(checks(page.port, 1), projects=PROJECTS) + """
evaluation_interval: 200ms
alerts:
  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}
incidents:
  scheme:
    - {name: Critical, ack_within: 2s, description: 'VP Eng + CTO'}
    - {name: High, ack_within: 1h}
    - {name: Medium, ack_within: 4h}
    - {name: Low, ack_within: 24h, public: false,
       template: '[{{ $incident.severity_label }}] {{ $incident.title }}: to the backlog'}
  rules:
    - {match: {severity: critical}, severity: Critical}
"""
    o = h.track(h.Opshub(text))
    o.start()
    page.set("down\n", code=500)
    h.wait_for(lambda: o.get_json("/api/v1/incidents?state=open")["incidents"], 15, "opened")
    num = o.get_json("/api/v1/incidents?state=open")["incidents"][0]["number"]
    inc = incident(o, num)
    h.eq((inc["severity"], inc["severity_label"], inc["title"]), ("Critical", "CRITICAL", "ApiDown"),
         "the custom level; the default title")
    h.wait_for(lambda: incident(o, num)["ack_missed"], 10, "the deadline passed")
    tl = timeline(o, num)
    missed = [e for e in tl if e["kind"] == "deadline_missed"]
    h.eq(len(missed), 1, "recorded once")
    h.contains(missed[0]["text"], "not acknowledged within the deadline of Critical", "what")
    rep = o.get_json("/api/v1/reports/incidents")
    crit = [s for s in rep["by_severity"] if s["severity"] == "Critical"][0]
    h.eq(crit["ack_deadlines_missed"], 1, "missed deadlines in the report")
    h.eq([s["severity"] for s in rep["by_severity"]], ["Critical", "High", "Medium", "Low"], "every level reported")
    r = o.post("/api/v1/incidents", body={"title": "x", "severity": "P1"})
    h.contains(r.json()["error"]["message"], "Critical, High, Medium, Low", "the scheme's levels")
    r = o.post("/api/v1/incidents", body={"title": "Typo on pricing page", "severity": "Low"})
    h.eq(r.json()["public"], False, "a level not shown on the status page")
    h.eq(r.json()["message"], "[LOW] Typo on pricing page: to the backlog", "the level's own template")
    h.check(inc["message"].startswith("\U0001F6A8 INCIDENT: "), "the other levels keep the scheme's template")
    page.set("ok\n")
    o.stop()


def test_cli_and_the_running_daemon():
    o = h.track(h.Opshub(h.make_config([])))
    o.start()
    r = o.cli("incident", "open", "--title", "DB failover", "--severity", "P2", "--impact", "slow pages",
              "--text", "Primary lost")
    h.eq(r.returncode, 0, f"opened: {r.stderr}")
    h.check(r.stdout.startswith("#"), f"prints the number ({r.stdout!r})")
    num = int(r.stdout.split()[0][1:])
    h.wait_for(lambda: o.get("/api/v1/incidents/%d" % num).status == 200, 5, "the API reads it")
    h.wait_for(lambda: o.metrics().get("opshub_incidents_open", severity="P2") == 1, 5,
               "the running daemon took it in (its poll)")
    h.eq(o.cli("incident", "update", str(num), "--state", "MONITORING", "--text", "Replica promoted").returncode, 0,
         "updated")
    h.eq(o.cli("incident", "ack", str(num)).returncode, 0, "acknowledged")
    h.eq(o.cli("incident", "ack", str(num)).returncode, 1, "acknowledged once")
    # at once, before the daemon's poll took the CLI's changes in: its write is made on an older
    # version, conflicts, and runs again on the stored one (no lost update)
    r = o.post(f"/api/v1/incidents/{num}/updates", body={"text": "Watching replication lag"})
    h.eq(r.status, 201, "the daemon changes it right after the CLI")
    h.eq((r.json()["state"], (r.json()["acked_by"] or "").startswith("cli:")), ("MONITORING", True),
         "nothing the CLI wrote is lost")
    h.eq(incident(o, num)["last_update"], "Watching replication lag", "and the daemon's change is there")
    r = o.cli("incident", "resolve", str(num), "--text", "Stable for an hour")
    h.eq(r.returncode, 0, "resolved")
    h.eq(o.cli("incident", "resolve", str(num)).returncode, 1, "resolved once")
    h.wait_for(lambda: incident(o, num)["state"] == "RESOLVED", 5, "resolved for the daemon too")
    r = o.cli("incident", "list", "--state", "all")
    h.contains(r.stdout, "DB failover", "listed")
    r = o.cli("incident", "show", str(num))
    for text in ["opened (P2): DB failover", "Primary lost", "INVESTIGATING -> MONITORING", "acknowledged",
                 "Watching replication lag", "MONITORING -> RESOLVED: Stable for an hour"]:
        h.contains(r.stdout, text, "the timeline in show")
    for args, code in [(["open", "--title", "x"], 2), (["open", "--title", "x", "--severity", "P9"], 2),
                       (["ack", "9999"], 1), (["ack"], 2), (["update", str(num), "--state", "DONE"], 2),
                       (["bogus"], 2)]:
        h.eq(o.cli("incident", *args).returncode, code, f"incident {' '.join(args)}")
    for action in ["incident.create", "incident.ack"]:
        rows = o.get_json(f"/api/v1/audit?action={action}")["entries"]
        h.check(any(r["actor"].startswith("cli:") for r in rows), f"audit rows of the CLI ({action})")
    o.stop()


def test_kill_9_keeps_the_incident():
    page = Page()
    page.set("ok\n")
    data = h.TempDir()
    text = h.make_config(checks(page.port, 1), projects=PROJECTS) + RULES
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    page.set("down\n", code=500)
    h.wait_for(lambda: o.get_json("/api/v1/incidents?state=open")["incidents"], 15, "opened")
    num = o.get_json("/api/v1/incidents?state=open")["incidents"][0]["number"]
    o.kill()
    o2 = h.track(h.Opshub(text, data_dir=data.path))
    o2.start()
    time.sleep(1.5)
    h.eq([i["number"] for i in o2.get_json("/api/v1/incidents?state=open")["incidents"]], [num],
         "the same incident after the restart, no second one")
    page.set("ok\n")
    h.wait_for(lambda: incident(o2, num)["state"] == "RESOLVED", 20, "its check recovered: resolved")
    h.eq(len(o2.get_json("/api/v1/incidents?state=all")["incidents"]), 1, "still one incident")
    o2.stop()


PAGING = """
evaluation_interval: 200ms
alerts:
  - {alert: ApiDown, expr: 'probe_success == 0', labels: {severity: critical}}
notify:
  channels:
    - {id: slackbot, type: slack_bot, api_url: '@REC@/slack', token: xoxb-paging-token-1, channel: C0OPS}
    - {id: pd, type: pagerduty, api_url: '@REC@/pd', routing_key: R0UTINGKEYDEFAULT0000}
    - {id: incident-hook, type: webhook, url: '@REC@/incident-hook'}
    - {id: updates, type: webhook, url: '@REC@/updates'}
    - {id: sms, type: webhook, url: '@REC@/sms'}
    - {id: mail, type: email, from: opshub@example.test, to: [ops@example.test], smtp_host: 127.0.0.1,
       smtp_port: @SMTP@, ca_file: '@CA@'}
rotations:
  - {id: ops, members: [alice], length: 1w}
escalation_policies:
  - id: primary
    steps:
      - {delay: 0s, targets: [{rotation: ops}, {channel: incident-hook}]}
      - {delay: 1h, targets: [{user: bob}]}
incidents:
  contact_channels: {email: mail, slack: slackbot, pagerduty: pd, phone: sms}
  rules:
    - {match: {severity: critical}, severity: P1, title: '{{ $labels.alertname }}: {{ $labels.check }}',
       policy: primary, channels: [updates]}
"""


def test_paging_escalation_and_signed_link():
    """The whole path on the default scheme's real times, with the test clock instead of waiting:
    a check goes down, its alert opens a P1 incident, the primary (alice, on call in the rotation)
    is paged on Slack and the incident channel gets the page; kill -9 before the deadline pages
    nobody twice; 14 minutes pass and nothing more happens; at 16 minutes the 15 min deadline has
    been missed, so the secondary (bob) is paged by e-mail through a real MTA and on PagerDuty
    (step 2 would wait an hour); bob acknowledges through the signed link of his e-mail; the
    status page shows the incident; the check recovers, MONITORING, and after the 15 min quiet
    period RESOLVED; MTTA and MTTR recorded in minutes; the postmortem export holds the whole
    timeline; an expired link is refused."""
    from test_tls import make_cert
    tmp = h.TempDir()
    cert, key = make_cert(tmp.path, "mx")
    mta = h.Exim(cert, key).start()
    rec = h.Recorder()
    page = Page()
    page.set("ok\n")
    data = h.TempDir()
    text = h.make_config(checks(page.port, 1), projects=PROJECTS,
                         extra={"server": {"base_url": "http://opshub.test"},
                                "status_page": {"title": "Shop", "components": [{"name": "API", "checks": ["api0"]}]}}) + \
        PAGING.replace("@REC@", rec.url("")).replace("@SMTP@", str(mta.port)).replace("@CA@", cert)
    smtp_env = {"SMTP_USER": "opshub", "SMTP_PASS": "smtp-secret-pw", **h.TEST_CLOCK_ENV}
    o = h.track(h.Opshub(text, data_dir=data.path, env=smtp_env))
    o.start()
    for name in ["alice", "bob"]:
        r = o.cli("user", "add", name, "--role", "operator", "--password-stdin", input="a-long-password-123\n")
        h.eq(r.returncode, 0, f"user {name}: {r.stderr}")
    h.eq(o.cli("user", "contact", "alice", "--slack", "U0ALICE01").returncode, 0, "alice's Slack member id")
    r = o.cli("user", "contact", "bob", "--email", "bob@example.test", "--pagerduty", "B0BR0UTINGKEY000000001")
    h.eq(r.returncode, 0, f"bob's contacts: {r.stderr}")
    h.check("B0BR0UTINGKEY000000001" not in r.stdout, "the routing key is never printed")
    h.eq(o.cli("user", "contact", "bob", "--phone", "12345").returncode, 2, "a bad phone number is refused")
    h.eq(o.cli("user", "contact", "bob", "--phone", "+8801712345678").returncode, 0, "bob's phone (E.164)")
    c = o.get_json("/api/v1/users/bob/contacts")
    h.eq((c["email"], c["pagerduty_set"]), ("bob@example.test", True), "contacts through the API")
    h.check("B0BR0UTINGKEY" not in json.dumps(c), "the key is not shown")
    r = o.request("PUT", "/api/v1/users/bob/contacts", body={"email": "bob@example.test", "slack": "nope",
                                                              "pagerduty": "B0BR0UTINGKEY000000001"})
    h.eq((r.status, r.json()["error"].get("field")), (400, "slack"), "a bad member id named")
    # the check goes down: the alert opens the incident, step 1 pages alice and the channel
    page.set("down\n", code=500)
    alice_pages = lambda: [m for m in rec.received("/slack") if m["json"].get("channel") == "U0ALICE01"]  # noqa: E731
    h.wait_for(alice_pages, 15, "alice paged on Slack")
    h.wait_for(lambda: rec.received("/incident-hook"), 10, "the incident channel paged")
    num = o.get_json("/api/v1/incidents?state=open")["incidents"][0]["number"]
    msg = alice_pages()[0]["json"]
    h.contains(json.dumps(msg), f"#{num} ApiDown: api0", "the page names the incident")
    hook = rec.received("/incident-hook")[0]["json"]
    h.eq((hook["opshub_page"], hook["incident"]["number"], hook["event"]), ("1", num, "trigger"), "page payload")
    h.contains(hook["ack_url"], "http://opshub.test/api/v1/ack/", "a signed link in the page")
    # kill -9 before the deadline: the restart resumes at step 2, alice is not paged again
    o.kill()
    o = h.track(h.Opshub(text, data_dir=data.path, env=smtp_env))
    o.start()
    bob_pd = lambda: [m for m in rec.received("/pd") if m["json"].get("routing_key") == "B0BR0UTINGKEY000000001"]  # noqa: E731
    h.advance_clock(o, 14 * 60, checks=["api0"])
    time.sleep(2.5)   # two ticks of the incidents layer: nothing is due yet
    h.eq((mta.messages(), bob_pd()), ([], []), "nobody else paged before the 15 min deadline")
    h.eq(incident(o, num)["ack_missed"], False, "the deadline not missed at 14 min")
    h.advance_clock(o, 2 * 60, checks=["api0"])
    h.wait_for(lambda: mta.messages() and bob_pd(), 20, "bob paged by e-mail and PagerDuty after the deadline")
    # one page (delivery) per step: the outbox may repeat a request that was in flight at the kill,
    # with the same X-Opshub-Delivery id for the receiver to drop; the step itself is not re-run
    ids = lambda msgs: {m["headers"].get("x-opshub-delivery") for m in msgs}  # noqa: E731
    h.check(None not in ids(alice_pages()) | ids(rec.received("/incident-hook")), "every page has its delivery id")
    h.eq(len(ids(alice_pages())), 1, "alice paged once for step 1, restart included")
    h.eq(len(ids(rec.received("/incident-hook"))), 1, "the channel paged once for step 1")
    ev = bob_pd()[0]["json"]
    h.eq((ev["event_action"], ev["payload"]["severity"]), ("trigger", "critical"), "a PagerDuty trigger")
    m = [x for x in mta.messages() if "bob@example.test" in str(x["To"])][0]
    body = [p.get_content() for p in m.iter_parts() if p.get_content_type() == "text/plain"][0]
    h.contains(str(m["Subject"]), f"#{num} ApiDown: api0", "the e-mail's subject")
    h.contains(body, "Status: INVESTIGATING", "the communication template in the e-mail")
    link = [w for w in body.split() if w.startswith("http://opshub.test/api/v1/ack/")][0]
    path = link[len("http://opshub.test"):]
    tl = [e["text"] for e in timeline(o, num)]
    h.check(any("not acknowledged within the deadline of P1 (15 min)" in t and "escalating" in t for t in tl),
            "the missed deadline escalated")
    h.check(any("escalation step 2 of 2: bob" in t for t in tl), "step 2 on the timeline")
    h.check(any(t.startswith("notified bob by email, phone, pagerduty") for t in tl), "where bob was notified")
    sms = h.wait_for(lambda: rec.received("/sms"), 10, "bob paged on the SMS gateway")[0]["json"]
    h.eq((sms["opshub_page"], sms["recipient"], sms["incident"]["number"]), ("1", "+8801712345678", num),
         "the phone page: the number and the incident, for an SMS or voice gateway")
    h.contains(sms["text"], "Status: INVESTIGATING", "the message for the gateway to send")
    h.contains(sms["ack_url"], "u=bob", "bob's own link")
    h.check(any(t.startswith("notified alice by slack") for t in tl), "where alice was notified")
    # the signed link: GET is a form, POST acknowledges as bob; tampering and reuse are refused
    browser = {"Accept": "text/html,application/xhtml+xml"}
    r = o.request("GET", path, auth=False, headers=browser)
    h.eq(r.status, 200, "the link's page")
    h.contains(r.body.decode(), "<form method=\"post\">", "a form, not an acknowledgement")
    h.eq(incident(o, num)["acked_at"], None, "GET acknowledged nothing")
    bad = path.replace("?u=bob", "?u=alice")
    h.eq(o.request("POST", bad, auth=False).status, 404, "the link of another person")
    h.eq(o.request("POST", path[:-3] + "xyz?u=bob", auth=False).status, 404, "a tampered token")
    h.advance_clock(o, 5 * 60, checks=["api0"])
    r = o.request("POST", path, auth=False, headers=browser)
    h.eq(r.status, 200, f"acknowledged through the link: {r.body[:200]!r}")
    h.contains(r.body.decode(), f"Incident #{num} <b>ApiDown: api0</b> is acknowledged by bob", "the answer page")
    inc = incident(o, num)
    h.eq(inc["acked_by"], "bob", "acknowledged as bob")
    r = o.request("POST", path, auth=False)
    h.eq((r.status, r.json()["error"]["code"]), (409, "conflict"), "the link works once (JSON without Accept: text/html)")
    tl = timeline(o, num)
    h.check(any(e["kind"] == "ack" and e["actor"] == "bob" and "signed link" in e["text"] for e in tl),
            "the acknowledgement on the timeline")
    rows = h.wait_for(lambda: o.get_json("/api/v1/audit?action=incident.ack_link")["entries"], 5, "audit rows")
    h.check(any("by bob" in a.get("target", "") and a["result"] == "ok" for a in rows), "the link's use is audited")
    # a status update goes to the incident's channels in the communication template
    r = o.post(f"/api/v1/incidents/{num}/updates", body={"text": "Failing over to the replica", "state": "IDENTIFIED"})
    h.eq(r.status, 201, "update posted")
    posted = lambda: [m["json"] for m in rec.received("/updates")]  # noqa: E731
    h.wait_for(lambda: any("Updates: Failing over to the replica" in p["text"] for p in posted()), 10,
               "the update on the incident's channel")
    up = [p for p in posted() if "Failing over" in p["text"]][0]
    h.contains(up["text"], "Status: IDENTIFIED\n", "the state in the message")
    h.eq(up["summary"], f"[HIGH] #{num} ApiDown: api0: IDENTIFIED", "summary line")
    h.eq(posted()[0]["incident"]["state"], "INVESTIGATING", "the opening was posted first")
    # the public status page shows it (P1 is public), with the update
    st = [i for i in o.get_json("/status.json", auth=False)["incidents"] if i["number"] == num]
    h.eq((len(st), st and st[0]["state"]), (1, "IDENTIFIED"), "the incident on the status page")
    h.eq(st[0]["updates"][0]["text"], "Failing over to the replica", "with its latest update")
    h.contains(o.get("/status", auth=False).body.decode(), "Failing over to the replica", "on the HTML page too")
    # recovery: MONITORING, then RESOLVED after the 15 min quiet period; nothing more paged
    n_pages = len(rec.received("/pd")) + len(rec.received("/slack")) + len(mta.messages())
    page.set("ok\n")
    h.wait_for(lambda: incident(o, num)["state"] == "MONITORING", 20, "MONITORING once the alert resolved")
    h.advance_clock(o, 10 * 60)
    time.sleep(2.5)
    h.eq(incident(o, num)["state"], "MONITORING", "still MONITORING within the quiet period")
    h.advance_clock(o, 6 * 60)
    h.wait_for(lambda: incident(o, num)["state"] == "RESOLVED", 10, "resolved after the quiet period")
    h.eq(len(rec.received("/pd")) + len(rec.received("/slack")) + len(mta.messages()), n_pages,
         "acknowledged: escalation stopped")
    inc = incident(o, num)
    h.check(21 * 60 <= inc["tta_seconds"] < 23 * 60, f"MTTA in minutes: {inc['tta_seconds']}")
    h.check(37 * 60 <= inc["ttr_seconds"] < 40 * 60, f"MTTR in minutes: {inc['ttr_seconds']}")
    metrics = o.get("/metrics").body.decode()
    h.contains(metrics, 'opshub_incident_tta_seconds_count{severity="P1"} 1', "MTTA on /metrics")
    h.contains(metrics, 'opshub_incident_ttr_seconds_count{severity="P1"} 1', "MTTR on /metrics")
    h.wait_for(lambda: posted()[-1]["event"] == "resolve", 10, "the resolution posted")
    h.eq([p["incident"]["state"] for p in posted()][-2:], ["MONITORING", "RESOLVED"], "each state posted")
    md = o.get(f"/api/v1/incidents/{num}/postmortem.md").body.decode()
    for e in timeline(o, num):
        h.contains(md, e["text"].replace("|", "\\|"), "the postmortem holds the timeline")
    # alice's link (step 1) has expired 24 h later
    alice_link = re.search(r"http://opshub\.test(/api/v1/ack/[^\s\"|>\\]+)", json.dumps(alice_pages()[0]["json"]))
    h.check(alice_link and "u=alice" in alice_link.group(1), "alice's page has her link")
    h.advance_clock(o, 24 * 3600, step=24 * 3600)
    r = o.request("POST", alice_link.group(1), auth=False)
    h.eq(r.status, 410, "an expired link is refused")
    for secret in ["xoxb-paging-token-1", "B0BR0UTINGKEY000000001"]:
        h.check(secret not in o.log_text(), f"{secret} not in the log")
    o.stop()


def test_one_recipients_failing_page_holds_up_nobody():
    """Pages to two people through one SMS gateway channel: the gateway refuses alice's (503,
    retried with backoff) while bob's goes through at once; each recipient's deliveries are
    ordered on their own (the outbox sends one delivery per key at a time)."""
    rec = h.Recorder()
    rec.set_answer("/sms", 503, '{"error": "try later"}', body_contains="+15550000001")
    text = h.make_config([]) + f"""
notify:
  channels:
    - {{id: sms, type: webhook, url: '{rec.url("/sms")}'}}
escalation_policies:
  - id: both
    steps:
      - {{delay: 0s, targets: [{{user: alice}}, {{user: bob}}]}}
incidents:
  scheme:
    - {{name: P1, label: HIGH, ack_within: 1h, policy: both}}
  contact_channels: {{phone: sms}}
"""
    o = h.track(h.Opshub(text))
    o.start()
    for name, phone in [("alice", "+15550000001"), ("bob", "+15550000002")]:
        h.eq(o.cli("user", "add", name, "--role", "operator", "--password-stdin",
                   input="a-long-password-123\n").returncode, 0, f"user {name}")
        h.eq(o.cli("user", "contact", name, "--phone", phone).returncode, 0, f"{name}'s phone")
    r = o.post("/api/v1/incidents", body={"title": "Queue stuck", "severity": "P1"})
    h.eq(r.status, 201, "opened")
    to = lambda number: [m for m in rec.received("/sms") if m["json"]["recipient"] == number]  # noqa: E731
    h.wait_for(lambda: to("+15550000001"), 10, "alice's page tried")
    h.wait_for(lambda: to("+15550000002"), 5, "bob's page, not held up by alice's failing one")
    h.wait_for(lambda: len(to("+15550000001")) >= 2, 10, "alice's page retried")
    h.eq([m["code"] for m in to("+15550000002")], [200], "bob's went through once")
    keys = {m["headers"]["x-opshub-dedup-key"] for m in rec.received("/sms")}
    h.eq(len(keys), 2, "a key per recipient")
    h.check(all("+1555" not in k for k in keys), "the key never holds the address")
    o.stop()


def test_status_page_shows_public_incidents():
    """The status page (HTML and JSON) shows the incidents of public levels with their status
    updates (newest first) and marks the day's uptime bar of the components they touch; a level
    that is not public stays off it; a project's page shows its project's incidents only; a
    resolved incident stays on it, also after a restart."""
    page = Page()
    page.set("ok\n")
    data = h.TempDir()
    cks = [h.http_check("api", f"http://127.0.0.1:{page.port}/", interval="1s", project="shop"),
           h.http_check("blog", f"http://127.0.0.1:{page.port}/", interval="1s", project="blog")]
    sp = {"title": "Acme", "components": [{"name": "Storefront", "checks": ["api"]},
                                           {"name": "Blog", "checks": ["blog"]}]}
    text = h.make_config(cks, projects=[{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}],
                         extra={"status_page": sp})
    o = h.track(h.Opshub(text, data_dir=data.path))
    o.start()
    r = o.post("/api/v1/incidents", body={"title": "Checkout <errors>", "severity": "P1", "projects": ["shop"],
                                          "checks": ["api"], "text": "We are looking into it"})
    num = r.json()["number"]
    o.post(f"/api/v1/incidents/{num}/updates", body={"text": "Fix deployed", "state": "MONITORING"})
    o.post("/api/v1/incidents", body={"title": "Typo in the footer", "severity": "P3", "projects": ["blog"]})
    d = o.get_json("/status.json", auth=False)
    h.eq([i["title"] for i in d["incidents"]], ["Checkout <errors>"], "only the public level")
    inc = d["incidents"][0]
    h.eq((inc["severity"], inc["state"], inc["resolved"]), ("HIGH", "MONITORING", None), "its state")
    h.eq([u["text"] for u in inc["updates"]], ["Fix deployed", "We are looking into it"], "updates, newest first")
    html = o.get("/status", auth=False).body.decode()
    h.contains(html, "<strong>Checkout &lt;errors&gt;</strong>", "the incident on the page, escaped")
    h.contains(html, "Fix deployed", "its updates")
    h.contains(html, f"incident #{num} Checkout &lt;errors&gt;", "the day's bar of the touched component")
    h.check(html.count("class=\"b-") and html.count(" incident\"") == 1, "one bar marked (Storefront, today)")
    h.eq(o.get_json("/status.json?project=blog", auth=False)["incidents"], [], "not on another project's page")
    h.eq(len(o.get_json("/status.json?project=shop", auth=False)["incidents"]), 1, "on its project's page")
    o.post(f"/api/v1/incidents/{num}/resolve", body={"text": "All good"})
    d = o.get_json("/status.json", auth=False)
    h.check(d["incidents"] and d["incidents"][0]["resolved"], "resolved, still shown")
    o.stop()
    o2 = h.track(h.Opshub(text, data_dir=data.path))
    o2.start()
    h.wait_for(lambda: o2.get_json("/status.json", auth=False)["incidents"], 5, "read back after a restart")
    h.eq(o2.get_json("/status.json", auth=False)["incidents"][0]["updates"][0]["text"], "All good",
         "with its updates")
    o2.stop()


SUBSCRIBERS = """
notify:
  channels:
    - {id: mail, type: email, from: status@example.test, to: [ops@example.test], smtp_host: 127.0.0.1,
       smtp_port: @SMTP@, ca_file: '@CA@'}
    - {id: subs-hook, type: webhook, url: '@REC@/unused'}
incidents:
  subscribers: {email: mail, webhook: subs-hook, self_service: true}
"""


def test_status_page_subscribers():
    """Subscribers of the status page: an operator adds a webhook (its URL shown as its origin only)
    and an e-mail address of another project; a visitor subscribes by e-mail, which only sends a
    signed confirmation link (GET is a form, POST subscribes, a tampered or expired link is
    refused); the updates of a public incident reach the webhook and the confirmed address with a
    signed unsubscribe link, not the other project's subscriber, and a non-public incident reaches
    nobody; after unsubscribing through the link no more e-mail comes."""
    from test_tls import make_cert
    tmp = h.TempDir()
    cert, key = make_cert(tmp.path, "mx")
    mta = h.Exim(cert, key).start()
    rec = h.Recorder()
    data = h.TempDir()
    text = h.make_config([], projects=[{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}],
                         extra={"server": {"base_url": "http://status.test"}, "status_page": {"title": "Acme"}}) + \
        SUBSCRIBERS.replace("@REC@", rec.url("")).replace("@SMTP@", str(mta.port)).replace("@CA@", cert)
    o = h.track(h.Opshub(text, data_dir=data.path, env={"SMTP_USER": "opshub", "SMTP_PASS": "smtp-secret-pw",
                                                         **h.TEST_CLOCK_ENV}))
    o.start()
    hook = rec.url("/sub?token=hook-secret-123")
    r = o.post("/api/v1/status/subscribers", body={"webhook": hook, "project": "shop"})
    h.eq(r.status, 201, f"webhook subscriber: {r.body[:200]!r}")
    h.eq(o.post("/api/v1/status/subscribers", body={"webhook": hook, "project": "shop"}).status, 200,
         "the same again is the existing one")
    r = o.post("/api/v1/status/subscribers", body={"email": "dave@example.test", "project": "blog"})
    h.eq(r.status, 201, "e-mail subscriber of another project")
    for bad, field in [({"email": "nope"}, "email"), ({"webhook": "ftp://x.test/"}, "webhook"),
                       ({"email": "a@b.test", "webhook": hook}, "webhook"), ({}, "email"),
                       ({"email": "a@b.test", "project": "ghost"}, "project")]:
        r = o.post("/api/v1/status/subscribers", body=bad)
        h.eq((r.status, r.json()["error"].get("field")), (400, field), f"refused: {bad}")
    subs = o.get_json("/api/v1/status/subscribers")["subscribers"]
    h.eq(sorted(s["kind"] for s in subs), ["email", "webhook"], "two subscribers")
    h.check("hook-secret-123" not in json.dumps(subs), "a webhook URL's token is never shown")
    # a visitor subscribes: only a confirmation is sent
    r = o.request("POST", "/api/v1/status/subscribe", body={"email": "carol@example.test"}, auth=False)
    h.eq(r.status, 202, f"subscribe: {r.body[:200]!r}")
    h.eq(len(o.get_json("/api/v1/status/subscribers")["subscribers"]), 2, "nothing stored before the confirmation")
    conf = h.wait_for(lambda: [m for m in mta.messages() if "carol@example.test" in str(m["To"])], 15,
                      "the confirmation e-mail")[0]
    h.contains(str(conf["Subject"]), "[Acme] Confirm your subscription", "its subject")
    body = conf.get_body(("plain",)).get_content()
    link = re.search(r"http://status\.test(/api/v1/status/confirm/\S+)", body).group(1)
    browser = {"Accept": "text/html"}
    r = o.request("GET", link, auth=False, headers=browser)
    h.eq(r.status, 200, "the confirmation page")
    h.contains(r.body.decode(), "<form method=\"post\">", "a form: GET subscribes nobody")
    h.eq(len(o.get_json("/api/v1/status/subscribers")["subscribers"]), 2, "GET stored nothing")
    h.eq(o.request("POST", link[:-4] + "AAAA", auth=False).status, 404, "a tampered link")
    r = o.request("POST", link, auth=False, headers=browser)
    h.eq(r.status, 200, "confirmed")
    h.contains(r.body.decode(), "<b>carol@example.test</b> gets the status page", "the answer page")
    h.eq(o.request("POST", link, auth=False).status, 200, "confirming twice changes nothing")
    h.eq(len(o.get_json("/api/v1/status/subscribers")["subscribers"]), 3, "carol subscribed once")
    # a public incident of shop: the webhook and carol get it, dave (blog) does not
    num = o.post("/api/v1/incidents", body={"title": "Checkout errors", "severity": "P1", "projects": ["shop"],
                                            "text": "We are looking into it"}).json()["number"]
    o.post("/api/v1/incidents", body={"title": "Footer typo", "severity": "P3", "projects": ["shop"]})
    carol = lambda: [m for m in mta.messages() if "carol@example.test" in str(m["To"])][1:]  # noqa: E731
    h.wait_for(lambda: carol() and rec.received("/sub"), 15, "the subscribers got the incident")
    m = carol()[0]
    h.contains(str(m["Subject"]), "[Acme] Checkout errors: INVESTIGATING", "the e-mail's subject")
    mb = m.get_body(("plain",)).get_content()
    h.contains(mb, "We are looking into it", "the update's text")
    h.contains(mb, "http://status.test/status", "the status page")
    unsub = re.search(r"Unsubscribe: http://status\.test(/api/v1/status/unsubscribe/\S+)", mb).group(1)
    w = rec.received("/sub")[0]
    h.eq(w["path"], "/sub?token=hook-secret-123", "posted to the subscriber's own URL")
    h.eq(rec.received("/unused"), [], "not to the channel's url")
    h.eq((w["json"]["incident"]["number"], w["json"]["event"]), (num, "trigger"), "the webhook's payload")
    h.contains(w["json"]["unsubscribe_url"], "/api/v1/status/unsubscribe/", "with its unsubscribe link")
    o.post(f"/api/v1/incidents/{num}/updates", body={"text": "Fix deployed", "state": "MONITORING"})
    h.wait_for(lambda: len(carol()) >= 2 and len(rec.received("/sub")) >= 2, 15, "the update reached both")
    h.contains(carol()[1].get_body(("plain",)).get_content(), "Fix deployed", "the update")
    h.eq([x for x in mta.messages() if "dave@example.test" in str(x["To"])], [], "not another project's subscriber")
    h.check(all("Footer typo" not in json.dumps(x["json"]) for x in rec.received("/sub")), "a non-public level: nobody")
    h.check(any(e["text"] == "sent to 2 subscribers of the status page" for e in timeline(o, num)), "on the timeline")
    # carol unsubscribes through the link: GET is a form, POST removes her
    r = o.request("GET", unsub, auth=False, headers=browser)
    h.contains(r.body.decode(), "<form method=\"post\">", "the unsubscribe page is a form")
    h.eq(o.request("POST", unsub[:-3] + "xyz", auth=False).status, 404, "a tampered unsubscribe link")
    h.eq(o.request("POST", unsub, auth=False, headers=browser).status, 200, "unsubscribed")
    h.eq(o.request("POST", unsub, auth=False).status, 200, "again: the same answer")
    h.eq(len(o.get_json("/api/v1/status/subscribers")["subscribers"]), 2, "carol removed")
    rows = h.wait_for(lambda: o.get_json("/api/v1/audit?action=subscription.cancel")["entries"], 5, "audited")
    h.eq(rows[0]["result"], "ok", "the unsubscribe is audited")
    o.post(f"/api/v1/incidents/{num}/resolve", body={"text": "All good"})
    h.wait_for(lambda: len(rec.received("/sub")) >= 3, 15, "the resolution reached the webhook")
    time.sleep(1)
    h.eq(len(carol()), 2, "no e-mail after unsubscribing")
    # the status page offers the form; without its script the form's post works too
    page_html = o.get("/status", auth=False).body.decode()
    h.contains(page_html, '<form class="sp-subscribe" method="post" action="/api/v1/status/subscribe">', "the form")
    r = o.request("POST", "/api/v1/status/subscribe", body="email=frank%40example.test&project=shop", auth=False,
                  headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"})
    h.eq(r.status, 202, f"the form's post: {r.body[:200]!r}")
    h.contains(r.body.decode(), "<h1>Check your inbox</h1>", "a page for the browser")
    frank = h.wait_for(lambda: [m for m in mta.messages() if "frank@example.test" in str(m["To"])], 15, "frank's link")
    h.contains(frank[0].get_body(("plain",)).get_content(), '"Acme" for shop', "the project in the confirmation")
    r = o.request("POST", "/api/v1/status/subscribe", body="email=not-an-address", auth=False,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    h.eq((r.status, r.json()["error"].get("field")), (400, "email"), "a bad address from the form")
    # an operator removes the webhook; a confirmation link expires after 48 hours
    hid = [s["id"] for s in o.get_json("/api/v1/status/subscribers")["subscribers"] if s["kind"] == "webhook"][0]
    h.eq(o.request("DELETE", f"/api/v1/status/subscribers/{hid}").status, 204, "removed")
    h.eq(o.request("DELETE", f"/api/v1/status/subscribers/{hid}").status, 404, "already gone")
    o.request("POST", "/api/v1/status/subscribe", body={"email": "erin@example.test"}, auth=False)
    erin = h.wait_for(lambda: [m for m in mta.messages() if "erin@example.test" in str(m["To"])], 15, "erin's link")
    link = re.search(r"http://status\.test(/api/v1/status/confirm/\S+)", erin[0].get_body(("plain",)).get_content()).group(1)
    h.advance_clock(o, 49 * 3600, step=49 * 3600)
    h.eq(o.request("POST", link, auth=False).status, 410, "an expired confirmation link")
    h.check("hook-secret-123" not in o.log_text(), "the webhook's token not in the log")
    o.stop()


def test_test_clock_only_when_allowed():
    """POST /api/v1/debug/clock is 404 unless OPSHUB_TEST_CLOCK=1; with it, admin only, a bad
    duration is 400 naming the field, the clock moves forward only, and the move is audited; the
    setting is refused in production and on a non-loopback listen address."""
    cfg = h.make_config([])
    with h.Opshub(cfg) as o:
        o.start()
        r = o.post("/api/v1/debug/clock", body={"advance": "15m"})
        h.eq((r.status, r.json()["error"]["code"]), (404, "not_found"), "off by default")
    with h.Opshub(cfg, env=h.TEST_CLOCK_ENV) as o:
        o.start()
        h.contains(o.log_text(), "OPSHUB_TEST_CLOCK is on", "a warning at start")
        viewer = o.create_token(role="operator", name="op")
        o.wait_token(viewer)
        r = o.request("POST", "/api/v1/debug/clock", body={"advance": "15m"},
                      headers={"Authorization": f"Bearer {viewer}"})
        h.eq(r.status, 403, "an operator cannot move the clock")
        for bad in ["-5m", "0s", "31d", "soon"]:
            r = o.post("/api/v1/debug/clock", body={"advance": bad})
            h.eq((r.status, r.json()["error"].get("field")), (400, "advance"), f"advance {bad!r}")
        before = h.now_ms()
        r = o.post("/api/v1/debug/clock", body={"advance": "2h"})
        h.eq(r.status, 200, "moved")
        h.eq(r.json()["shift_ms"], 7200000, "the total shift")
        inc = o.post("/api/v1/incidents", body={"title": "Clock test", "severity": "P2"}).json()
        created = parse_iso(inc["created"]) * 1000
        h.check(created >= before + 7200000, "new timestamps are in the moved time")
        rows = h.wait_for(lambda: o.get_json("/api/v1/audit?action=debug.clock")["entries"], 5, "audited")
        h.eq(rows[0]["result"], "ok", "the move is audited")
    for env in [{"OPSHUB_TEST_CLOCK": "1", "OPSHUB_ENV": "production", "JWT_SECRET": "j" * 40,
                 "ENCRYPTION_KEY_BASE64": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="}]:
        with h.Opshub(cfg, env=env, auth=False) as o:
            o.start(wait=False)
            h.eq(o.wait_exit(15), 2, "refused in production")
            h.contains(o.log_text(), "OPSHUB_TEST_CLOCK=1 is refused", "names the variable")
    with h.Opshub(cfg, env=h.TEST_CLOCK_ENV, auth=False) as o:
        p = subprocess.run([h.OPSHUB_BIN, "serve", "--config", o.config_path, "--data", o.data_dir,
                            "--listen", "0.0.0.0:1"], capture_output=True, text=True, timeout=20,
                           env=h.opshub_env(h.TEST_CLOCK_ENV))
        h.eq(p.returncode, 2, "refused on a non-loopback address")
        h.contains(p.stderr, "OPSHUB_TEST_CLOCK=1 is refused unless opshub listens on a loopback", "message")


def test_config_errors():
    bad = h.make_config([]) + """
escalation_policies:
  - {id: primary, steps: [{targets: [{user: cto}]}]}
incidents:
  scheme:
    - {name: Critical, ack_within: 15m, policy: nowhere}
    - {name: 'bad name'}
  rules:
    - {match: {severity: critical}, severity: P1, title: '{{ $nope }}'}
    - {severity: Critical, channels: [ghost]}
    - {severity: Critical, channels: phantom}
  quiet_period: forever
  template: '{{ $incident.title'
"""
    tmp = h.TempDir()
    path = tmp.join("bad.yaml")
    with open(path, "w") as f:
        f.write(bad)
    r = h.run_cli(["config", "check", "-c", path])
    h.eq(r.returncode, 2, "refused")
    errs = h.config_errors(r.stderr, path)
    text = "\n".join(m for _, _, m in errs)
    for want in ["no escalation policy has the id 'nowhere'", "a level's name is 1 to 32",
                 "'P1' is no level of the scheme (Critical, bad name)", "no channel has the id 'ghost'",
                 "no channel has the id 'phantom'",
                 "bad duration 'forever'"]:
        h.contains(text, want, "config error")
    h.eq(len(errs), len([ln for ln in r.stderr.splitlines() if ln.strip()]), "every error names FILE:LINE:COL")
    # the templates are checked after the load, at their place
    bad2 = h.make_config([]) + """
incidents:
  rules:
    - {match: {severity: critical}, severity: P1, title: '{{ $nope }}'}
  template: '{{ $incident.title'
  scheme:
    - {name: P1, template: '{{ $nope }}'}
"""
    path2 = tmp.join("bad2.yaml")
    with open(path2, "w") as f:
        f.write(bad2)
    r = h.run_cli(["config", "check", "-c", path2])
    h.eq(r.returncode, 2, "bad templates refused")
    errs = h.config_errors(r.stderr, path2)
    lines = bad2.splitlines()
    h.eq([ln for ln, _, _ in errs], [lines.index("    - {match: {severity: critical}, severity: P1, title: '{{ $nope }}'}") + 1,
                                   lines.index("  template: '{{ $incident.title'") + 1,
                                   lines.index("    - {name: P1, template: '{{ $nope }}'}") + 1],
         "each at its line")
    h.contains(errs[2][2], "the template of level P1", "names the level")
    h.contains(errs[0][2], 'undefined variable or field "$nope"', "names the variable")
    # subscribers: channels of the right type; self_service needs e-mail
    for sub, want in [("{email: ghost}", "no channel has the id 'ghost'"),
                      ("{email: hook}", "'hook' is a webhook channel; email subscribers need an email channel"),
                      ("{webhook: hook, self_service: true}", "self_service needs subscribers.email")]:
        bad3 = h.make_config([]) + f"""
notify:
  channels:
    - {{id: hook, type: webhook, url: 'http://127.0.0.1:9/'}}
incidents:
  subscribers: {sub}
"""
        path3 = tmp.join("bad3.yaml")
        with open(path3, "w") as f:
            f.write(bad3)
        r = h.run_cli(["config", "check", "-c", path3])
        h.eq(r.returncode, 2, f"refused: {sub}")
        errs = h.config_errors(r.stderr, path3)
        h.eq(len(errs), 1, f"one error for {sub}: {r.stderr}")
        h.contains(errs[0][2], want, "the error")
        h.eq(errs[0][0], bad3.splitlines().index(f"  subscribers: {sub}") + 1, "at its line")


if __name__ == "__main__":
    h.run(h.collect(globals()))
