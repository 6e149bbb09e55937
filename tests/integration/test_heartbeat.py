"""
Integration tests of the heartbeat check type with the real binary: pings keep a check up,
silence past period + grace makes it down, /fail and runs that are too slow or too fast make
it down, a wrong token is a 404 that changes nothing, the token shows in no log and no API
answer, the last ping survives a restart, pings are rate limited, and bad settings are
FILE:LINE:COL errors.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
TOKEN = h.secret("hb-t0ken-" + os.urandom(8).hex())


def hb(cid, period="1m", grace="1m", **kw):
    c = {"id": cid, "type": "heartbeat", "period": period, "grace": grace}
    c.update(kw)
    return c


def setup():
    checks = [
        hb("beat", period="1s", grace="1s"),
        hb("failing", token=TOKEN),
        hb("slow", max_runtime="1s"),
        hb("fast", min_runtime="5s"),
        hb("guarded", token=TOKEN),
        hb("reboot", period="3s", grace="1s"),
        h.http_check("web", "http://127.0.0.1:1/", interval="1m"),
    ]
    o = ENV["o"] = h.track(h.Opshub(h.make_config(checks)))
    o.start()


def O():
    return ENV["o"]


def ping(path, headers=None, method="POST"):
    return O().request(method, path, headers=headers, auth=False)


def status(cid):
    return O().check_json(cid)["status"]


def test_pings_keep_it_up_and_silence_makes_it_down():
    o = O()
    h.eq(status("beat"), "unknown", "status before the first ping")
    for i in range(6):  # 3 s of pings every 0.5 s: the 2 s deadline never passes
        r = ping("/ping/beat", method="GET" if i % 2 else "POST")
        last = h.now_ms()
        h.eq(r.status, 200, f"ping {i}: {r.text}")
        h.eq(r.json(), {"ok": True, "check": "beat", "event": "success", "status": "up"}, "ping answer")
        time.sleep(0.5)
        h.eq(status("beat"), "up", f"status while pinged ({i})")
    o.wait_status("beat", "down", timeout=5)
    down_at = h.now_ms()
    # period 1s + grace 1s after the last ping, not sooner
    h.check(down_at - last >= 1900, f"down {down_at - last} ms after the last ping: before period + grace")
    s = o.check_json("beat")["last_sample"]
    h.contains(s["error"], "no ping for", "error of the expiry")
    h.check(s["values"]["since_last_ping_seconds"] >= 1.9, f"since_last_ping_seconds {s['values']}")
    h.eq(ping("/ping/beat").status, 200, "ping after down")
    h.eq(status("beat"), "up", "a ping brings it back up")


def test_fail_makes_it_down():
    r = ping(f"/ping/failing?token={TOKEN}")
    h.eq(r.json()["status"], "up", "success first")
    r = ping(f"/ping/failing/fail?token={TOKEN}")
    h.eq(r.status, 200, r.text)
    h.eq(r.json()["event"], "fail", "event")
    h.eq(r.json()["status"], "down", "status in the answer")
    h.eq(status("failing"), "down", "status after /fail")
    h.contains(O().check_json("failing")["last_sample"]["error"], "/fail", "error after /fail")


def test_run_longer_than_max_runtime_is_down():
    h.eq(ping("/ping/slow/start").json(), {"ok": True, "check": "slow", "event": "start", "status": "unknown"},
         "start answer (records no sample)")
    time.sleep(1.5)
    r = ping("/ping/slow")
    h.eq(r.status, 200, r.text)
    body = r.json()
    h.eq(body["status"], "down", f"status after a 1.5 s run with max_runtime 1s: {body}")
    h.contains(body["error"], "ran too long", "error")
    h.contains(body["error"], "> max_runtime 1.000 s", "error names the limit")
    h.check(1.4 <= body["run_seconds"] < 5, f"run_seconds {body['run_seconds']}")
    # a run within the limit is up again
    ping("/ping/slow/start")
    r = ping("/ping/slow")
    h.eq(r.json()["status"], "up", f"a quick run: {r.json()}")


def test_start_without_end_is_down_after_max_runtime():
    o = O()
    ping("/ping/slow/start")
    h.eq(ping("/ping/slow").json()["status"], "up", "a quick run first")
    h.eq(ping("/ping/slow/start").status, 200, "start")
    time.sleep(0.5)
    h.eq(status("slow"), "up", "within max_runtime")
    o.wait_status("slow", "down", timeout=4)
    h.contains(o.check_json("slow")["last_sample"]["error"], "did not finish within max_runtime 1s",
               "error of an unfinished run")
    h.eq(ping("/ping/slow").json()["status"], "down", "its late end is still too long")


def test_run_shorter_than_min_runtime_is_down():
    ping("/ping/fast/start")
    r = ping("/ping/fast")
    body = r.json()
    h.eq(body["status"], "down", f"status after a quick run with min_runtime 5s: {body}")
    h.contains(body["error"], "ran too short", "error")
    # without /start there is no run to measure: a plain success is up
    h.eq(ping("/ping/fast").json()["status"], "up", "plain success")


def test_wrong_token_is_404_and_changes_nothing():
    o = O()
    before = o.check_json("guarded")
    h.eq(before["status"], "unknown", "status before")
    for path, headers in [("/ping/guarded", None), ("/ping/guarded?token=nope", None),
                          ("/ping/guarded/fail?token=" + TOKEN[:-1], None),
                          ("/ping/guarded/start", {"Authorization": "Bearer " + TOKEN + "x"}),
                          ("/ping/guarded", {"X-Opshub-Token": TOKEN.upper()}),
                          ("/ping/nonexistent?token=" + TOKEN, None), ("/ping/web", None)]:
        r = ping(path, headers=headers)
        h.eq(r.status, 404, f"{path} {headers}: {r.text}")
        h.eq(r.json()["error"]["message"], "no such heartbeat check, or a wrong token",
             f"the same answer for every refusal ({path})")
    after = o.check_json("guarded")
    h.eq(after["status"], "unknown", "status after refused pings")
    h.eq(after["last_sample"], None, "no sample after refused pings")
    h.eq(o.samples("guarded")["samples"], [], "nothing stored")
    # every way of giving the right token works
    h.eq(ping("/ping/guarded", headers={"X-Opshub-Token": TOKEN}).status, 200, "X-Opshub-Token")
    h.eq(ping("/ping/guarded/start", headers={"Authorization": "Bearer " + TOKEN}).status, 200, "Bearer")
    h.eq(ping("/ping/guarded?token=" + TOKEN, method="GET").status, 200, "?token=")
    h.eq(status("guarded"), "up", "status after a good ping")


def test_token_is_in_no_log_and_no_api_answer():
    o = O()
    texts = [o.get("/api/v1/checks").text, o.get("/api/v1/checks/guarded").text,
             o.get("/api/v1/checks/guarded/samples").text, o.get("/api/v1/openapi.json", auth=False).text,
             o.get("/metrics", auth=False).text, o.log_text(), o.stdout_text()]
    for t in texts:
        h.check(TOKEN not in t, "the heartbeat token appears in an answer or a log")
    h.check("/ping/guarded" in o.log_text(), "pings are logged (by path)")


def test_restart_keeps_the_last_ping():
    o = O()
    r = ping("/ping/reboot")
    pinged = h.now_ms()
    h.eq(r.json()["status"], "up", "ping before the restart")
    o.stop()
    time.sleep(2)
    o.start()
    # restored: up right after the restart, not unknown and not down
    h.eq(status("reboot"), "up", "status right after the restart")
    last = o.check_json("reboot")["last_sample"]
    h.check(abs(last["ts_ms"] - pinged) < 1000, f"restored sample ts {last['ts_ms']} vs ping {pinged}")
    time.sleep(0.3)
    h.eq(status("reboot"), "up", "still up shortly after the restart")
    # the deadline counts from the ping (3s + 1s), not from the restart (which was > 2 s later)
    o.wait_status("reboot", "down", timeout=8)
    s = o.check_json("reboot")["last_sample"]
    h.check(s["ts_ms"] - pinged < 5500, f"down {s['ts_ms'] - pinged} ms after the ping: the restart reset the deadline")
    h.check(s["values"]["since_last_ping_seconds"] >= 3.9, f"silent for {s['values']}")
    # the other checks kept working through the restart
    h.eq(ping("/ping/beat").status, 200, "ping after the restart")


def test_pings_are_rate_limited():
    cfg = h.make_config([hb("rl")], extra={"server": {"rate_limit": "3/min"}}, rate_limits=False)
    with h.Opshub(cfg, auth=False) as o:
        o.start()
        codes = [o.request("POST", "/ping/rl", auth=False).status for _ in range(6)]
        h.eq(codes[:3], [200, 200, 200], f"within the rate: {codes}")
        h.eq(codes[-1], 429, f"past the rate: {codes}")
        o.stop()


def test_bad_settings_are_errors_with_positions():
    text = (
        "checks:\n"                          # 1
        "  - id: no-period\n"                # 2
        "    type: heartbeat\n"              # 3
        "  - id: neg-grace\n"                # 4
        "    type: heartbeat\n"              # 5
        "    period: 1h\n"                   # 6
        "    grace: -5m\n"                   # 7
        "  - id: inverted\n"                 # 8
        "    type: heartbeat\n"              # 9
        "    period: 1h\n"                   # 10
        "    max_runtime: 1m\n"              # 11
        "    min_runtime: 5m\n"              # 12
    )
    tmp = h.TempDir()
    p = tmp.join("bad.yaml")
    with open(p, "w") as f:
        f.write(text)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, f"exit code (stderr {r.stderr!r})")
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(p + ":")]
    got = {}
    for ln in lines:
        _, line, col, msg = ln.split(":", 3)
        got[int(line)] = (int(col), msg)
    h.eq(sorted(got), [2, 7, 12], f"error lines (stderr {r.stderr!r})")
    h.contains(got[2][1], "missing 'period'", "missing period")
    h.eq(got[7][0], 12, "column of the negative grace")
    h.eq(got[12][0], 18, "column of min_runtime's value")
    h.contains(got[12][1], "min_runtime (5m) must not exceed max_runtime (1m)", "inverted runtimes")
    tmp.close()


def test_opshub_stops_cleanly():
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
