"""
Integration tests of durable alert state (docs/alerts.md, "Alert history and restarts"), on
SQLite and on a real PostgreSQL:
- every transition (inactive -> pending -> firing -> resolved) is in GET /api/v1/alerts/history
  with its labels, annotations, value and activeAt, newest first, filtered by from/to/limit;
- after kill -9 and a start, an alert that was firing keeps firing with the same activeAt and is
  never seen pending again (its `for` is not started over), and a rule over a range
  (count_over_time over the last minute) sees the samples stored before the restart;
- an alert whose rule is gone ends: at a reload (resolved on the spot) and at a start with a
  configuration without its rule;
- bad parameters answer 400 naming the parameter;
- PostgreSQL stopped: the history answers 503, a transition waits in the queue and is written
  once the database is back, nothing dropped.
"""
# ctest: COST 20
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_query_api import Page  # noqa: E402

PASSWORD = "alert-history-pw"


def config(port, storage_url, with_gone=True, with_removed=True):
    text = h.make_config(
        [h.http_check("api", f"http://127.0.0.1:{port}/", interval="200ms", timeout="150ms", project="shop")],
        projects=[{"id": "shop", "name": "Shop"}], storage_url=storage_url) + (
        "evaluation_interval: 200ms\n"
        "alerts:\n"
        "  - {alert: ApiDown, check: api, when: down, for: 4s, severity: critical,\n"
        "     annotations: {summary: 'api is down ({{ $value }})'}}\n"
        "  - alert: ManySamples\n"
        "    expr: count_over_time(probe_success{check=\"api\"}[1m]) > 25\n")
    if with_gone:
        text += "  - {alert: Gone, expr: 'probe_success{check=\"api\"} == 0'}\n"
    if with_removed:
        text += "  - {alert: RemovedOnReload, expr: 'probe_success{check=\"api\"} == 0'}\n"
    return text


def alerts(o):
    return {a["labels"]["alertname"]: a for a in o.get_json("/api/v1/alerts")["data"]["alerts"]}


def history(o, **params):
    q = urllib.parse.urlencode(params)
    r = o.get_json("/api/v1/alerts/history" + ("?" + q if q else ""))
    h.eq(r["status"], "success", "history status")
    return r["data"]["transitions"]


def of(ts, name):
    return [(t["previous"], t["state"]) for t in reversed(ts) if t["alertname"] == name]


