"""
Integration tests of pausing and resuming checks (POST /api/v1/checks/{id}/pause|resume) through
the real binary: the operator role, no runs while paused (samples stop, run-now and heartbeat
pings refused), the pause outliving a restart and a reload, resume starting the check over, the
audit rows, and the live stream's status events.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_events import Sse  # noqa: E402

ENV = {}


def checks(t):
    return [h.http_check("web", t.url("/ok"), interval="200ms", timeout="150ms"),
            {"id": "beat", "type": "heartbeat", "period": "1h", "grace": "1h"}]


def setup():
    ENV["t"] = t = h.Target()
    ENV["o"] = o = h.Opshub(h.make_config(checks(t)))
    o.start()
    ENV["viewer"] = o.create_token(role="viewer")
    ENV["operator"] = o.create_token(role="operator")
    o.wait_token(ENV["operator"])
    o.wait_status("web", "up")


def teardown():
    ENV["o"].stop()


def last_ts(cid):
    """When the scheduler's last sample of cid was taken (0: none)."""
    ls = ENV["o"].check_json(cid)["last_sample"]
    return ls["ts_ms"] if ls else 0


def act(cid, what, token=None, expect=200):
    r = ENV["o"].post(f"/api/v1/checks/{cid}/{what}", auth=token or ENV["operator"])
    h.eq(r.status, expect, f"{what} {cid} ({r.body[:200]!r})")
    return r.json() if r.body else None


def test_viewer_cannot_pause_and_unknown_check_is_404():
    act("web", "pause", token=ENV["viewer"], expect=403)
    h.eq(ENV["o"].check_json("web")["status"], "up", "nothing changed")
    act("nope", "pause", expect=404)
    act("nope", "resume", expect=404)


def test_paused_check_does_not_run_and_the_stream_says_so():
    o = ENV["o"]
    s = Sse(o.cur_port, "/api/v1/events?check=web", token=ENV["viewer"])
    try:
        s.next()
        c = act("web", "pause")
        h.eq((c["status"], c["paused"]), ("paused", True), "answer")
        ev, _ = s.until(lambda e: e["event"] == "status", what="the pause on the stream")
        h.eq((ev["json"]["previous"], ev["json"]["status"]), ("up", "paused"), "status event")
    finally:
        s.close()
    h.eq(act("web", "pause")["status"], "paused", "pausing again changes nothing")
    n = last_ts("web")
    time.sleep(1.0)  # five intervals
    h.eq(last_ts("web"), n, "no samples while paused")
    r = o.post("/api/v1/checks/web/run")
    h.eq(r.status, 409, "run now refused")
    h.contains(r.json()["error"]["message"], "paused", "says why")
    c = o.check_json("web")
    h.eq((c["status"], c["paused"]), ("paused", True), "GET shows it")


def test_a_paused_heartbeat_refuses_pings():
    o = ENV["o"]
    act("beat", "pause")
    r = o.post("/ping/beat", auth=False)
    h.eq(r.status, 409, "ping of a paused heartbeat")
    act("beat", "resume")
    h.eq(o.post("/ping/beat", auth=False).status, 200, "ping after resume")


def test_the_pause_outlives_a_restart_and_a_reload():
    o = ENV["o"]
    o.stop()
    o.start()
    h.wait_for(lambda: o.check_json("web")["paused"], 10, "pause restored after the restart")
    h.eq(o.check_json("web")["status"], "paused", "status after restart")
    n = last_ts("web")
    o.reload(h.make_config(checks(ENV["t"])) + "\n# reloaded\n")
    time.sleep(1.0)
    h.eq(last_ts("web"), n, "still no samples after restart and reload")
    h.eq(o.check_json("web")["status"], "paused", "status after reload")


def test_resume_starts_the_check_over():
    o = ENV["o"]
    n = last_ts("web")
    c = act("web", "resume")
    h.eq(c["paused"], False, "no longer paused")
    h.check(c["status"] in ("unknown", "up"), f"starts over: {c['status']}")
    o.wait_status("web", "up")
    h.wait_for(lambda: last_ts("web") > n, 10, "samples again")
    entries = o.get_json("/api/v1/audit?action=check.pause&limit=100")["entries"]
    h.check(any(e["target"] == "web" and e["result"] == "ok" for e in entries), f"audit of the pause: {entries}")
    entries = o.get_json("/api/v1/audit?action=check.resume&limit=100")["entries"]
    h.check(any(e["target"] == "web" for e in entries), "audit of the resume")
    o.stop()
    o.start()
    o.wait_status("web", "up")
    h.eq(o.check_json("web")["paused"], False, "a resume outlives a restart too")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=60)
