"""
Integration test of `log.keys`: opshub starts with its own JSON keys; a SIGHUP with
`log: {keys: service, service: ...}` switches every following line to timestamp, level,
message, service, context (the part of opshub that logged) and metadata (the fields);
another SIGHUP switches back. Every line of the run stays one JSON object.

Paths a client chooses cannot break or hide the access log: invalid UTF-8 (`/nosuch%ff%fe`),
terminal controls (ESC, VT, FF, BEL), 1,400 x `%01` and an 8 KB path each leave a `request`
line that is valid JSON in valid UTF-8 (read as bytes, decoded strictly) keeping path (cut if
long), status, remote, request_id and actor, in both key shapes; in the text format no raw
control byte is written.
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


# (URL path, the decoded path's start as logged, whether the line is cut)
HOSTILE = [
    ("/nosuch%ff%fe", "/nosuch\ufffd\ufffd", False),
    ("/esc%1b%5b2J%0b%0c%07%1b%5d0;t%c2%9b", "/esc\x1b[2J\x0b\x0c\x07\x1b]0;t\x9b", False),
    ("/" + "%01" * 1400, "/" + "\x01" * 100, True),
    ("/" + "a" * 8150, "/" + "a" * 100, True),
]


def raw_lines_after(o, n):
    """The log's lines from line n on, as bytes (the harness's text view would hide
    invalid UTF-8 by replacing it)."""
    with open(o.log_path, "rb") as f:
        return f.read().split(b"\n")[n:]


def raw_line_count(o):
    with open(o.log_path, "rb") as f:
        return f.read().count(b"\n")


def send_hostile(o, tag):
    for i, (url, _, _) in enumerate(HOSTILE):
        r = o.get(url, headers={"X-Request-Id": f"{tag}-{i}"})
        h.eq(r.status, 404, f"status of GET {url[:40]}")


def check_json_request_lines(o, n, tag, shaped):
    def found():
        got = {}
        for raw in raw_lines_after(o, n):
            if not raw:
                continue
            text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
            try:
                line = json.loads(text)
            except ValueError:
                raise AssertionError(f"a log line is not JSON: {raw[:300]!r}")
            fields = line.get("metadata", {}) if shaped else line
            rid = fields.get("request_id", "")
            if rid.startswith(f"{tag}-"):
                got[rid] = (line, fields)
        return got if len(got) == len(HOSTILE) else None
    got = h.wait_for(found, 10, f"the {tag} request lines")
    for i, (url, start, cut) in enumerate(HOSTILE):
        line, f = got[f"{tag}-{i}"]
        if shaped:
            h.eq(sorted(line), SERVICE_KEYS, f"keys of the line of {url[:40]}")
        for key in ("method", "path", "status", "remote", "request_id", "actor", "duration_ms"):
            h.check(key in f, f"{key} missing from the line of GET {url[:40]}: {str(line)[:300]}")
        h.eq(f["status"], 404, "status")
        h.eq(f["remote"], "127.0.0.1", "remote")
        h.check(f["path"].startswith(start), f"path of GET {url[:40]}: {f['path'][:120]!r}")
        h.eq(f.get("truncated", False), cut, f"truncated of GET {url[:40]}")
        if cut:
            h.check(f["path"].endswith("...") and len(f["path"]) > 1000, f"cut path {f['path'][-40:]!r}")
        else:
            h.eq(f["path"], start, "the whole path")


def test_hostile_paths_keep_json_lines_valid_and_whole():
    with h.Opshub(config()) as o:
        h.track(o)
        o.start()
        n = raw_line_count(o)
        send_hostile(o, "it-json")
        check_json_request_lines(o, n, "it-json", False)
        n = raw_line_count(o)
        o.reload(config({"format": "json", "keys": "service", "service": "it-shop"}))
        h.wait_for(lambda: b"config reloaded" in b"".join(raw_lines_after(o, n)), 10, "the reload")
        n = raw_line_count(o)
        send_hostile(o, "it-svc")
        check_json_request_lines(o, n, "it-svc", True)
        o.stop()


def test_hostile_paths_put_no_control_bytes_in_text_lines():
    with h.Opshub(config({"format": "text"})) as o:
        h.track(o)
        o.start()
        send_hostile(o, "it-text")

        def lines():
            got = [ln for ln in raw_lines_after(o, 0) if b" request_id=it-text-" in ln]
            return got if len(got) == len(HOSTILE) else None
        got = h.wait_for(lines, 10, "the text request lines")
        for raw in raw_lines_after(o, 0):
            bad = [c for c in raw if c < 0x20 or c == 0x7F]
            h.check(not bad, f"raw control bytes {bad[:5]} in a text line: {raw[:200]!r}")
            text = raw.decode("utf-8")  # strict
            h.check(not any(0x80 <= ord(c) <= 0x9F for c in text), f"a C1 control in {text[:200]!r}")
        for i, raw in enumerate(sorted(got, key=lambda ln: int(ln.split(b"request_id=it-text-")[1][:1]))):
            text = raw.decode("utf-8")
            for key in (" method=GET ", " path=", " status=404 ", " remote=127.0.0.1 ", " actor="):
                h.check(key in text, f"{key.strip()} missing from {text[:200]!r}...{text[-200:]!r}")
            h.eq(text.endswith(" truncated=true"), HOSTILE[i][2], f"truncated of line {i}")
        h.check(any("\\u001b[2J\\u000b\\u000c\\u0007" in ln.decode() for ln in got),
                "the controls are escaped as \\u00XX")
        o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
