"""
Integration tests of probe behaviour: the real opshub probing nginx, a controllable
Python HTTP target and TCP banner servers. Each misbehaviour (5xx, timeout, slow, bad
JSON, closed connection, huge body, hang, redirect, refused port, wrong banner) must
give the documented status and error text; a hanging target must not delay other
checks; a huge body must not blow up memory; confirm: 2 must delay DOWN by one sample.
"""
# ctest: RUN_SERIAL
# (CMakeLists.txt reads the line above: nothing else of the suite runs meanwhile)
# because probe latencies and the 1 s schedule's gaps are asserted in milliseconds, peak RSS in kB.
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
RSS_LIMIT_KB = 100 * 1024

# id -> (accepted statuses, error substring (case-insensitive) or None, expected code or None)
EXPECT = {
    "ok": ({"up"}, None, 200),
    "nginx-ok": ({"up"}, None, 200),
    "s500": ({"down"}, "unexpected status 500", 500),
    "nginx-503": ({"down"}, "unexpected status 503", 503),
    "want-404": ({"up"}, None, 404),
    "slow-timeout": ({"down"}, "timeout", None),
    "slow-degraded": ({"degraded"}, None, 200),
    "json-wrong": ({"down"}, "status", 200),
    "json-nested-ok": ({"up"}, None, 200),
    "invalid-json": ({"down"}, "not valid JSON", 200),
    "closed": ({"down"}, None, None),
    # past max_body the run is down whatever the marker: a cut body proves nothing
    "huge-tail": ({"down"}, "exceeds max_body", 200),
    "huge-head": ({"down"}, "exceeds max_body", 200),
    "hang": ({"down"}, "timeout", None),
    "fast": ({"up"}, None, 200),
    "redirect": ({"up"}, None, 200),
    "redirect-nofollow": ({"down"}, "unexpected status 302", 302),
    "refused": ({"down"}, "refused", None),
    "body-ok": ({"up"}, None, 200),
    "body-missing": ({"down"}, None, 200),
    "tcp-ok": ({"up"}, None, None),
    "tcp-send": ({"up"}, None, None),
    "tcp-wrong": ({"down"}, None, None),
    "tcp-refused": ({"down"}, "refused", None),
}


def setup():
    n = ENV["nginx"] = h.Nginx().start()
    t = ENV["target"] = h.Target()
    b = ENV["banner"] = h.BannerServer()
    b2 = ENV["banner2"] = h.BannerServer()
    dead = h.closed_port()
    checks = [
        h.http_check("ok", t.url("/ok"), expect={"json": {"status": "ok"}}),
        h.http_check("nginx-ok", n.url("/health"), expect={"status": [200], "json": {"status": "ok"}}),
        h.http_check("s500", t.url("/status/500")),
        h.http_check("nginx-503", n.url("/down")),
        h.http_check("want-404", t.url("/status/404"), expect={"status": [404]}),
        h.http_check("slow-timeout", t.url("/slow?ms=1500"), interval="2s", timeout="500ms"),
        h.http_check("slow-degraded", t.url("/slow?ms=300"), interval="2s", timeout="1500ms",
                     expect={"max_latency": "100ms"}),
        h.http_check("json-wrong", t.url("/json/degraded"), expect={"json": {"status": "ok"}}),
        h.http_check("json-nested-ok", t.url("/json/degraded"), expect={"json": {"status": "degraded"}}),
        h.http_check("invalid-json", t.url("/invalid-json"), expect={"json": {"status": "ok"}}),
        h.http_check("closed", t.url("/close")),
        h.http_check("huge-tail", t.url("/huge"), interval="2s", timeout="1500ms",
                     expect={"body_contains": "HUGE-END"}),
        h.http_check("huge-head", t.url("/huge"), interval="2s", timeout="1500ms",
                     expect={"body_contains": "HUGE-START"}),
        h.http_check("hang", t.url("/hang")),
        h.http_check("fast", t.url("/ok")),
        h.http_check("redirect", t.url("/redirect")),
        h.http_check("redirect-nofollow", t.url("/redirect"), follow_redirects=False),
        h.http_check("refused", f"http://127.0.0.1:{dead}/health"),
        h.http_check("body-ok", t.url("/ok"), expect={"body_contains": "ok"}),
        h.http_check("body-missing", t.url("/ok"), expect={"body_contains": "definitely-not-there"}),
        h.tcp_check("tcp-ok", b.address, expect="SSH-2.0"),
        h.tcp_check("tcp-send", b2.address, send="PING opshub\r\n", expect="OpenSSH"),
        h.tcp_check("tcp-wrong", b.address, expect="220 smtp.example ESMTP"),
        h.tcp_check("tcp-refused", f"127.0.0.1:{dead}"),
        h.http_check("flip", t.url("/flip"), confirm=2),
    ]
    o = ENV["o"] = h.track(h.Opshub(h.make_config(checks)))
    o.start()

    def all_sampled():
        cs = o.get_json("/api/v1/checks")["checks"]
        return all(c.get("last_sample") for c in cs)
    h.wait_for(all_sampled, 20, "every check to have a sample")
    # let every check run at least twice so the tcp/http statuses are settled
    h.wait_for(lambda: t.count("/huge") >= 4 and t.count("/slow") >= 4, 15, "two runs of the 2s checks")


