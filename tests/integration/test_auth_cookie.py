"""
Integration tests of the browser session (issue 17): POST /api/v1/auth/login with
"cookie": true sets opshub_session (HttpOnly), opshub_refresh (HttpOnly, Path=/api/v1/auth)
and opshub_csrf (readable) with SameSite=Lax, and Secure only over TLS; the cookie
authenticates GETs; a state-changing request by cookie needs X-CSRF-Token equal to the
token bound to that session (missing, wrong and another session's token are refused with
403 csrf); bearer requests need none; refresh by cookie rotates and needs the token too;
logout clears the cookies and ends the session; a doubled or malformed session cookie is
refused; an API token is never accepted from a cookie; no cookie value in any log.
"""
import http.client
import json
import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
JWT_SECRET = h.secret("cookie-test-secret-" + "c" * 40)
PASSWORD = h.secret("cookie alice password 123")
OP_PASSWORD = h.secret("cookie oscar password 123")
COOKIES = ("opshub_session", "opshub_refresh", "opshub_csrf")


class Jar(dict):
    """The cookies a browser would hold for the instance, with each one's attributes."""

    def update_from(self, set_cookies):
        for line in set_cookies:
            parts = [p.strip() for p in line.split(";")]
            name, _, value = parts[0].partition("=")
            attrs = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                attrs[k.lower()] = v
            self.attrs = getattr(self, "attrs", {})
            self.attrs[name] = attrs
            if attrs.get("max-age") == "0":
                self.pop(name, None)
            else:
                self[name] = value
            h.secret(value)

    def header(self, path):
        return "; ".join(f"{k}={v}" for k, v in self.items()
                         if path.startswith(self.attrs.get(k, {}).get("path", "/")))


def request(port, method, path, body=None, headers=None, jar=None, tls_ca=None):
    """One request; returns (Response, [Set-Cookie lines]). With jar, sends its cookies for path
    and stores what the answer sets."""
    if tls_ca:
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                        context=ssl.create_default_context(cafile=tls_ca))
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        hdrs = {"Connection": "close"}
        hdrs.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if jar is not None and jar.header(path):
            hdrs["Cookie"] = jar.header(path)
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        set_cookies = r.msg.get_all("Set-Cookie") or []
        resp = h.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        if jar is not None:
            jar.update_from(set_cookies)
        return resp, set_cookies
    finally:
        c.close()


def login(port, username="alice", password=PASSWORD, tls_ca=None):
    jar = Jar()
    r, sc = request(port, "POST", "/api/v1/auth/login",
                    {"username": username, "password": password, "cookie": True}, jar=jar, tls_ca=tls_ca)
    h.eq(r.status, 200, f"cookie login of {username}: {r.body[:200]!r}")
    return jar, r, sc


def make_cert(dirpath):
    cert, key = os.path.join(dirpath, "c.crt"), os.path.join(dirpath, "c.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"], capture_output=True, text=True, timeout=60)
    h.eq(r.returncode, 0, f"openssl req: {r.stderr}")
    return cert, key


def add_users(o):
    for name, role, pw in (("alice", "admin", PASSWORD), ("oscar", "operator", OP_PASSWORD)):
        r = o.cli("user", "add", name, "--role", role, "--password-stdin", input=pw + "\n")
        h.eq(r.returncode, 0, f"user add {name}: {r.stderr}")


def setup():
    n = ENV["nginx"] = h.Nginx().start()
    cfg = h.make_config([h.http_check("web", n.url("/health"), interval="2s", timeout="1s")])
    o = ENV["o"] = h.track(h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}))
    add_users(o)
    o.start()
    tmp = ENV["tmp"] = h.TempDir("opshub-cookie-tls-")
    cert, key = ENV["cert"] = make_cert(tmp.path)
    cfg = h.make_config([], extra={"server": {"tls": {"cert": cert, "key": key}}})
    t = ENV["t"] = h.track(h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET}, auth=False))
    add_users(t)
    t.start(wait=False)
    h.wait_for(lambda: h.port_open(t.cur_port), 15, "opshub listening with TLS")