def run(storage_url, pg=None):
    page = Page()
    page.set("ok\n")
    o = h.track(h.Opshub(config(page.port, storage_url)))
    o.start()
    h.eq(history(o), [], "no history yet")
    page.set("broken\n", code=500)
    h.wait_for(lambda: alerts(o).get("ApiDown", {}).get("state") == "firing", 15, "ApiDown firing")
    h.wait_for(lambda: "ManySamples" in alerts(o), 15, "ManySamples (more than 25 samples in a minute)")
    before = alerts(o)["ApiDown"]
    h.wait_for(lambda: ("pending", "firing") in of(history(o), "ApiDown"), 10, "the firing transition stored")
    ts = history(o)
    h.eq(of(ts, "ApiDown"), [("inactive", "pending"), ("pending", "firing")], "ApiDown's transitions in order")
    fired = [t for t in ts if t["alertname"] == "ApiDown" and t["state"] == "firing"][0]
    h.eq(fired["labels"], {"alertname": "ApiDown", "check": "api", "project": "shop", "type": "http",
                           "severity": "critical"}, "labels of the transition")
    h.eq(fired["annotations"], {"summary": "api is down (2)"}, "annotations of the transition")
    h.eq(fired["value"], "2", "value of the transition")
    h.eq(fired["group"], "opshub", "group")
    h.eq(fired["activeAt"], before["activeAt"], "activeAt of the transition is the alert's")
    h.check(fired["at"] >= fired["activeAt"], "fired after it became active")
    h.eq(of(ts, "Gone"), [("inactive", "firing")], "for: 0s fires at once")
    h.check([t["at"] for t in ts] == sorted([t["at"] for t in ts], reverse=True), "newest first")
    h.eq(len(history(o, limit=1)), 1, "limit")
    h.eq(history(o, to="1000000000"), [], "nothing before 2001")
    h.eq(len(history(o, **{"from": str(int(time.time()) - 3600)})), len(history(o)), "from an hour ago: all")
    for q, param in (("limit=0", "limit"), ("limit=x", "limit"), ("from=yesterday", "from"),
                     ("from=2000000000&to=1000000000", "from")):
        r = o.get("/api/v1/alerts/history?" + q)
        h.eq(r.status, 400, f"?{q}")
        h.eq(r.json()["error"]["field"], param, f"?{q} names the parameter")

    # a reload without a rule ends its alert at once
    o.reload(config(page.port, storage_url, with_removed=False))
    h.wait_for(lambda: ("firing", "resolved") in of(history(o), "RemovedOnReload"), 10,
               "RemovedOnReload resolved by the reload")
    h.check("RemovedOnReload" not in alerts(o), "gone from the active alerts")

    # kill -9, then start: ApiDown keeps firing with its activeAt, never pending again
    h.wait_for(lambda: o.metrics().get("opshub_alert_transitions_queued") == 0, 10, "nothing left to write")
    o.kill()
    o.write_config(config(page.port, storage_url, with_removed=False, with_gone=False))
    started = time.time()
    o.start()
    seen = []
    deadline = time.time() + 3
    evaluated = False
    while time.time() < deadline and not evaluated:
        # three evaluations of both rules since the start (the restored alerts show before the first)
        evaluated = (o.metrics().get("opshub_rule_evaluations_total") or 0) >= 6
        a = alerts(o)
        if "ApiDown" in a:
            seen.append(a["ApiDown"]["state"])
        time.sleep(0.05)
    h.check(evaluated, "the rules evaluated after the start")
    h.check(seen and "pending" not in seen, f"ApiDown never pending after the restart (seen {seen[:5]})")
    a = alerts(o)
    h.eq(a.get("ApiDown", {}).get("state"), "firing",
         f"ApiDown firing {time.time() - started:.1f}s after the start, within its for: 4s")
    h.eq(a["ApiDown"]["activeAt"], before["activeAt"], "activeAt carried over the restart")
    h.check("ManySamples" in a, "count_over_time sees the samples stored before the restart")
    m = o.metrics()
    h.eq(m.get("opshub_alerts_restored_total"), 2, "ApiDown and ManySamples restored")
    h.wait_for(lambda: ("firing", "resolved") in of(history(o), "Gone"), 10,
               "Gone (its rule left the configuration) resolved at the start")
    h.eq(of(history(o), "ApiDown"), [("inactive", "pending"), ("pending", "firing")],
         "no new transition of ApiDown over the restart")

    # recovery resolves, and it is stored
    page.set("ok\n")
    h.wait_for(lambda: ("firing", "resolved") in of(history(o), "ApiDown"), 15, "ApiDown resolved and stored")
    h.eq(alerts(o).get("ApiDown"), None, "no ApiDown left")
    h.check(o.metrics().get("opshub_alert_transitions_written_total") >= 2, "written counted")
    if pg:
        # the database goes away: transitions wait in the queue and are written when it is back
        pg.stop("fast")
        h.wait_for(lambda: o.get("/api/v1/alerts/history").status == 503, 10, "history 503 without the database")
        page.set("broken\n", code=500)
        h.wait_for(lambda: "ApiDown" in alerts(o), 10, "ApiDown pending during the outage")
        h.wait_for(lambda: o.metrics().get("opshub_alert_transitions_queued") >= 1, 10, "the transition queued")
        pg.start(port=pg.port)
        h.wait_for(lambda: o.get("/api/v1/alerts/history").status == 200
                   and of(history(o), "ApiDown").count(("inactive", "pending")) == 2, 20,
                   "the queued transition written once the database is back")
        h.eq(o.metrics().get("opshub_alert_transitions_queued"), 0, "nothing left in the queue")
        h.eq(o.metrics().get("opshub_alert_transitions_dropped_total"), 0, "nothing dropped")
        page.set("ok\n")
        h.wait_for(lambda: "ApiDown" not in alerts(o) and o.metrics().get("opshub_alert_transitions_queued") == 0,
                   10, "ApiDown ended and stored")
    o.stop()
    # a clean stop: a start restores what is still active (ManySamples), not the resolved ApiDown
    o.start()
    h.wait_for(lambda: "ManySamples" in alerts(o), 5, "ManySamples again")
    h.eq(o.metrics().get("opshub_alerts_restored_total"), 1, "only ManySamples restored after the recovery")
    o.stop()


def test_alert_history_sqlite():
    run(None)


def test_alert_history_postgres():
    pg = h.Postgres().start()
    try:
        run(pg.url(PASSWORD), pg)
    finally:
        pg.stop("fast")


if __name__ == "__main__":
    h.run(h.collect(globals()))
