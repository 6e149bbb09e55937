"""
Integration test of `log.keys`: opshub starts with its own JSON keys; a SIGHUP with
`log: {keys: service, service: ...}` switches every following line to timestamp, level,
message, service, context (the part of opshub that logged) and metadata (the fields);
another SIGHUP switches back. Every line of the run stays one JSON object.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
SERVICE_KEYS = ["context", "level", "message", "metadata", "service", "timestamp"]


def config(log=None):
    n = ENV["nginx"]
    return h.make_config([h.http_check("web", n.url("/health"))], extra={"log": log} if log else None)


def lines_after(o, n):
    out = []
    for ln in o.log_text().splitlines()[n:]:
        try:
            out.append(json.loads(ln))
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {ln!r}")
    return out


def setup():
    ENV["nginx"] = h.Nginx().start()
    o = ENV["o"] = h.track(h.Opshub(config()))
    o.start()
    o.wait_samples("web", 1, timeout=20)


def test_log_keys_apply_on_reload():
    o = ENV["o"]
    started = o.wait_log("opshub started")[0]
    h.check("ts" in started and "metadata" not in started, f"default shape: {started}")

    n = len(o.log_text().splitlines())
    o.reload(config({"format": "json", "keys": "service", "service": "it-shop"}))
    reloaded = h.wait_for(lambda: [x for x in lines_after(o, n) if x.get("message") == "config reloaded"], 10,
                          "a `config reloaded` line with the service keys")[0]
    h.eq(sorted(reloaded), SERVICE_KEYS, "keys of a line")
    h.eq(reloaded["service"], "it-shop", "service")
    h.eq(reloaded["context"], "app", "context of the reload line (src/app)")
    h.eq(reloaded["level"], "info", "level")
    h.check(h.is_iso_ms(reloaded["timestamp"]), f"timestamp {reloaded['timestamp']!r}")
    h.eq(reloaded["metadata"].get("unchanged"), 1, "metadata.unchanged")

    o.get("/api/v1/checks/web")
    req = h.wait_for(lambda: [x for x in lines_after(o, n) if x.get("message") == "request"
                              and x.get("metadata", {}).get("path") == "/api/v1/checks/web"], 10,
                     "a request line with the service keys")[0]
    h.eq(sorted(req), SERVICE_KEYS, "keys of a request line")
    h.eq(req["context"], "http", "context of a request line (src/http)")
    h.eq(req["metadata"].get("status"), 200, "metadata.status")
    h.eq(req["metadata"].get("method"), "GET", "metadata.method")

    # an unknown value is rejected with a suggestion; the running setting stays
    n = len(o.log_text().splitlines())
    o.reload(config({"keys": "srvice"}))
    err = h.wait_for(lambda: [x for x in lines_after(o, n) if x.get("message") == "config error"], 10,
                     "a `config error` line")[0]
    h.contains(err["metadata"]["error"], "unknown log keys 'srvice' (did you mean 'service'?", "config error")
    h.eq(err["service"], "it-shop", "the rejected reload kept the running log keys")

    # and back to opshub's own keys
    n = len(o.log_text().splitlines())
    o.reload(config())
    line = h.wait_for(lambda: [x for x in lines_after(o, n) if x.get("msg") == "config reloaded"], 10,
                      "a `config reloaded` line with opshub's own keys")[0]
    h.check("ts" in line and "metadata" not in line and "service" not in line, f"default shape again: {line}")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
