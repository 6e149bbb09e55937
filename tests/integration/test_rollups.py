#!/usr/bin/env python3
"""Uptime and latency from the rollups through the API: figures while the
store still holds them, after a clean restart, and after a SIGKILL (rebuilt
from the samples, "partial" until done, nothing counted twice); every bad
parameter refused with its field. Runs are triggered with POST /run so the
schedule (interval 1h) adds none of its own."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def config(t, path):
    return h.make_config([h.http_check("flip", t.url(path), interval="1h", timeout="2s")])


def run(o, n, want):
    for _ in range(n):
        r = o.post_json("/api/v1/checks/flip/run")
        h.eq(r["sample"]["result"], want, "run of flip")


def uptime(o, window="1h"):
    return o.get_json(f"/api/v1/checks/flip/uptime?window={window}")


def wait_complete(o, total, what):
    def ok():
        u = uptime(o)
        return not u["partial"] and u["total"] == total
    h.wait_for(ok, 20, what)
    return uptime(o)


def test_uptime_and_latency_before_and_after_restarts():
    t = h.Target()
    try:
        o = h.track(h.Opshub(config(t, "/ok")))
        o.start()
        run(o, 4, "up")
        o.reload(config(t, "/status/500"))
        h.wait_for(lambda: o.check_json("flip")["status"] == "unknown", 10, "the changed check to restart")
        run(o, 1, "down")
        # the rollups see what the store has written (within its flush interval)
        h.wait_for(lambda: uptime(o)["total"] == 5, 10, "the five samples to reach the rollups")
        u = uptime(o)
        h.eq((u["total"], u["up"], u["degraded"], u["down"]), (5, 4, 0, 1), "counts from the store's memory")
        h.eq(u["uptime"], 0.8, "uptime")
        h.eq(u["window"], "1h", "window")
        h.eq(u["partial"], False, "partial")
        lat = u["latency_ms"]
        h.check(0 < lat["min"] <= lat["avg"] <= lat["max"] < 2000, f"latency of the up samples: {lat}")
        m = int(time.time()) // 60 * 60
        s = o.get_json(f"/api/v1/checks/flip/latency?from={m - 300}&to={m + 120}&step=1m")
        h.eq(s["step_seconds"], 60, "step")
        h.eq(len(s["points"]), 7, "points from 'from' to 'to'")
        h.eq(sum(p["total"] for p in s["points"]), 5, "every sample in one point")
        busy = [p for p in s["points"] if p["total"]]
        for p in busy:
            if p["latency_ms"] is not None:
                lm = p["latency_ms"]
                h.check(lm["min"] * 0.99 <= lm["p50"] <= lm["p95"] <= lm["p99"] <= lm["max"] * 1.01,
                        f"percentiles in order: {lm}")
        empty = [p for p in s["points"] if not p["total"]]
        h.check(all(p["latency_ms"] is None for p in empty), "an empty step has no latency")
        day = o.get_json("/api/v1/checks/flip/latency")
        h.check(250 <= len(day["points"]) <= 300, f"about 300 points by default: {len(day['points'])}")
        h.eq(day["step_seconds"], 300, "24h in 5m steps")

        o.stop()  # writes every bucket it holds
        o.start()
        u2 = wait_complete(o, 5, "the same counts after a clean restart")
        h.eq((u2["up"], u2["down"]), (4, 1), "after a clean restart")
        h.eq(u2["latency_ms"]["max"], lat["max"], "the same latency")

        run(o, 2, "down")
        h.wait_for(lambda: len(o.get_json("/api/v1/checks/flip/samples")["samples"]) == 7, 10,
                   "the seven samples to be stored")
        o.kill()  # the two new samples' rollups were only in memory
        o.start()
        u3 = wait_complete(o, 7, "every sample counted once after a SIGKILL")
        h.eq((u3["up"], u3["down"]), (4, 3), "after the crash")
        o.wait_log("rebuilt rollups from the stored samples", timeout=15)
        for window in ("24h", "7d", "30d", "90d"):
            h.eq(uptime(o, window)["total"], 7, f"window {window}")
        o.stop()
    finally:
        t.close()


def test_bad_parameters_name_their_field():
    o = h.track(h.Opshub(h.make_config([h.tcp_check("c", "127.0.0.1:9", interval="1h")])))
    o.start()
    bad = [
        ("/api/v1/checks/c/uptime?window=0s", "window"),
        ("/api/v1/checks/c/uptime?window=3x", "window"),
        ("/api/v1/checks/c/uptime?window=500d", "window"),
        ("/api/v1/checks/c/latency?step=30s", "step"),
        ("/api/v1/checks/c/latency?step=90s", "step"),
        ("/api/v1/checks/c/latency?step=abc", "step"),
        ("/api/v1/checks/c/latency?step=1m&from=1&to=86400000", "step"),
        ("/api/v1/checks/c/latency?from=2000&to=1000", "from"),
        ("/api/v1/checks/c/latency?from=yesterday", "from"),
    ]
    for path, field in bad:
        r = o.get(path)
        h.eq(r.status, 400, f"status of {path}")
        h.eq(r.json()["error"]["field"], field, f"field of {path}")
    for path in ("/api/v1/checks/nope/uptime", "/api/v1/checks/nope/latency"):
        h.eq(o.get(path).status, 404, path)
    u = o.get_json("/api/v1/checks/c/uptime")
    h.eq((u["total"], u["uptime"], u["latency_ms"]), (0, None, None), "no samples yet")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()))
