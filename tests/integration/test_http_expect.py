"""
Integration tests of the http type's conditions, credentials and client certificates: the
real opshub probing a real nginx (and the harness target for a POST). Expected: a health JSON
({"status":"ok","checks":{"database":{"status":"up","responseTime":12}}}) passes conditions
on nested paths, headers and the body, and fails with the path, the condition and the actual
value in the sample's error through the samples API; body and body_not regexes decide; a
POST health check delivers its body (the target records it); basic auth (an htpasswd made
with `openssl passwd`) and a bearer token (a location comparing $http_authorization) are up
with the right credentials and down with wrong ones, and the secrets are absent from the
API's answers, the database row, the logs and `opshub check`'s output; mutual TLS against
nginx with ssl_verify_client on and certificates made here: up with the client certificate,
down without. Values reach the samples API, /metrics and `opshub check`. Bad conditions give
FILE:LINE:COL from the CLI and a JSON path from the API.
"""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}

BASIC_PASSWORD = h.secret("b4sic-pw-7x9")
BEARER_TOKEN = h.secret("bearer-tok-3k2q8")
API_TOKEN = h.secret("api-bearer-5m1z")

HEALTH = '{"status":"ok","checks":{"database":{"status":"up","responseTime":12}}}'


def openssl(*args, cwd, input=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True, timeout=60, input=input)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", "/CN=opshub mtls test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        with open(f"{d}/{name}.ext", "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=opshub-{name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)


def http(cid, url, **kw):
    return h.http_check(cid, url, interval="1s", timeout="900ms", **kw)


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-http-expect-")
    d = tmp.path
    make_certs(d)
    hashed = openssl("passwd", "-apr1", "-stdin", cwd=d, input=BASIC_PASSWORD + "\n").strip()
    with open(f"{d}/htpasswd", "w") as f:
        f.write(f"monitor:{hashed}\n")
    # A file, not `return`: nginx runs `return` before the access phase, so auth_basic
    # would never be asked.
    with open(f"{d}/basic.json", "w") as f:
        f.write('{"user":"monitor"}')
    tls_port = ENV["tls_port"] = h.free_port()
    locations = f"""
        location = /health {{ default_type application/json; add_header X-Cache HIT;
                              return 200 '{HEALTH}'; }}
        location = /log {{ default_type text/plain; return 200 'all fine\\nERROR: disk full\\n'; }}
        location = /basic {{ auth_basic "opshub"; auth_basic_user_file {d}/htpasswd;
                             default_type application/json; alias {d}/basic.json; }}
        location = /bearer {{
            if ($http_authorization != "Bearer {BEARER_TOKEN}") {{ return 401; }}
            default_type application/json; return 200 '{{"status":"ok"}}';
        }}
        location / {{ return 404; }}
"""
    servers = f"""
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        ssl_client_certificate {d}/ca.pem;
        ssl_verify_client on;
        location / {{ default_type application/json; return 200 '{{"client":"$ssl_client_s_dn"}}'; }}
    }}
"""
    ng = ENV["nginx"] = h.Nginx(locations=locations, extra_servers=servers).start()
    t = ENV["target"] = h.Target()
    mtls = f"https://127.0.0.1:{tls_port}/"
    checks = ENV["checks"] = [
        http("health", ng.url("/health"), expect={
            "status": 200,
            "headers": {"Content-Type": "~ ^application/json", "x-cache": "HIT", "X-Debug": False},
            "body": '"database":\\{"status":"up"', "body_not": "ERROR|FATAL",
            "json": {"status": "ok", "checks.database.status": "== up",
                     "checks.database.responseTime": "< 500"}}),
        http("health-slow", ng.url("/health"), expect={"json": {"checks.database.responseTime": "< 10"}}),
        http("health-missing", ng.url("/health"), expect={"json": {"checks.cache.status": "up"}}),
        http("health-header", ng.url("/health"), expect={"headers": {"X-Cache": "MISS"}}),
        http("log-body", ng.url("/log"), expect={"body": "^all fine"}),
        http("log-body-not", ng.url("/log"), expect={"body_not": "ERROR"}),
        http("post", t.url("/ping"), method="POST", headers={"Content-Type": "application/json"},
             body='{"ping":1}', expect={"json": {"status": "ok", "received": 10}}),
        http("basic-ok", ng.url("/basic"), basic_auth={"username": "monitor", "password": BASIC_PASSWORD},
             expect={"json": {"user": "monitor"}}),
        http("basic-wrong", ng.url("/basic"), basic_auth={"username": "monitor", "password": "not-it"}),
        http("basic-none", ng.url("/basic")),
        http("bearer-ok", ng.url("/bearer"), bearer_token=BEARER_TOKEN),
        http("bearer-wrong", ng.url("/bearer"), bearer_token="wrong-token"),
        http("mtls-ok", mtls, ca_file=f"{d}/ca.pem", client_cert=f"{d}/client.pem", client_key=f"{d}/client.key",
             expect={"json": {"client": "~ CN=opshub-client"}}),
        http("mtls-none", mtls, ca_file=f"{d}/ca.pem"),
    ]
    ENV["config"] = h.make_config(checks)
    o = ENV["o"] = h.track(h.Opshub(ENV["config"]))
    o.start()

    def all_sampled():
        return all(c.get("last_sample") for c in o.get_json("/api/v1/checks")["checks"])
    h.wait_for(all_sampled, 20, "every check to have a sample")


def O():
    return ENV["o"]


# id -> (result, the sample's error exactly, or "" for an empty one)
EXPECT = {
    "health": ("up", ""),
    "health-slow": ("down", "json: checks.database.responseTime is 12, expected < 10"),
    "health-missing": ("down", "json: checks.cache.status is missing"),
    "health-header": ("down", 'header X-Cache is "HIT", expected "MISS"'),
    "log-body": ("up", ""),
    "log-body-not": ("down", 'body matches body_not "ERROR" at byte 9: "ERROR"'),
    "post": ("up", ""),
    "basic-ok": ("up", ""),
    "basic-wrong": ("down", "unexpected status 401 (expected 2xx)"),
    "basic-none": ("down", "unexpected status 401 (expected 2xx)"),
    "bearer-ok": ("up", ""),
    "bearer-wrong": ("down", "unexpected status 401 (expected 2xx)"),
    "mtls-ok": ("up", ""),
    "mtls-none": ("down", "unexpected status 400 (expected 2xx)"),
}


def test_each_check_gives_its_result_and_reason_in_the_samples_api():
    problems = []
    for cid, (result, err) in EXPECT.items():
        for s in O().wait_samples(cid, 1):  # every run of a check gives the same
            if s["result"] != result or s["error"] != err:
                problems.append(f"{cid}: expected {result} {err!r}, got {s['result']} {s['error']!r}")
    h.check(not problems, "\n  " + "\n  ".join(problems))


def test_post_body_reaches_the_server():
    bodies = [b for _, p, b in ENV["target"].requests if p == "/ping"]
    h.check(bodies, "the target saw the POST")
    h.eq(bodies[-1], b'{"ping":1}', "the body the target recorded")


def test_mtls_reports_tls_values():
    s = O().wait_samples("mtls-ok", 1)[0]
    v = s["values"]
    h.eq(v.get("http_ssl"), 1, "http_ssl")
    h.check(29 < v.get("tls_days_left", 0) <= 30, f"tls_days_left {v}")
    h.check(v.get("phase_tls_seconds", -1) >= 0, f"phase_tls_seconds {v}")


def test_values_reach_metrics_and_opshub_check():
    m = h.wait_for(lambda: (lambda x: x if x.find("probe_http_status_code", check="basic-wrong") else None)(
        O().metrics()), 10, "http metrics")
    h.eq(m.find("probe_http_status_code", check="health")[0][1], 200, "health status code metric")
    h.eq(m.find("probe_http_status_code", check="basic-wrong")[0][1], 401, "basic-wrong status code metric")
    h.eq(m.find("probe_http_ssl", check="mtls-ok")[0][1], 1, "mtls-ok probe_http_ssl")
    p = ENV["tmp"].join("check.yaml")
    with open(p, "w") as f:
        f.write(ENV["config"])
    r = h.run_cli(["check", "--config", p, "--json"], timeout=60)
    doc = json.loads(r.stdout)
    got = {c["id"]: c for c in doc["checks"]}
    h.eq(got["health-slow"]["error"], EXPECT["health-slow"][1], "opshub check --json reason")
    h.eq(got["mtls-ok"]["status"], "up", "opshub check --json mtls-ok")
    h.eq(got["health"]["values"].get("http_status_code"), 200, "opshub check --json values")
    ENV["check_out"] = r.stdout + r.stderr
    text = h.run_cli(["check", "--config", p], timeout=60)
    ENV["check_out"] += text.stdout + text.stderr
    h.contains(text.stdout, "http_status_code", "opshub check prints the values")
    h.contains(text.stdout, "json: checks.database.responseTime is 12, expected < 10", "opshub check's reason")


def test_secrets_absent_from_api_cli_and_logs():
    o = O()
    outputs = {"GET /api/v1/checks": o.get("/api/v1/checks").text}
    for cid in ("basic-ok", "bearer-ok"):
        outputs[f"GET /api/v1/checks/{cid}"] = o.get(f"/api/v1/checks/{cid}").text
        outputs[f"samples of {cid}"] = o.get(f"/api/v1/checks/{cid}/samples").text
    outputs["opshub check"] = ENV["check_out"]
    outputs["log"] = o.log_text()
    outputs["metrics"] = o.get("/metrics").text
    basic_header = base64.b64encode(f"monitor:{BASIC_PASSWORD}".encode()).decode()
    for where, text in outputs.items():
        for s in (BASIC_PASSWORD, BEARER_TOKEN, basic_header):
            h.check(s not in text, f"a secret ({s[:5]}...) appears in {where}")


def test_api_created_check_seals_its_token():
    o = O()
    ng = ENV["nginx"]
    r = o.post("/api/v1/checks", body={"id": "api-bearer", "type": "http", "url": ng.url("/health"),
                                         "interval": "1s", "timeout": "900ms", "bearer_token": API_TOKEN,
                                         "expect": {"json": {"checks.database.responseTime": "< 500"}}})
    h.eq(r.status, 201, f"create: {r.body[:300]!r}")
    h.check(API_TOKEN not in r.text, "no token in the answer")
    o.wait_status("api-bearer", "up", timeout=10)
    h.check(API_TOKEN not in o.get("/api/v1/checks/api-bearer").text, "no token in GET")
    row = h.sqlite_query(o.db_path, "SELECT definition || '|' || secret FROM api_objects "
                                    "WHERE kind = 'check' AND id = 'api-bearer'")
    h.check(row and API_TOKEN not in row, f"token in clear in the row: {row}")
    h.contains(row, "|v1:", "sealed secret")
    h.contains(row, "< 500", "the condition stays readable in the definition")


def test_api_reports_a_bad_condition_by_json_path():
    r = O().post("/api/v1/checks", body={"id": "api-bad", "type": "http", "url": ENV["nginx"].url("/health"),
                                           "expect": {"json": {"checks.database.responseTime": "< fast"}}})
    h.eq(r.status, 400, "bad condition refused")
    err = r.json()["error"]
    h.contains(err.get("field", ""), "expect.json", "field of the error")
    h.contains(err["message"], "'<' compares numbers", "message")
    r = O().post("/api/v1/checks", body={"id": "api-bad", "type": "http", "url": ENV["nginx"].url("/health"),
                                           "bearer_token": "two words"})
    h.eq(r.status, 400, "bad token refused")
    h.eq(r.json()["error"].get("field"), "bearer_token", "field of the token error")
    h.check("two words" not in r.text, "the token is not quoted back")


def test_bad_config_reports_file_line_col():
    path = ENV["tmp"].join("bad.yaml")
    with open(path, "w") as f:
        f.write("checks:\n"
                "  - id: a\n"
                "    type: http\n"
                "    url: http://127.0.0.1:1/\n"
                "    expect:\n"
                "      json: {checks.database.responseTime: '< fast'}\n"
                "      body: '(unclosed'\n"
                "  - id: b\n"
                "    type: http\n"
                "    url: http://127.0.0.1:1/\n"
                "    client_cert: /nonexistent/client.pem\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    out = r.stdout + r.stderr
    h.contains(out, f"{path}:6:44: bad condition '< fast': '<' compares numbers", "condition error")
    h.contains(out, f"{path}:7:13: bad pattern '(unclosed': bad regex: missing closing parenthesis", "regex error")
    h.contains(out, f"{path}:11:18: cannot read client_cert /nonexistent/client.pem", "file error")


def test_opshub_stops_cleanly():
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