def test_cookie_login_sets_three_cookies_and_no_tokens_in_the_body():
    o = ENV["o"]
    jar, r, sc = login(o.cur_port)
    body = r.json()
    h.eq(sorted(body), ["csrf_token", "expires_at", "user"], "body members")
    h.eq(body["user"]["name"], "alice", "user name")
    h.eq(body["user"]["role"], "admin", "user role")
    h.eq(body["user"]["kind"], "user", "user kind")
    h.check(h.is_iso_ms(body["expires_at"]) or body["expires_at"].endswith("Z"), f"expires_at {body['expires_at']}")
    h.eq(sorted(jar), sorted(COOKIES), "cookies set")
    h.eq(jar["opshub_csrf"], body["csrf_token"], "the csrf cookie holds the body's token")
    h.eq(len(body["csrf_token"]), 43, "csrf token is base64url of 32 bytes")
    for name in COOKIES:
        a = jar.attrs[name]
        h.eq(a.get("samesite"), "Lax", f"{name} SameSite")
        h.check("secure" not in a, f"{name} is not Secure over plain HTTP")
        h.eq("httponly" in a, name != "opshub_csrf", f"{name} HttpOnly")
        h.eq(a.get("path"), "/api/v1/auth" if name == "opshub_refresh" else "/", f"{name} Path")
    h.check(jar["opshub_session"].count(".") == 2, "the session cookie holds a JWT")
    h.check(jar["opshub_refresh"].startswith("ohr_"), "the refresh cookie holds a refresh token")
    h.check(b"access_token" not in r.body and b"refresh_token" not in r.body, "no tokens in the body")
    h.check(jar["opshub_session"].encode() not in r.body, "the JWT is not in the body")
    # Without "cookie" the answer is unchanged: tokens in the body, no cookie.
    r, sc = request(o.cur_port, "POST", "/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
    h.eq(r.status, 200, "bearer login")
    h.check("access_token" in r.json() and "refresh_token" in r.json(), "bearer login has tokens in the body")
    h.secret(r.json()["access_token"])
    h.secret(r.json()["refresh_token"])
    h.eq(sc, [], "no Set-Cookie on a bearer login")


def test_cookie_authenticates_reads():
    o = ENV["o"]
    jar, _, _ = login(o.cur_port)
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", jar=jar)
    h.eq(r.status, 200, f"GET /auth/me by cookie: {r.body[:200]!r}")
    h.eq(r.json()["name"], "alice", "me by cookie")
    r, _ = request(o.cur_port, "GET", "/api/v1/checks", jar=jar)
    h.eq(r.status, 200, "GET /checks by cookie")
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me")
    h.eq(r.status, 401, "no cookie, no header: 401")


def test_mutations_by_cookie_need_the_sessions_csrf_token():
    o = ENV["o"]
    jar, r, _ = login(o.cur_port, "oscar", OP_PASSWORD)
    csrf = r.json()["csrf_token"]
    other, r2, _ = login(o.cur_port)
    other_csrf = r2.json()["csrf_token"]
    h.check(csrf != other_csrf, "two sessions have different tokens")
    path = "/api/v1/checks/web/run"
    for what, hdrs in (("no token", {}), ("a wrong token", {"X-CSRF-Token": "A" * 43}),
                       ("another session's token", {"X-CSRF-Token": other_csrf}),
                       ("an empty token", {"X-CSRF-Token": ""}),
                       ("the token with a byte changed", {"X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")}),
                       ("the token cut short", {"X-CSRF-Token": csrf[:42]})):
        r, _ = request(o.cur_port, "POST", path, headers=hdrs, jar=jar)
        h.eq(r.status, 403, f"POST by cookie with {what}: {r.body[:200]!r}")
        h.eq(r.json()["error"]["code"], "csrf", f"code with {what}")
    # The refusals are audited as denied, attributed to the session's user.
    rows = o.sqlite("SELECT COUNT(*) FROM audit_log WHERE action = 'check.run' AND result = 'denied' "
                    "AND status = 403 AND actor LIKE '%oscar%'")
    h.check(int(rows) >= 6, f"csrf refusals audited (got {rows})")
    r, _ = request(o.cur_port, "POST", path, headers={"X-CSRF-Token": csrf}, jar=jar)
    h.eq(r.status, 200, f"POST by cookie with the right token: {r.body[:200]!r}")
    # With a body too (the head check authenticates by cookie before reading it).
    r, _ = request(o.cur_port, "POST", "/api/v1/tokens", {"name": "by-cookie", "role": "viewer"},
                   headers={"X-CSRF-Token": other_csrf}, jar=other)
    h.eq(r.status, 201, f"POST with a body by cookie: {r.body[:200]!r}")
    h.secret(r.json()["token"])
    r, _ = request(o.cur_port, "POST", "/api/v1/tokens", {"name": "by-cookie-2", "role": "viewer"}, jar=other)
    h.eq(r.status, 403, "POST with a body by cookie without the token")