def O():
    return ENV["o"]


# --------------------------------------------------------------------------------

def test_each_behaviour_gives_expected_status_and_error():
    checks = {c["id"]: c for c in O().get_json("/api/v1/checks")["checks"]}
    problems = []
    for cid, (statuses, err, code) in EXPECT.items():
        c = checks[cid]
        s = c["last_sample"]
        got = (c["status"], s["result"], s["code"], s["error"])
        if c["status"] not in statuses or s["result"] not in statuses:
            problems.append(f"{cid}: expected status in {sorted(statuses)}, got status/result/code/error {got}")
            continue
        if err is not None and err.lower() not in s["error"].lower():
            problems.append(f"{cid}: expected error containing {err!r}, got {s['error']!r}")
        if s["result"] == "down" and not s["error"]:
            problems.append(f"{cid}: down sample without error text")
        if s["result"] == "up" and s["error"]:
            problems.append(f"{cid}: up sample with error text {s['error']!r}")
        if code is not None and s["code"] != code:
            problems.append(f"{cid}: expected code {code}, got {s['code']}")
    h.check(not problems, "\n  " + "\n  ".join(problems))


def test_json_mismatch_names_the_path_and_value():
    s = O().check_json("json-wrong")["last_sample"]
    h.contains(s["error"], "status", "json mismatch error names the path")
    h.contains(s["error"], "degraded", "json mismatch error shows the value found")


def test_timeouts_are_honoured():
    for cid in ("slow-timeout", "hang"):
        samples = O().samples(cid, "limit=5")["samples"]
        h.check(samples, f"no stored samples for {cid}")
        for s in samples:
            h.eq(s["result"], "down", f"{cid} sample result")
            h.check(400 <= s["latency_ms"] <= 1200, f"{cid}: latency {s['latency_ms']} ms for a 500ms timeout")
    s = O().samples("slow-degraded", "limit=3")["samples"]
    for x in s:
        h.eq(x["result"], "degraded", "slow-degraded result")
        h.check(x["latency_ms"] >= 280, f"slow-degraded latency {x['latency_ms']}")


def test_hanging_target_does_not_delay_other_checks():
    t = ENV["target"]
    t0 = h.now_ms()
    base_hang = t.count("/hang")
    h.wait_for(lambda: t.count("/hang") >= base_hang + 3, 10, "three more runs of the hanging check")
    # samples of the fast check taken while the hanging one kept hanging
    samples = h.wait_for(lambda: (lambda s: s if len(s) >= 4 else None)(
        [x for x in O().samples("fast", "limit=100")["samples"] if x["ts_ms"] >= t0 - 1000]),
        10, "4 samples of fast in the window")
    ts = sorted(x["ts_ms"] for x in samples)
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    h.check(max(gaps) <= 1600, f"fast (1s interval) was delayed: gaps {gaps} ms")
    h.check(min(gaps) >= 400, f"fast ran more often than its interval: gaps {gaps} ms")
    h.check(all(x["result"] == "up" for x in samples), "fast stayed up")
    h.eq(O().check_json("hang")["status"], "down", "hang status")


