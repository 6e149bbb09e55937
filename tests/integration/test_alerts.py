"""
Integration tests of the alert and recording rules (docs/alerts.md) through the real binary:
- the shorthand (check + when + for + severity) and PromQL rules in `alerts:`, and a Prometheus
  rule file from `rule_files:` (recording and alerting rules) are loaded and evaluated;
- a real check going down: pending, then firing after `for`; `for: 0s` fires at once; the
  labels are the series' without __name__, plus the rule's and alertname; ALERTS and
  ALERTS_FOR_STATE as Prometheus writes them; recovery resolves (and ALERTS ends at once);
  keep_firing_for keeps an alert firing after its condition ends;
- a reload with the same rules keeps the alerts' state (same activeAt);
- /api/v1/rules and /api/v1/alerts in Prometheus' shapes; transitions on the event bus and in
  the log;
- every bad rule is refused at load with FILE:LINE:COL, by `config check` and by
  `opshub rules check` (promtool's exit codes).
"""
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

RULES = """groups:
  - name: availability
    interval: 300ms
    rules:
      - record: project:probe_success:avg
        expr: avg by (project) (probe_success)
      - alert: AnyDown
        expr: probe_success == 0
        for: 0s
        labels: {severity: warning, team: web}
        annotations:
          summary: "{{ $labels.check }} in {{ $labels.project }} is down"
          value: '{{ $value | humanize }} {{ if eq $labels.severity "warning" }}(warn){{ end }}'
      - alert: StillBad
        expr: probe_success{check="api"} == 0
        keep_firing_for: 4s
"""


def config(port, rules_path):
    return h.make_config(
        [h.http_check("api", f"http://127.0.0.1:{port}/", interval="200ms", timeout="150ms", project="shop")],
        projects=[{"id": "shop", "name": "Shop"}]) + (
        "evaluation_interval: 200ms\n"
        "alerts:\n"
        "  - {alert: ApiDown, check: api, when: down, for: 1500ms, severity: critical,\n"
        "     annotations: {runbook: 'https://runbooks.example/api-down',\n"
        "                   summary: 'status {{ $value }} for {{ humanizeDuration 90 }}'}}\n"
        "  - alert: ApiSlow\n"
        "    expr: probe_duration_seconds{check=\"api\"} > 10\n"
        "    for: 5m\n"
        f"rule_files: ['{rules_path}']\n")


def alerts(o):
    r = o.get_json("/api/v1/alerts")
    h.eq(r["status"], "success", "alerts status")
    return {a["labels"]["alertname"]: a for a in r["data"]["alerts"]}