def test_bearer_requests_need_no_csrf_token_and_the_header_wins():
    o = ENV["o"]
    r = o.post("/api/v1/checks/web/run")
    h.eq(r.status, 200, f"bearer POST without X-CSRF-Token: {r.body[:200]!r}")
    # Authorization wins over the cookie: a viewer-less bad bearer with a good cookie is 401.
    jar, _, _ = login(o.cur_port)
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", headers={"Authorization": "Bearer nope.nope.nope"}, jar=jar)
    h.eq(r.status, 401, "a bad Authorization header is not rescued by a good cookie")
    r, _ = request(o.cur_port, "POST", "/api/v1/checks/web/run",
                   headers={"Authorization": f"Bearer {o.ensure_token()}"}, jar=jar)
    h.eq(r.status, 200, "bearer + cookie: the bearer decides, no CSRF token needed")


def test_refresh_by_cookie_rotates_and_needs_the_token():
    o = ENV["o"]
    jar, r, _ = login(o.cur_port)
    csrf = r.json()["csrf_token"]
    old_refresh, old_session = jar["opshub_refresh"], jar["opshub_session"]
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/refresh", {"cookie": True}, jar=jar)
    h.eq(r.status, 403, f"refresh by cookie without X-CSRF-Token: {r.body[:200]!r}")
    h.eq(r.json()["error"]["code"], "csrf", "code")
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/refresh", {"cookie": True},
                   headers={"X-CSRF-Token": "B" * 43}, jar=jar)
    h.eq(r.status, 403, "refresh by cookie with a wrong token")
    r, sc = request(o.cur_port, "POST", "/api/v1/auth/refresh", {"cookie": True},
                    headers={"X-CSRF-Token": csrf}, jar=jar)
    h.eq(r.status, 200, f"refresh by cookie: {r.body[:200]!r}")
    h.eq(sorted(r.json()), ["csrf_token", "expires_at", "user"], "refresh answers like login")
    h.eq(len(sc), 3, "the three cookies are set again")
    h.check(jar["opshub_refresh"] != old_refresh, "the refresh token rotated")
    h.eq(jar["opshub_csrf"], csrf, "the csrf token is the session's: unchanged by a rotation")
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", jar=jar)
    h.eq(r.status, 200, "the new session cookie works")
    # The spent refresh token (replayed from a copy) ends the session.
    stolen = Jar(opshub_refresh=old_refresh)
    stolen.attrs = {"opshub_refresh": {"path": "/api/v1/auth"}}
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/refresh", {"cookie": True},
                   headers={"X-CSRF-Token": csrf}, jar=stolen)
    h.eq(r.status, 401, "a spent refresh cookie is refused")
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", jar=jar)
    h.eq(r.status, 401, "reuse of a spent refresh token ended the session")
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/refresh", {"cookie": True}, headers={"X-CSRF-Token": csrf})
    h.eq(r.status, 401, "refresh by cookie without the cookie")
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/refresh", {})
    h.eq(r.status, 400, "refresh with neither token nor cookie")
    del old_session