def test_huge_body_is_capped_and_memory_stays_low():
    t = ENV["target"]
    pid = O().pid
    base = t.count("/huge")
    peak = 0
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline and t.count("/huge") < base + 4:
        peak = max(peak, h.read_rss_kb(pid))
        time.sleep(0.05)
    h.check(t.count("/huge") >= base + 4, "the huge checks did not run 4 more times")
    peak = max(peak, h.read_rss_kb(pid))
    print(f"# opshub peak VmRSS during /huge probes: {peak / 1024:.1f} MiB")
    h.check(peak < RSS_LIMIT_KB, f"opshub VmRSS {peak} kB >= {RSS_LIMIT_KB} kB while probing a 50 MB body")
    tail = O().check_json("huge-tail")["last_sample"]
    h.eq(tail["result"], "down", "a marker beyond max_body must not be found")
    for cid in ("huge-tail", "huge-head"):
        for s in O().samples(cid, "limit=4")["samples"]:
            h.check(s["latency_ms"] < 1500, f"{cid}: probe took {s['latency_ms']} ms (read past the cap?)")


def test_tcp_send_reaches_server():
    b2 = ENV["banner2"]
    h.wait_for(lambda: b"PING opshub\r\n" in b"".join(b2.received), 5, "the tcp 'send' text at the server")


def test_redirect_followed():
    t = ENV["target"]
    c = O().check_json("redirect")
    h.eq((c["status"], c["last_sample"]["code"]), ("up", 200), "redirect status/code")
    # /redirected is reached only by following /redirect; redirect-nofollow never goes there
    h.check(t.count("/redirected") >= 1, "the redirect was not followed: target saw no /redirected")
    h.check(t.count("/redirected") <= t.count("/redirect"), "more /redirected than /redirect requests")


def test_confirm_2_status_transitions():
    t = ENV["target"]
    o = O()
    t.flip_status = 200
    c0 = o.wait_status("flip", "up", timeout=10)
    since_up = c0["since"]
    changes0 = o.metrics().get("opshub_check_status_changes_total") or 0
    t.flip_status = 500
    obs = []

    def observe():
        c = o.check_json("flip")
        ls = c["last_sample"] or {}
        obs.append((c["status"], ls.get("result"), c["consecutive_failures"], ls.get("ts_ms")))
        return c if c["status"] == "down" else None
    down = h.wait_for(observe, 10, "flip to go down", interval=0.05)
    first_fail = [x for x in obs if x[1] == "down" and x[2] == 1]
    h.check(first_fail, f"never saw one failure (consecutive_failures 1) before DOWN; observed {obs}")
    h.check(all(x[0] == "up" for x in first_fail),
            f"status must stay up after the first of 2 confirmations; observed {first_fail}")
    h.check(down["consecutive_failures"] >= 2, f"consecutive_failures at DOWN: {down['consecutive_failures']}")
    h.contains(down["last_sample"]["error"], "unexpected status 500", "flip error")
    h.check(down["since"] != since_up and down["since"] > since_up, f"since not updated: {since_up} -> {down['since']}")
    t.flip_status = 200
    back = o.wait_status("flip", "up", timeout=10)
    h.eq(back["consecutive_failures"], 0, "consecutive_failures after recovery")
    h.check(back["since"] > down["since"], "since not updated on recovery")
    lines = h.wait_for(lambda: (lambda l: l if any(x.get("to") == "up" and x.get("from") == "down" for x in l)
                                else None)(o.log_lines("check status changed", check="flip")),
                       5, "log line flip down -> up")
    pairs = [(x.get("from"), x.get("to")) for x in lines]
    h.check(all(a != b for a, b in pairs), f"status-change log line with from == to: {pairs}")
    after_up = pairs[pairs.index(("up", "down")):] if ("up", "down") in pairs else pairs
    h.eq(after_up, [("up", "down"), ("down", "up")], "status-change log lines of flip (after the first up)")
    h.check(pairs[0] in (("unknown", "up"), ("up", "down")), f"first transition of flip: {pairs}")
    dl = [x for x in lines if x.get("to") == "down"][0]
    h.contains(str(dl.get("error", "")), "500", "error field of the up->down log line")
    changes1 = o.metrics().get("opshub_check_status_changes_total") or 0
    h.check(changes1 >= changes0 + 2, f"opshub_check_status_changes_total {changes0} -> {changes1}")


def test_opshub_survives_and_stops_cleanly():
    h.check(O().running(), "opshub died while probing misbehaving targets")
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