def query(o, q):
    r = o.get_json("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    return {tuple(sorted(s["metric"].items())): s["value"][1] for s in r["data"]["result"]}


def start():
    page = Page()
    page.set("ok\n")
    tmp = h.TempDir("opshub-rules-")
    path = tmp.join("rules.yml")
    with open(path, "w") as f:
        f.write(RULES)
    o = h.track(h.Opshub(config(page.port, path)))
    o.start()
    return page, o, path


def test_alerts_fire_and_resolve():
    page, o, path = start()
    h.wait_for(lambda: all(r["health"] == "ok" for g in o.get_json("/api/v1/rules")["data"]["groups"]
                           for r in g["rules"]), 10, "every rule evaluated")
    rules = o.get_json("/api/v1/rules")["data"]["groups"]
    h.eq([g["name"] for g in rules], ["opshub", "availability"], "groups")
    h.eq(rules[1]["file"], path, "the group's file")
    h.eq(rules[1]["interval"], 0.3, "the group's interval")
    h.eq([(r["name"], r["type"]) for r in rules[1]["rules"]],
         [("project:probe_success:avg", "recording"), ("AnyDown", "alerting"), ("StillBad", "alerting")], "rules")
    h.eq(rules[0]["rules"][0]["query"], 'opshub_check_status{check="api"} == 2', "the shorthand's query")
    h.eq(rules[0]["rules"][0]["duration"], 1.5, "for")
    h.eq(rules[0]["rules"][0]["labels"], {"severity": "critical"}, "severity as a label")
    h.eq(alerts(o), {}, "no alert while up")
    want = {(("__name__", "project:probe_success:avg"), ("project", "shop")): "1"}
    h.wait_for(lambda: query(o, "project:probe_success:avg") == want, 10, "the recording rule's series")
    t_down = time.time()
    page.set("broken\n", code=500)
    h.wait_for(lambda: "AnyDown" in alerts(o), 10, "AnyDown (for 0s)")
    a = alerts(o)
    h.eq(a["AnyDown"]["state"], "firing", "for: 0s fires at once")
    h.eq(a["AnyDown"]["labels"], {"alertname": "AnyDown", "check": "api", "project": "shop", "type": "http",
                                  "severity": "warning", "team": "web"}, "alert labels")
    h.eq(a["AnyDown"]["annotations"], {"summary": "api in shop is down", "value": "0 (warn)"},
         "annotations expanded with $labels and $value")
    h.eq(a["AnyDown"]["value"], "0", "value")
    h.wait_for(lambda: "ApiDown" in alerts(o), 10, "ApiDown pending")
    h.eq(alerts(o)["ApiDown"]["state"], "pending", "ApiDown waits for its for: 1500ms")
    h.wait_for(lambda: alerts(o)["ApiDown"]["state"] == "firing", 10, "ApiDown firing")
    fired = time.time()
    ad = alerts(o)["ApiDown"]
    h.check(fired - t_down >= 1.5, f"ApiDown fired {fired - t_down:.2f}s after the check went down (for 1500ms)")
    h.eq(ad["labels"]["severity"], "critical", "the shorthand's severity")
    h.eq(ad["annotations"]["runbook"], "https://runbooks.example/api-down", "runbook annotation")
    h.eq(ad["annotations"]["summary"], "status 2 for 1m 30s", "a templated annotation of the shorthand")
    h.eq(ad["value"], "2", "status down")
    h.eq(list(query(o, 'ALERTS{alertname="ApiDown"}').items()),
         [((("__name__", "ALERTS"), ("alertname", "ApiDown"), ("alertstate", "firing"), ("check", "api"),
            ("project", "shop"), ("severity", "critical"), ("type", "http")), "1")],
         "ALERTS firing, and the pending series ended")
    active = query(o, 'ALERTS_FOR_STATE{alertname="ApiDown"}')
    h.eq(len(active), 1, "ALERTS_FOR_STATE")
    # a reload with the same rules keeps the state
    since = ad["activeAt"]
    o.reload()
    h.wait_for(lambda: "config reloaded" in o.log_text(), 10, "the reload")
    time.sleep(0.5)
    h.eq(alerts(o)["ApiDown"]["activeAt"], since, "activeAt after a reload")
    h.eq(alerts(o)["ApiDown"]["state"], "firing", "state after a reload")
    # recovery: resolved; StillBad keeps firing for 4 s
    page.set("ok\n")
    h.wait_for(lambda: "AnyDown" not in alerts(o) and "ApiDown" not in alerts(o), 10, "recovery")
    h.eq(alerts(o).get("StillBad", {}).get("state"), "firing", "keep_firing_for holds StillBad")
    h.eq(query(o, 'ALERTS{alertname="ApiDown"}'), {}, "ALERTS ends at once")
    h.wait_for(lambda: "StillBad" not in alerts(o), 10, "StillBad resolved after keep_firing_for")
    m = o.metrics()
    h.check(m.get("opshub_events_published_total", kind="alert") >= 6, "alert transitions on the bus")
    h.check(m.get("opshub_rule_evaluations_total") > 20, "evaluations counted")
    h.eq(m.get("opshub_alerts", state="firing"), 0, "no firing alert left")
    log = o.log_text()
    for want in ('"alert":"ApiDown"', '"to":"pending"', '"to":"firing"', '"to":"resolved"'):
        h.contains(log, want, "the alert log lines")
    h.eq([r["name"] for g in o.get_json("/api/v1/rules?type=record")["data"]["groups"] for r in g["rules"]],
         ["project:probe_success:avg"], "?type=record")
    h.eq(o.get("/api/v1/rules?type=nope").status, 400, "a bad type")
    o.stop()


BAD_CONFIG = """checks:
  - {id: api, type: http, url: 'http://127.0.0.1:9/'}
alerts:
  - {alert: NoExpr}
  - {alert: Both, expr: up, check: api, when: down}
  - {alert: BadWhen, check: api, when: sideways}
  - {alert: BadLabel, expr: up, labels: {1bad: x}}
  - {alert: Typo, expr: up, fro: 5m}
"""

# Expressions are checked once the rest of the file is valid.
BAD_EXPRS = """checks:
  - {id: api, type: http, url: 'http://127.0.0.1:9/'}
alerts:
  - alert: Broken
    expr: rate(http_requests_total[5m]
  - {alert: Matrix, expr: 'up[5m]'}
  - {alert: Fine, expr: up == 0}
  - {alert: BadTemplate, expr: up == 0, annotations: {summary: "{{ $nope }}"}}
"""

BAD_RULES = """groups:
  - name: g
    rules:
      - record: "bad name"
        expr: up
      - record: ok:rule
        expr: up
        for: 5m
      - alert: A
        record: B
        expr: up
  - name: g
    limit: 10
    rules: []
typo: 1
"""


def test_bad_rules_are_refused_with_their_place():
    tmp = h.TempDir("opshub-badrules-")
    main = tmp.join("opshub.yaml")
    with open(main, "w") as f:
        f.write(BAD_CONFIG)
    r = h.run_cli(["config", "check", "--config", main])
    h.eq(r.returncode, 2, f"config check exit: {r.stderr}")
    for want in (f"{main}:4:5: an alert needs expr (PromQL), or check and when",
                 f"{main}:5:19: give either expr (PromQL) or check and when",
                 f"{main}:6:40: unknown when 'sideways'",
                 f"{main}:7:42: bad name '1bad': a label name starts with a letter or _",
                 f"{main}:8:29: unknown key 'fro' (did you mean 'for'?)"):
        h.contains(r.stderr, want, "config check errors")
    with open(main, "w") as f:
        f.write(BAD_EXPRS)
    r = h.run_cli(["config", "check", "--config", main])
    h.eq(r.returncode, 2, f"config check exit: {r.stderr}")
    for want in (f"{main}:5:11: expr: unexpected end of input, expected \",\" or \")\" (at character 29 of the "
                 "expression)",
                 f"{main}:6:27: expr: a rule's expression must be an instant vector or a scalar, got range vector",
                 f"{main}:8:5: annotations.summary: template: undefined variable or field \"$nope\" (known: $value, "
                 "$labels, $externalLabels) (at character 4 of the template)"):
        h.contains(r.stderr, want, "config check errors of expressions")
    h.eq(len(r.stderr.strip().splitlines()), 3, f"three errors: {r.stderr}")
    rules = tmp.join("bad.yml")
    with open(rules, "w") as f:
        f.write(BAD_RULES)
    good = tmp.join("good.yml")
    with open(good, "w") as f:
        f.write(RULES)
    r = h.run_cli(["rules", "check", good, rules])
    h.eq(r.returncode, 1, f"rules check exit: {r.stdout} {r.stderr}")
    h.contains(r.stdout, f"Checking {good}\n  SUCCESS: 3 rules found", "the good file")
    h.contains(r.stdout, f"Checking {rules}\n  FAILED:", "the bad file")
    for want in (f"{rules}:4:17: invalid recording rule name 'bad name'",
                 f"{rules}:8:9: 'for' is for alerting rules only",
                 f"{rules}:10:9: a rule is either an alert or a record",
                 f"{rules}:12:11: {rules}: group name 'g' is used twice",
                 f"{rules}:13:5: 'limit' is not supported by opshub",
                 f"{rules}:15:1: unknown key 'typo'"):
        h.contains(r.stderr, want, "rules check errors")
    exprs = tmp.join("exprs.yml")
    with open(exprs, "w") as f:
        f.write("groups:\n  - name: g\n    rules:\n      - alert: Unsupported\n        expr: up @ 100\n"
                "      - record: r:x\n        expr: |\n          sum(rate(x[5m])\n")
    r = h.run_cli(["rules", "check", exprs])
    h.eq(r.returncode, 1, "rules check of bad expressions")
    h.contains(r.stderr, f"{exprs}:5:15: expr: the @ modifier is not supported by opshub (at character 4 of the "
               "expression)", "the @ modifier")
    h.contains(r.stderr, f"{exprs}:7:15: expr: unexpected end of input", "an unclosed call in a block scalar")
    h.eq(h.run_cli(["rules", "check", good]).returncode, 0, "a good file alone")
    h.eq(h.run_cli(["rules", "check", tmp.join("missing.yml")]).returncode, 1, "a missing file")
    h.eq(h.run_cli(["rules"]).returncode, 2, "usage")
    # the daemon refuses to start on them, and a reload to them keeps the running rules
    with open(main, "w") as f:
        f.write(h.make_config([]) + f"rule_files: ['{rules}']\n")
    o = h.track(h.Opshub(None))
    o.write_config(open(main).read())
    try:
        o.start(timeout=5)
        started = True
    except AssertionError:
        started = False
    h.check(not started, "opshub started on bad rule files")


if __name__ == "__main__":
    h.run(h.collect(globals()))