def test_logout_by_cookie_clears_the_cookies_and_ends_the_session():
    o = ENV["o"]
    jar, r, _ = login(o.cur_port)
    csrf, session = r.json()["csrf_token"], dict(jar)
    r, _ = request(o.cur_port, "POST", "/api/v1/auth/logout", jar=jar)
    h.eq(r.status, 403, "logout by cookie without the token")
    r, sc = request(o.cur_port, "POST", "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}, jar=jar)
    h.eq(r.status, 204, f"logout: {r.body[:200]!r}")
    h.eq(len(sc), 3, "three clearing Set-Cookie lines")
    for line in sc:
        h.contains(line, "Max-Age=0", "cleared cookie")
    h.eq(dict(jar), {}, "the jar is empty")
    old = Jar(opshub_session=session["opshub_session"])
    old.attrs = {}
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", jar=old)
    h.eq(r.status, 401, "the old session cookie no longer works")


def test_doubled_malformed_and_api_token_cookies_are_refused():
    o = ENV["o"]
    jar, _, _ = login(o.cur_port)
    good = jar["opshub_session"]
    cases = {
        "the session cookie twice": f"opshub_session={good}; opshub_session={good}",
        "twice in two lines": None,
        "a quoted-garbage value": 'opshub_session="a b"',
        "an API token": f"opshub_session={o.ensure_token()}",
        "a garbage JWT": "opshub_session=x.y.z",
    }
    for what, cookie in cases.items():
        if cookie is None:
            r = h.http_request_from(o.cur_port, "127.0.0.1", "GET", "/api/v1/auth/me",
                                    headers={"Cookie": [f"opshub_session={good}", f"opshub_session={good}"]})
        else:
            r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", headers={"Cookie": cookie})
        h.eq(r.status, 401, f"{what}: {r.body[:200]!r}")
    # Whitespace, other cookies (even odd ones), a quoted value and one pair per line are fine.
    for cookie in (f"a=1;opshub_session={good}", f"  theme=dark ;  opshub_session = {good} ; x",
                   f'odd="a b"; opshub_session="{good}"', f"opshub_session={good};"):
        r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", headers={"Cookie": cookie})
        h.eq(r.status, 200, f"cookie header {cookie[:30]!r}...: {r.body[:200]!r}")
    r = h.http_request_from(o.cur_port, "127.0.0.1", "GET", "/api/v1/auth/me",
                            headers={"Cookie": ["theme=dark", f"opshub_session={good}"]})
    h.eq(r.status, 200, "the session cookie in a second Cookie line")
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me",
                   headers={"Cookie": "; ".join(f"c{i}=v" for i in range(150)) + f"; opshub_session={good}"})
    h.eq(r.status, 401, "more than 100 cookie pairs are refused")


def test_secure_attribute_over_tls():
    t = ENV["t"]
    jar, r, sc = login(t.cur_port, tls_ca=ENV["cert"][0])
    h.eq(len(sc), 3, "three cookies over TLS")
    for name in COOKIES:
        h.check("secure" in jar.attrs[name], f"{name} is Secure over TLS: {jar.attrs[name]}")
    csrf = r.json()["csrf_token"]
    r, sc = request(t.cur_port, "POST", "/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}, jar=jar,
                    tls_ca=ENV["cert"][0])
    h.eq(r.status, 204, "logout over TLS")
    for line in sc:
        h.contains(line, "Secure", "cleared cookie over TLS is Secure too")


def test_zz_no_cookie_value_in_logs():
    for k in ("o", "t"):
        text = ENV[k].log_text()
        h.check(len(text) > 0, "there is a log")
        h.assert_no_secret_in(text, f"the log of {k}")
        h.check("opshub_session=" not in text and "ohr_" not in text, f"no cookie text in the log of {k}")


def teardown():
    for k in ("o", "t", "nginx"):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
