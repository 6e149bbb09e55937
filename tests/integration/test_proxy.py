"""
Integration tests of server.trusted_proxies behind a real nginx reverse proxy on loopback
(proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for). Clients bind distinct loopback
source addresses (127.0.0.2, 127.0.0.3, ...) so each is a different client. Through the proxy a
spoofed `X-Forwarded-For: 1.2.3.4` is not believed: the access log's remote, the audit row's ip
and the login lockout all see the real client, and the lockout is per client, not per proxy. A
client talking to opshub directly is not a trusted proxy: its X-Forwarded-For and Forwarded are
ignored. SIGHUP applies a changed trusted_proxies.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PASSWORD = h.secret("proxied-password-2024")
JWT_SECRET = h.secret("proxy-tests-jwt-secret-0123456789abcdef")


def config(trusted):
    server = {"trusted_proxies": trusted} if trusted is not None else {}
    return h.make_config([], extra={"server": server})


def setup():
    o = ENV["o"] = h.track(h.Opshub(config(["127.0.0.1"]), env={"JWT_SECRET": JWT_SECRET}))
    r = o.cli("user", "add", "pat", "--role", "viewer", "--password-stdin", input=PASSWORD + "\n")
    h.eq(r.returncode, 0, f"user add pat: {r.stderr}")
    o.start()
    o.ensure_token()
    ENV["nginx"] = h.Nginx(locations=f"""location / {{
            proxy_pass http://127.0.0.1:{o.cur_port};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}""").start()


def O():
    return ENV["o"]


request = h.http_request_from


def via_proxy(source_ip, method, path, **kw):
    return request(ENV["nginx"].port, source_ip, method, path, **kw)


def direct(source_ip, method, path, **kw):
    return request(O().cur_port, source_ip, method, path, **kw)


def logged(request_id):
    """The access log line of the request with this X-Request-Id."""
    lines = h.wait_for(lambda: O().log_lines("request", request_id=request_id), 5, f"log of {request_id}")
    return lines[-1]


def test_a_spoofed_forwarded_for_through_the_proxy_is_the_real_client():
    r = via_proxy("127.0.0.2", "GET", "/api/v1/auth/me",
                  headers={"X-Forwarded-For": "1.2.3.4", "X-Request-Id": "proxy-spoof-1"})
    h.eq(r.status, 401, "no credentials")
    line = logged("proxy-spoof-1")
    h.eq(line.get("remote"), "127.0.0.2", f"the real client, not the spoofed 1.2.3.4: {line}")
    h.eq(line.get("peer"), "127.0.0.1", "the peer is nginx")
    # Without a header of its own the client is still itself, not the proxy.
    via_proxy("127.0.0.3", "GET", "/api/v1/auth/me", headers={"X-Request-Id": "proxy-plain-1"})
    h.eq(logged("proxy-plain-1").get("remote"), "127.0.0.3", "the client through the proxy")


def test_the_audit_row_names_the_real_client():
    r = via_proxy("127.0.0.4", "POST", "/api/v1/auth/login", body={"username": "nobody-here", "password": "x" * 12},
                  headers={"X-Forwarded-For": "1.2.3.4", "X-Request-Id": "proxy-audit-1"})
    h.eq(r.status, 401, "a failed login")

    def row():
        entries = O().get_json("/api/v1/audit?action=auth.login&limit=50")["entries"]
        return [e for e in entries if e["request_id"] == "proxy-audit-1"]
    rows = h.wait_for(row, 5, "the audit row of the failed login")
    h.eq(rows[0]["ip"], "127.0.0.4", "audit ip")


def test_the_login_lockout_is_per_client_behind_the_proxy():
    # 127.0.0.5 guesses, each time claiming another address: if the header were believed it
    # would never be locked; if the proxy's address were used, the owner would be locked too.
    for i in range(6):
        r = via_proxy("127.0.0.5", "POST", "/api/v1/auth/login",
                      body={"username": "pat", "password": f"wrong-guess-{i:04d}"},
                      headers={"X-Forwarded-For": f"198.51.100.{i + 1}"})
        h.check(r.status in (401, 429), f"guess {i}: {r.status} {r.body[:200]!r}")
    r = via_proxy("127.0.0.5", "POST", "/api/v1/auth/login", body={"username": "pat", "password": PASSWORD},
                  headers={"X-Forwarded-For": "203.0.113.99"})
    h.eq(r.status, 429, f"the guessing client is locked out whatever it claims: {r.body[:200]!r}")
    h.eq(r.json()["error"]["code"], "locked", "locked, not rate limited")
    r = via_proxy("127.0.0.6", "POST", "/api/v1/auth/login", body={"username": "pat", "password": PASSWORD})
    h.eq(r.status, 200, f"the owner through the same proxy still logs in: {r.body[:200]!r}")
    h.secret(r.json()["access_token"])
    h.secret(r.json()["refresh_token"])


def test_forwarding_headers_from_a_direct_client_are_ignored():
    r = direct("127.0.0.7", "GET", "/api/v1/auth/me",
               headers={"X-Forwarded-For": "1.2.3.4", "Forwarded": "for=5.6.7.8", "X-Request-Id": "direct-1"})
    h.eq(r.status, 401, "no credentials")
    line = logged("direct-1")
    h.eq(line.get("remote"), "127.0.0.7", f"the peer itself: {line}")
    h.eq(line.get("peer"), "127.0.0.7", "peer")
    # And its guesses lock it out, however it rotates the headers.
    for i in range(6):
        direct("127.0.0.8", "POST", "/api/v1/auth/login", body={"username": "pat", "password": f"direct-{i:04d}"},
               headers={"X-Forwarded-For": f"198.51.100.{i + 1}", "Forwarded": f"for=192.0.2.{i + 1}"})
    r = direct("127.0.0.8", "POST", "/api/v1/auth/login", body={"username": "pat", "password": PASSWORD},
               headers={"X-Forwarded-For": "203.0.113.7"})
    h.eq(r.status, 429, f"the direct client is locked out: {r.body[:200]!r}")


def test_both_headers_disagreeing_through_the_proxy_fall_back_to_the_proxy():
    # nginx appends to X-Forwarded-For and passes the client's own Forwarded on unchanged.
    via_proxy("127.0.0.9", "GET", "/api/v1/auth/me", headers={"Forwarded": "for=1.2.3.4", "X-Request-Id": "both-1"})
    h.eq(logged("both-1").get("remote"), "127.0.0.1", "ambiguous: the proxy's address, never 1.2.3.4")


def reload(trusted):
    before = len(O().log_lines("config reloaded"))
    O().reload(config(trusted))
    O().wait_log("config reloaded", count=before + 1)


def test_sighup_applies_a_changed_trusted_proxies():
    reload(None)
    via_proxy("127.0.0.2", "GET", "/api/v1/auth/me", headers={"X-Request-Id": "reload-1"})
    h.eq(logged("reload-1").get("remote"), "127.0.0.1", "no trusted proxy: the client is nginx")
    reload(["10.0.0.0/8", "127.0.0.0/30"])
    via_proxy("127.0.0.2", "GET", "/api/v1/auth/me", headers={"X-Request-Id": "reload-2"})
    h.eq(logged("reload-2").get("remote"), "127.0.0.2", "trusted again")
    # 127.0.0.2 is inside 127.0.0.0/30 now: a trusted hop, skipped; all trusted → the left-most.
    via_proxy("127.0.0.2", "GET", "/api/v1/auth/me", headers={"X-Forwarded-For": "198.51.100.7",
                                                           "X-Request-Id": "reload-3"})
    h.eq(logged("reload-3").get("remote"), "198.51.100.7", "the walk skips trusted hops")


def test_a_bad_network_refuses_to_start_naming_the_place():
    cfg = config(["127.0.0.1", "10.0.0.1/8"])
    with h.Opshub(cfg, auth=False) as o:
        o.start(wait=False)
        o.wait_exit(15, expect_code=2)
        h.contains(o.log_text(), "bad network '10.0.0.1/8': address has bits set past the prefix length",
                   "config message")
        h.contains(o.log_text(), "opshub.yaml:", "FILE:LINE:COL")


def test_process_still_healthy_at_end():
    h.check(O().running(), "opshub died during the proxy tests")
    O().stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
