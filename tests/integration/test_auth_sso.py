"""
Integration tests of single sign-on (issue 17) against the real binary and two local
providers this test controls: a fake GitHub (OAuth code exchange, /user, /user/orgs,
/user/teams) and a fake OpenID Connect provider (discovery, authorize with PKCE S256 and
nonce, token endpoint that checks the PKCE verifier, a JWKS with an RSA and a P-256 key; ID
tokens signed here with Python's cryptography). The browser is simulated: start, the
provider's authorize step, the callback, with a cookie jar. Covered: GitHub org/team to
role (highest rule wins, role follows the provider at every login), unknown organisation
refused, forged, missing, another login's and expired state refused; OIDC success with
RS256 and ES256, nonce, PKCE, role claim and default; wrong nonce, expired token, wrong
signature (another key under the same kid), wrong audience, wrong issuer each refused;
providers down give a clear error and opshub goes on; a local user of the same name is
never taken over; refusals are audited; no secret, code or token in any log.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:  # the interpreter's own, else Debian's python3-cryptography (scripts/setup.sh) for the same 3.11
    import cryptography  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_auth_cookie import Jar, request  # noqa: E402

ENV = {}
JWT_SECRET = h.secret("sso-test-jwt-secret-" + "s" * 40)
GH_SECRET = h.secret("github-client-secret-0123456789")
OIDC_SECRET = h.secret("oidc-client-secret-0123456789")
LOCAL_PASSWORD = h.secret("local-octo-password-123")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n, size=None):
    return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")


class Fake(ThreadingHTTPServer):
    """A loopback HTTP server whose GET/POST go to handle(method, path, query, form, headers)."""
    daemon_threads = True

    def __init__(self, port=0):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _do(self, method):
                u = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                form = dict(urllib.parse.parse_qsl(body))
                q = dict(urllib.parse.parse_qsl(u.query))
                outer.requests.append((method, u.path))
                status, hdrs, out = outer.handle(method, u.path, q, form, self.headers)
                data = out if isinstance(out, bytes) else json.dumps(out).encode()
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._do("GET")

            def do_POST(self):
                self._do("POST")

        self.requests = []
        super().__init__(("127.0.0.1", port), Handler)
        self.port = self.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.shutdown()
        self.server_close()


class FakeGitHub(Fake):
    """users: login -> {"orgs": [...], "teams": [(org, slug)]}; codes are issued by approve()."""

    def __init__(self, port=0):
        self.users, self.codes, self.tokens = {}, {}, {}
        super().__init__(port)

    def approve(self, login):
        code = h.secret("ghcode" + b64url(os.urandom(12)))
        self.codes[code] = login
        return code

    def handle(self, method, path, q, form, headers):
        if method == "POST" and path == "/login/oauth/access_token":
            login = self.codes.pop(form.get("code"), None)
            if form.get("client_id") != "gh-client" or form.get("client_secret") != GH_SECRET or login is None:
                return 200, {}, {"error": "bad_verification_code"}
            tok = h.secret("gho_" + b64url(os.urandom(18)))
            self.tokens[tok] = login
            return 200, {}, {"access_token": tok, "token_type": "bearer", "scope": "read:org"}
        auth = headers.get("Authorization", "")
        login = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if login is None:
            return 401, {}, {"message": "Bad credentials"}
        u = self.users[login]
        if path == "/user":
            return 200, {}, {"login": login, "id": 1}
        if path == "/user/orgs":
            return 200, {}, [{"login": o} for o in u["orgs"]]
        if path == "/user/teams":
            return 200, {}, [{"slug": t, "organization": {"login": o}} for o, t in u["teams"]]
        return 404, {}, {"message": "Not Found"}


class FakeOIDC(Fake):
    """authorize() records the PKCE challenge and nonce and issues a code; the token endpoint
    checks the verifier and answers with an ID token made by self.make_token(claims)."""

    def __init__(self, port=0):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.grants = {}
        self.next = {}            # claim overrides and signing choice for the next token
        self.pkce_checked = 0
        super().__init__(port)
        self.issuer = self.url

    def jwks(self):
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": b64url(uint(rn.n)), "e": b64url(uint(rn.e))},
            {"kty": "EC", "kid": "e1", "use": "sig", "crv": "P-256", "x": b64url(uint(en.x, 32)),
             "y": b64url(uint(en.y, 32))}]}

    def sign(self, claims, alg="RS256", kid="r1", key=None):
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
        if alg == "RS256":
            sig = (key or self.rsa).sign(signing, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature((key or self.ec).sign(signing, ec.ECDSA(hashes.SHA256())))
            sig = uint(r, 32) + uint(s, 32)
        return signing.decode() + "." + b64url(sig)

    def handle(self, method, path, q, form, headers):
        if path == "/.well-known/openid-configuration":
            return 200, {}, {"issuer": self.issuer, "authorization_endpoint": self.url + "/authorize",
                             "token_endpoint": self.url + "/token", "jwks_uri": self.url + "/jwks"}
        if path == "/jwks":
            return 200, {}, self.jwks()
        if path == "/authorize":
            code = h.secret("oidccode" + b64url(os.urandom(12)))
            self.grants[code] = dict(q, user=self.next.get("user", {}))
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
            return 302, {"Location": loc}, b""
        if method == "POST" and path == "/token":
            g = self.grants.pop(form.get("code"), None)
            if g is None or form.get("client_id") != "oidc-client" or form.get("client_secret") != OIDC_SECRET or \
                    form.get("redirect_uri") != g["redirect_uri"] or form.get("grant_type") != "authorization_code":
                return 400, {}, {"error": "invalid_grant"}
            want = b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            if g.get("code_challenge_method") != "S256" or want != g.get("code_challenge"):
                return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            self.pkce_checked += 1
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": "oidc-client", "sub": "sub-123", "iat": now, "exp": now + 300,
                      "nonce": g["nonce"], "preferred_username": "alice", "groups": ["ops"]}
            claims.update(g["user"].get("claims", {}))
            for k in g["user"].get("drop", []):
                claims.pop(k, None)
            tok = self.sign(claims, **g["user"].get("sign", {}))
            h.secret(tok)
            return 200, {}, {"access_token": h.secret("at" + b64url(os.urandom(12))), "token_type": "Bearer",
                             "id_token": tok}
        return 404, {}, {"error": "not found"}


def sso_config(gh_url, oidc_url):
    return {"server": {"auth": {
        "github": {"client_id": "gh-client", "client_secret": "${GH_SECRET}", "api_url": gh_url, "oauth_url": gh_url,
                   "roles": [{"org": "acme", "team": "sre", "role": "admin"}, {"org": "acme", "role": "viewer"},
                             {"org": "ops-co", "role": "operator"}]},
        "oidc": {"name": "Keycloak", "issuer": oidc_url, "client_id": "oidc-client", "client_secret": "${OIDC_SECRET}",
                 "role_claim": "groups", "roles": [{"value": "ops", "role": "operator"}, {"value": "root", "role": "admin"}],
                 "default_role": "none"}}}}


def setup():
    gh = ENV["gh"] = FakeGitHub()
    ENV["oidc_port"] = h.free_port()     # the OIDC provider starts later: the first test finds it down
    cfg = h.make_config([], extra=sso_config(gh.url, f"http://127.0.0.1:{ENV['oidc_port']}"))
    o = ENV["o"] = h.track(h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET, "GH_SECRET": GH_SECRET,
                                               "OIDC_SECRET": OIDC_SECRET}))
    # Local usernames cannot hold ':' (so they never collide with sign-on users); one renamed
    # in the database stands for a clash all the same.
    r = o.cli("user", "add", "local", "--role", "admin", "--password-stdin", input=LOCAL_PASSWORD + "\n")
    h.eq(r.returncode, 0, f"user add local: {r.stderr}")
    o.sqlite("UPDATE users SET username = 'github:local' WHERE username = 'local'")
    o.start()


def start(o, provider, jar):
    r, _ = request(o.cur_port, "GET", f"/auth/{provider}/start", jar=jar)
    h.eq(r.status, 302, f"{provider} start: {r.body[:200]!r}")
    return r.header("location")


def callback(o, provider, query, jar):
    r, _ = request(o.cur_port, "GET", f"/auth/{provider}/callback?{urllib.parse.urlencode(query)}", jar=jar)
    h.eq(r.status, 302, f"{provider} callback: {r.body[:200]!r}")
    return r.header("location")


def github_login(o, login, jar=None):
    jar = jar if jar is not None else Jar()
    loc = start(o, "github", jar)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    return jar, callback(o, "github", {"code": ENV["gh"].approve(login), "state": q["state"]}, jar), q


def oidc_login(o, user=None, jar=None):
    """user: {"claims": {...}, "drop": [...], "sign": {...}} for the token the provider will issue."""
    jar = jar if jar is not None else Jar()
    fake = ENV["oidc"]
    fake.next = {"user": user or {}}
    loc = start(o, "oidc", jar)
    r = h.http_request(fake.port, "GET", urllib.parse.urlsplit(loc).path + "?" + urllib.parse.urlsplit(loc).query)
    h.eq(r.status, 302, "the provider's authorize step")
    back = urllib.parse.urlsplit(r.header("location"))
    h.eq(back.path, "/auth/oidc/callback", "redirect_uri path")
    return jar, callback(o, "oidc", dict(urllib.parse.parse_qsl(back.query)), jar)


def me(o, jar):
    r, _ = request(o.cur_port, "GET", "/api/v1/auth/me", jar=jar)
    return r


def refused(o, jar, loc, code):
    h.eq(loc, f"/#/login?error={code}", f"refused with {code}")
    h.check("opshub_session" not in jar, "no session cookie after a refusal")
    h.eq(me(o, jar).status, 401, "not signed in")


def test_oidc_provider_down_is_a_clear_error():
    o = ENV["o"]
    jar = Jar()
    r, _ = request(o.cur_port, "GET", "/auth/oidc/start", jar=jar)
    h.eq(r.status, 302, "start with the provider down")
    h.eq(r.header("location"), "/#/login?error=provider", "provider error")
    h.eq(o.get("/healthz").status, 200, "opshub goes on")
    ENV["oidc"] = FakeOIDC(ENV["oidc_port"])
    o.wait_log("auth: sign-on refused", code="provider", provider="oidc")


def test_providers_lists_both():
    o = ENV["o"]
    r = o.get("/api/v1/auth/providers", auth=False)
    h.eq(r.status, 200, "providers")
    h.eq(r.json(), {"password": True, "providers": [
        {"id": "github", "name": "GitHub", "start": "/auth/github/start"},
        {"id": "oidc", "name": "Keycloak", "start": "/auth/oidc/start"}]}, "providers body")


def test_github_start_redirects_with_state_in_a_sealed_cookie():
    o = ENV["o"]
    jar = Jar()
    loc = start(o, "github", jar)
    u = urllib.parse.urlsplit(loc)
    q = dict(urllib.parse.parse_qsl(u.query))
    h.eq(f"{u.scheme}://{u.netloc}{u.path}", ENV["gh"].url + "/login/oauth/authorize", "authorize URL")
    h.eq(q["client_id"], "gh-client", "client_id")
    h.eq(q["redirect_uri"], f"http://127.0.0.1:{o.cur_port}/auth/github/callback", "redirect_uri from Host")
    h.eq(len(q["state"]), 43, "state is 32 random bytes")
    h.check("client_secret" not in loc and GH_SECRET not in loc, "no secret in the URL")
    a = jar.attrs["opshub_sso"]
    h.eq(a.get("path"), "/auth", "opshub_sso Path")
    h.check("httponly" in a and a.get("samesite") == "Lax", f"opshub_sso attributes {a}")
    h.eq(a.get("max-age"), "600", "opshub_sso lives 10 minutes")
    h.check(q["state"] not in jar["opshub_sso"] or jar["opshub_sso"].count(".") == 2, "sealed")


def test_github_org_and_team_map_to_roles():
    o, gh = ENV["o"], ENV["gh"]
    gh.users["octo"] = {"orgs": ["acme"], "teams": [("acme", "sre")]}
    gh.users["Vic"] = {"orgs": ["Acme"], "teams": []}
    gh.users["pat"] = {"orgs": [], "teams": [("ops-co", "night")]}   # private org membership, seen by team
    for login, role in (("octo", "admin"), ("Vic", "viewer"), ("pat", "operator")):
        jar, loc, _ = github_login(o, login)
        h.eq(loc, "/", f"{login} signed in")
        for name in ("opshub_session", "opshub_refresh", "opshub_csrf"):
            h.check(name in jar, f"{login}: {name} set")
        h.check("opshub_sso" not in jar, "the state cookie is cleared")
        r = me(o, jar)
        h.eq(r.status, 200, f"{login} /auth/me by cookie")
        h.eq((r.json()["name"], r.json()["role"]), (f"github:{login.lower()}", role), f"{login} user and role")
    # The provider decides at every sign-in: octo leaves the sre team.
    gh.users["octo"] = {"orgs": ["acme"], "teams": []}
    jar, loc, _ = github_login(o, "octo")
    h.eq(me(o, jar).json()["role"], "viewer", "octo's role follows GitHub")
    n = o.sqlite("SELECT COUNT(*) FROM users WHERE username = 'github:octo'")
    h.eq(n, "1", "one user for octo")
    h.eq(o.sqlite("SELECT password_hash FROM users WHERE username = 'github:octo'"), "!sso", "no password")
    r = o.post("/api/v1/auth/login", {"username": "github:octo", "password": "!sso-password-guess"}, auth=False)
    h.eq(r.status, 401, "an SSO user has no password login")
    rows = o.sqlite("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.sso' AND result = 'ok' "
                    "AND target = 'user github:octo'")
    h.eq(rows, "2", "each sign-in is audited with its session")


def test_github_unknown_org_is_refused():
    o, gh = ENV["o"], ENV["gh"]
    gh.users["eve"] = {"orgs": ["evil-corp"], "teams": [("evil-corp", "sre")]}
    jar, loc, _ = github_login(o, "eve")
    refused(o, jar, loc, "org")
    h.eq(o.sqlite("SELECT COUNT(*) FROM users WHERE username = 'github:eve'"), "0", "no user made")
    rows = o.sqlite("SELECT detail FROM audit_log WHERE action = 'auth.sso' AND result = 'denied' "
                    "AND target = 'user github:eve'")
    h.contains(rows, "github: org", "the refusal is audited")


def test_github_local_user_of_the_same_name_is_not_taken_over():
    o, gh = ENV["o"], ENV["gh"]
    gh.users["local"] = {"orgs": ["acme"], "teams": [("acme", "sre")]}
    jar, loc, _ = github_login(o, "local")
    refused(o, jar, loc, "org")
    h.eq(o.sqlite("SELECT role || ' ' || (password_hash != '!sso') FROM users WHERE username = 'github:local'"),
         "admin 1", "the local user is unchanged")


def test_forged_missing_foreign_and_expired_state_are_refused():
    o, gh = ENV["o"], ENV["gh"]
    gh.users["octo"] = {"orgs": ["acme"], "teams": []}
    # forged state with a real cookie
    jar = Jar()
    start(o, "github", jar)
    refused(o, jar, callback(o, "github", {"code": gh.approve("octo"), "state": "forged-" + "A" * 36}, jar), "state")
    # no state at all, and no cookie at all
    jar = Jar()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", jar)).query))
    refused(o, jar, callback(o, "github", {"code": gh.approve("octo")}, jar), "state")
    refused(o, Jar(), callback(o, "github", {"code": gh.approve("octo"), "state": q["state"]}, Jar()), "state")
    # another browser's login: its state with this browser's cookie
    other = Jar()
    q2 = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", other)).query))
    jar = Jar()
    start(o, "github", jar)
    refused(o, jar, callback(o, "github", {"code": gh.approve("octo"), "state": q2["state"]}, jar), "state")
    # the GitHub state cookie at the OIDC callback
    jar = Jar()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", jar)).query))
    refused(o, jar, callback(o, "oidc", {"code": "x", "state": q["state"]}, jar), "state")
    # an expired state cookie, correctly signed (the test knows JWT_SECRET)
    now = int(time.time())
    claims = {"sub": "S" * 43, "role": "github", "aud": "opshub-sso", "iss": "v" * 43, "iat": now - 900,
              "exp": now - 300, "jti": "n" * 43}
    hdr = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(JWT_SECRET.encode(), f"{hdr}.{body}".encode(), hashlib.sha256).digest())
    jar = Jar(opshub_sso=f"{hdr}.{body}.{sig}")
    jar.attrs = {"opshub_sso": {"path": "/auth"}}
    refused(o, jar, callback(o, "github", {"code": gh.approve("octo"), "state": "S" * 43}, jar), "state")
    # the same, unexpired, is accepted: the expiry alone refused it
    claims["exp"] = now + 300
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(JWT_SECRET.encode(), f"{hdr}.{body}".encode(), hashlib.sha256).digest())
    jar = Jar(opshub_sso=f"{hdr}.{body}.{sig}")
    jar.attrs = {"opshub_sso": {"path": "/auth"}}
    h.eq(callback(o, "github", {"code": gh.approve("octo"), "state": "S" * 43}, jar), "/", "a valid sealed state")
    h.check(len(o.log_lines("auth: sign-on refused", code="state")) >= 6, "state refusals are logged")


def test_github_bad_code_is_refused():
    o = ENV["o"]
    jar = Jar()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", jar)).query))
    refused(o, jar, callback(o, "github", {"code": "never-issued", "state": q["state"]}, jar), "token")
    jar = Jar()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", jar)).query))
    refused(o, jar, callback(o, "github", {"error": "access_denied", "state": q["state"]}, jar), "provider")


def test_oidc_success_with_pkce_nonce_and_role_claim():
    o, fake = ENV["o"], ENV["oidc"]
    jar = Jar()
    fake.next = {"user": {}}
    loc = start(o, "oidc", jar)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
    h.eq(urllib.parse.urlsplit(loc).path, "/authorize", "the discovered authorization endpoint")
    h.eq(q["response_type"], "code", "response_type")
    h.eq(q["code_challenge_method"], "S256", "PKCE method")
    h.eq(len(q["code_challenge"]), 43, "PKCE challenge")
    h.eq(q["scope"], "openid email profile", "default scopes")
    h.check(len(q["nonce"]) == 43 and q["nonce"] != q["state"], "nonce")
    checked = fake.pkce_checked
    jar, loc = oidc_login(o)
    h.eq(loc, "/", "signed in")
    h.eq(fake.pkce_checked, checked + 1, "the provider verified the PKCE verifier")
    r = me(o, jar)
    h.eq((r.json()["name"], r.json()["role"]), ("oidc:alice", "operator"), "user from preferred_username, role ops")
    # ES256, the highest of several matching values, the email when there is no preferred_username
    jar, loc = oidc_login(o, {"claims": {"groups": ["ops", "root"], "email": "bob@example.com", "sub": "b",
                                         "email_verified": True},
                              "drop": ["preferred_username"], "sign": {"alg": "ES256", "kid": "e1"}})
    h.eq(loc, "/", "ES256 sign-in")
    r = me(o, jar)
    h.eq((r.json()["name"], r.json()["role"]), ("oidc:bob@example.com", "admin"), "ES256 user and role")
    # an unverified address is not a name: the subject is
    jar, loc = oidc_login(o, {"claims": {"email": "admin@example.com", "sub": "sub-77"}, "drop": ["preferred_username"]})
    h.eq(me(o, jar).json()["name"], "oidc:sub-77", "unverified email: the sub names the user")
    # azp of this client and an aud array holding it are fine
    jar, loc = oidc_login(o, {"claims": {"aud": ["other", "oidc-client"], "azp": "oidc-client",
                                         "preferred_username": "carol"}})
    h.eq(loc, "/", "aud array with azp")
    discoveries = sum(1 for m, p in fake.requests if p == "/.well-known/openid-configuration")
    h.eq(discoveries, 1, "the discovery document is cached")


def test_oidc_bad_tokens_are_refused():
    o, fake = ENV["o"], ENV["oidc"]
    now = int(time.time())
    cases = [
        ("a wrong nonce", {"claims": {"nonce": "not-this-login"}}, "nonce", "nonce"),
        ("no nonce", {"drop": ["nonce"]}, "nonce", "nonce"),
        ("an expired token", {"claims": {"exp": now - 3600, "iat": now - 7200}}, "token", "expired"),
        ("a token from the future", {"claims": {"iat": now + 3600}}, "token", "not valid yet"),
        ("a wrong signature (another key, same kid)", {"sign": {"key": fake.other}}, "token", "signature"),
        ("an unknown kid", {"sign": {"kid": "nope"}}, "token", "no key"),
        ("a wrong audience", {"claims": {"aud": "another-client"}}, "token", "another client"),
        ("another client's azp", {"claims": {"aud": ["oidc-client", "x"], "azp": "x"}}, "token", "another client"),
        ("a wrong issuer", {"claims": {"iss": "https://evil.example.com"}}, "token", "issuer"),
        ("no matching group and no default", {"claims": {"groups": ["guests"], "preferred_username": "gus"}}, "org",
         "groups claim"),
    ]
    for what, user, code, reason in cases:
        before = len(o.log_lines("auth: sign-on refused"))
        jar, loc = oidc_login(o, user)
        h.eq(loc, f"/#/login?error={code}", f"{what} refused with {code}")
        h.check("opshub_session" not in jar, f"{what}: no session")
        line = o.wait_log("auth: sign-on refused", count=before + 1)[-1]
        h.contains(line.get("reason", ""), reason, f"{what}: the logged reason")
    h.eq(o.sqlite("SELECT COUNT(*) FROM users WHERE username = 'oidc:gus'"), "0", "no user for a refusal")
    denied = o.sqlite("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.sso' AND result = 'denied' "
                      "AND detail LIKE 'oidc:%'")
    h.check(int(denied) >= len(cases), f"refusals audited ({denied})")


def test_github_provider_down_is_a_clear_error():
    o, gh = ENV["o"], ENV["gh"]
    gh.users["octo"] = {"orgs": ["acme"], "teams": []}
    jar = Jar()
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start(o, "github", jar)).query))
    code = gh.approve("octo")
    gh.close()
    refused(o, jar, callback(o, "github", {"code": code, "state": q["state"]}, jar), "provider")
    h.eq(o.get("/healthz").status, 200, "opshub goes on")
    line = o.wait_log("auth: sign-on refused", code="provider", provider="github")[-1]
    h.contains(line.get("reason", ""), "token", "the log says which step failed")


def test_config_errors_have_positions_and_hide_secrets():
    path = ENV["o"].tmp.join("bad-sso.yaml")
    with open(path, "w") as f:
        f.write("server:\n"
                "  auth:\n"
                "    github:\n"
                "      client_id: gh\n"
                "      client_secret: \"has space secret\"\n"
                "      api_url: ftp://x\n"
                "      roles:\n"
                "        - {org: acme, role: owner}\n"
                "        - {team: sre, role: admin}\n"
                "    oidc:\n"
                "      issuer: http://id.example.com\n"
                "      scopes: [email]\n"
                "      default_role: admin\n"
                "checks: []\n")
    r = h.run_cli(["config", "check", "--config", path])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    h.eq(h.config_errors(r.stdout + r.stderr, path), [
        (5, 22, "client_secret must be 1 to 1024 characters without spaces or control characters "
                "(the value is not shown)"),
        (6, 16, "bad URL 'ftp://x': expected http:// or https://"),
        (8, 29, "unknown role 'owner' (expected viewer, operator or admin)"),
        (9, 11, "a roles entry needs org"),
        (11, 7, "oidc needs client_id"),
        (11, 7, "oidc needs roles or default_role: viewer (else nobody may sign in)"),
        (11, 15, "issuer must be an https URL (http only on loopback, for tests)"),
        (12, 15, "scopes must include openid"),
        (13, 21, "unknown default_role 'admin' (expected none or viewer)")], "errors")
    h.check("has space secret" not in r.stdout + r.stderr, "the secret is not quoted")


def test_github_from_the_environment_alone_is_listed_but_warns():
    cfg = h.make_config([], extra={"server": {"auth": {}}})
    o = h.track(h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET, "GITHUB_CLIENT_ID": "gh-client",
                                   "GITHUB_CLIENT_SECRET": GH_SECRET}))
    o.start()
    try:
        o.wait_log("GITHUB_CLIENT_ID is set but server.auth.github.roles is not: every GitHub sign-in is "
                   "refused until the roles say which organisations and teams may sign in")
        r = o.get("/api/v1/auth/providers", auth=False)
        h.eq([p["id"] for p in r.json()["providers"]], ["github"], "GitHub from the environment is listed")
        r, _ = request(o.cur_port, "GET", "/auth/oidc/start")
        h.eq(r.status, 404, "an unconfigured provider's route")
        jar = Jar()
        loc = start(o, "github", jar)
        h.check(loc.startswith("https://github.com/login/oauth/authorize?client_id=gh-client"),
                f"the default GitHub URL: {loc[:60]}")
    finally:
        h.eq(o.stop(), 0, "exit code")
    # an id without a secret refuses to start, naming the variables
    o2 = h.Opshub(cfg, env={"JWT_SECRET": JWT_SECRET, "GITHUB_CLIENT_ID": "gh-client"}, auth=False)
    o2.start(wait=False)
    o2.wait_exit(timeout=15, expect_code=2)
    h.contains(o2.log_text() + o2.stdout_text(), "GITHUB_CLIENT_SECRET", "the error names the variable")
    o2.close()


def test_zz_no_secret_code_or_token_in_logs():
    o = ENV["o"]
    text = o.log_text()
    h.assert_no_secret_in(text, "opshub's log")
    for s in (GH_SECRET, OIDC_SECRET, "ghcode", "oidccode", "gho_", "eyJ"):
        h.check(s not in text, f"{s[:8]}... in the log")


def teardown():
    for k in ("o",):
        if k in ENV:
            ENV[k].close()
    for k in ("oidc",):
        if k in ENV:
            ENV[k].close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown)
