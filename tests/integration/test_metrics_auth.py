#!/usr/bin/env python3
"""GET /metrics behind server.metrics_auth, and rate limited when public (issue 15).

- Public (no metrics_auth): each address has its own bucket at server.rate_limit; past it,
  429 with Retry-After and the RateLimit-* headers, and the API's bucket is untouched.
- metrics_auth {bearer_token: ${VAR}}: no or wrong credentials get 401 with
  WWW-Authenticate: Bearer (and spend the address's bucket: 429 after it); the token,
  with the scheme in any case, gets the metrics; the token never appears in the log.
- metrics_auth {username, password: ${VAR}}: HTTP Basic, as Prometheus' basic_auth sends it.
- A bad metrics_auth refuses to start with FILE:LINE:COL and without the value.
Request counts are bounded (a few dozen), loopback only.
"""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TOKEN = h.secret("scrape-token-for-the-test-0123456789")
PASSWORD = h.secret("scrape-password-for-the-test-42")


def start(server, env=None):
    tgt = h.Target()
    cfg = h.make_config([h.http_check("web", tgt.url("/ok"), interval="1h", timeout="2s")], rate_limits=False,
                        extra={"server": server})
    o = h.track(h.Opshub(cfg, env=env))
    o.start()
    return o


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_public_metrics_are_rate_limited_per_address():
    o = start({"rate_limit": "5/min"})
    codes = [o.get("/metrics").status for _ in range(6)]
    h.eq(codes, [200] * 5 + [429], "public /metrics: five scrapes, then 429")
    r = o.get("/metrics")
    h.eq(r.status, 429, "still limited")
    h.check(int(r.headers.get("retry-after", "0")) >= 1, f"Retry-After on the 429: {r.headers}")
    h.eq(r.headers.get("ratelimit-limit"), "5", "RateLimit-Limit")
    h.eq(r.json()["error"]["code"], "rate_limited", "429 body")
    # /metrics has a bucket of its own: the address's API budget is untouched.
    h.eq(o.get("/api/v1/checks").status, 200, "the API still answers this address")
    o.stop()


def test_bearer_token_guards_metrics():
    o = start({"rate_limit": "8/min", "metrics_auth": {"bearer_token": "${SCRAPE_TOKEN}"}},
              env={"SCRAPE_TOKEN": TOKEN})
    r = o.get("/metrics")
    h.eq(r.status, 401, "no credentials")
    h.eq(r.headers.get("www-authenticate"), 'Bearer realm="opshub metrics"', "WWW-Authenticate")
    h.check(TOKEN.encode() not in r.body, "the token in the 401")
    for bad in ("Bearer " + TOKEN[:-1], "Bearer " + TOKEN + "x", "Basic " + TOKEN, TOKEN, "Bearer"):
        h.eq(o.get("/metrics", headers={"Authorization": bad}).status, 401, f"wrong credentials {bad[:12]!r}...")
    for good in ("Bearer " + TOKEN, "bearer " + TOKEN, "BEARER  " + TOKEN):
        r = o.get("/metrics", headers={"Authorization": good})
        h.eq(r.status, 200, "the configured token")
        h.contains(r.text, "probe_success", "metrics text")
    # Six refusals so far at 8/min: two more 401s, then 429 — but the token still scrapes.
    h.eq([o.get("/metrics").status for _ in range(2)], [401, 401], "the seventh and eighth refusals")
    h.eq(o.get("/metrics").status, 429, "refusals are rate limited per address")
    h.eq(o.get("/metrics", headers={"Authorization": "Bearer " + TOKEN}).status, 200,
         "the scraper is not locked out by the refusals")
    o.stop()  # searches the log for the token


def test_basic_auth_guards_metrics():
    o = start({"metrics_auth": {"username": "prometheus", "password": "${SCRAPE_PASSWORD}"}},
              env={"SCRAPE_PASSWORD": PASSWORD})
    r = o.get("/metrics")
    h.eq(r.status, 401, "no credentials")
    h.eq(r.headers.get("www-authenticate"), 'Basic realm="opshub metrics"', "WWW-Authenticate")
    h.eq(o.get("/metrics", headers={"Authorization": basic("prometheus", PASSWORD + "!")}).status, 401,
         "wrong password")
    h.eq(o.get("/metrics", headers={"Authorization": basic("grafana", PASSWORD)}).status, 401, "wrong user")
    h.eq(o.get("/metrics", headers={"Authorization": "Bearer " + PASSWORD}).status, 401, "wrong scheme")
    r = o.get("/metrics", headers={"Authorization": basic("prometheus", PASSWORD)})
    h.eq(r.status, 200, "the configured user and password")
    h.contains(r.text, "opshub_", "metrics text")
    h.eq(o.get("/healthz").status, 200, "health stays open")
    o.stop()


def test_bad_metrics_auth_refuses_to_start_without_showing_it():
    tmp = h.TempDir("opshub-metrics-auth-")
    path = tmp.join("opshub.yaml")
    with open(path, "w") as f:
        f.write("server:\n  metrics_auth:\n    bearer_token: ${SHORT}\n")
    r = h.run_cli(["config", "check", "--config", path], env={"SHORT": "tiny-secret"})
    h.eq(r.returncode, 2, f"config check exit code ({r.stderr!r})")
    h.contains(r.stderr, f"{path}:3:19: metrics_auth.bearer_token must be 16 to 1024", "FILE:LINE:COL error")
    h.check("tiny-secret" not in r.stdout + r.stderr, "the value is shown")


if __name__ == "__main__":
    h.run(h.collect(globals()))
