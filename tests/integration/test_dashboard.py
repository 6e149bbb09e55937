"""
End-to-end tests of the dashboard and the status page in a real browser: Debian's chromium
driven by playwright-core (tests/integration/browser/run.mjs), against the real binary with its
built-in web assets, a real nginx as the checks' target, users with passwords made by the CLI,
and axe-core on every page. Scenarios: password login (cookies HttpOnly/SameSite, CSP, no
request leaving the machine), the overview and its server-side filters, admin pages, run now as
an operator, editing an API check with a validation error shown at the field, a viewer seeing
no operator buttons, the status page with a bar's tooltip (and without script), and a check
going down live, without reload, when its nginx is stopped; the alerts page (firing and pending
alerts, rule groups with a failing rule, history, the query box with a chart) and the alert
markers on a check's chart. Screenshots go to
<build>/test-output/screenshots.
"""
# ctest: COST 60
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_auth_sso import OIDC_SECRET, FakeOIDC  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "browser", "run.mjs")
SHOTS = os.path.join(os.path.dirname(os.path.abspath(h.OPSHUB_BIN)), "test-output", "screenshots")
ENV = {}
USERS = {"admin": ("alice", "alice-password-1234"), "operator": ("oscar", "oscar-password-1234"),
         "viewer": ("vera", "vera-password-12345")}


def setup():
    h.require(os.access("/usr/bin/chromium", os.X_OK), "/usr/bin/chromium (Debian package chromium)")
    h.require(os.path.exists(os.path.join(HERE, "node_modules", "playwright-core")), "playwright-core (npm ci)")
    h.require(os.path.exists(os.path.join(HERE, "node_modules", "axe-core")), "axe-core (npm ci)")
    os.makedirs(SHOTS, exist_ok=True)
    n = ENV["nginx"] = h.Nginx().start()
    checks = [h.http_check("web", n.url("/health"), interval="500ms", timeout="400ms", project="shop",
                           name="Shop web", labels={"team": "web"}),
              h.http_check("broken", n.url("/down"), interval="1s", timeout="400ms", project="shop"),
              h.tcp_check("db", f"127.0.0.1:{n.port}", interval="1s", timeout="400ms"),
              {"id": "plugin", "type": "command", "command": ["/bin/echo", "DISK OK - all good"], "interval": "2s",
               "timeout": "1s"}]
    projects = [{"id": "shop", "name": "Shop"}]
    sp = {"title": "Acme status", "components": [{"name": "Shop", "checks": ["web", "broken"]},
                                                 {"name": "Database", "checks": ["db"]}]}
    idp = ENV["idp"] = FakeOIDC()
    sso = {"oidc": {"name": "Test IdP", "issuer": idp.url, "client_id": "oidc-client",
                    "client_secret": "${OIDC_SECRET}", "role_claim": "groups",
                    "roles": [{"value": "ops", "role": "operator"}], "default_role": "none"}}
    alerts = [{"alert": "BrokenDown", "check": "broken", "when": "down", "for": "0s", "severity": "critical",
               "annotations": {"summary": "{{ $labels.check }} is down",
                               "runbook_url": "https://runbooks.example/broken"}},
              {"alert": "WebCheckPending", "expr": 'probe_success{check="web"} == 1', "for": "1h"},
              {"alert": "ManyToMany", "expr": "probe_success * on() probe_success"}]
    rec = ENV["rec"] = h.Recorder()
    rec.set_answer("/bad", 400, '{"error": "unknown room"}')
    notify = {"group_wait": "0s", "group_interval": "1s", "default_channels": ["hook", "bad"],
              "channels": [{"id": "hook", "type": "webhook", "url": rec.url("/hook")},
                           {"id": "bad", "type": "webhook", "url": rec.url("/bad")},
                           # the status page's subscriptions (their e-mail is tested in test_incidents.py)
                           {"id": "mail", "type": "email", "from": "status@example.test", "to": ["ops@example.test"],
                            "smtp_host": "127.0.0.1", "smtp_port": h.free_port()}]}
    now = int(time.time())
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    maintenance = [{"id": "db-upgrade", "description": "Database upgrade", "from": iso(now - 3600),
                    "to": iso(now + 3600), "projects": ["elsewhere"]},
                   {"id": "nightly", "description": "Nightly backups", "schedule": "0 3 * * *",
                    "timezone": "Asia/Dhaka", "duration": "30m", "match": {"team": "db"}}]
    rotations = [{"id": "ops", "name": "Ops primary", "members": ["oscar", "alice"], "length": "1d",
                  "handoff": "09:00", "timezone": "Asia/Dhaka",
                  "overrides": [{"user": "vera", "from": iso(now + 86400), "to": iso(now + 90000)}]}]
    policies = [{"id": "primary", "steps": [{"delay": "0s", "targets": [{"rotation": "ops"}, {"channel": "hook"}]},
                                            {"delay": "15m", "targets": [{"user": "alice"}]}]}]
    o = ENV["o"] = h.Opshub(h.make_config(checks, projects=projects,
                                          extra={"status_page": sp, "server": {"auth": sso},
                                                 "evaluation_interval": "1s", "alerts": alerts,
                                                 "notify": notify, "maintenance": maintenance,
                                                 "rotations": rotations, "escalation_policies": policies,
                                                 "incidents": {"subscribers": {"email": "mail",
                                                                               "self_service": True}}}),
                            env={"OIDC_SECRET": OIDC_SECRET})
    o.start()
    for role, (user, pw) in USERS.items():
        r = o.cli("user", "add", user, "--role", role, "--password-stdin", input=pw + "\n")
        h.eq(r.returncode, 0, f"user add {user}: {r.stderr}")
    o.post_json("/api/v1/checks", {"id": "api-check", "type": "http", "url": n.url("/health"), "interval": "30s",
                                   "project": "shop"}, expect_status=201)
    o.wait_status("web", "up")
    o.wait_status("broken", "down")
    o.post_json("/api/v1/checks/api-check/run")  # its first scheduled run may be up to 30 s away
    inc = o.post_json("/api/v1/incidents", {"title": "Checkout fails", "severity": "P1", "service": "Shop",
                                            "impact": "about 300 users affected", "projects": ["shop"],
                                            "checks": ["web"], "text": "Looking into it"}, expect_status=201)
    ENV["incident"] = inc["number"]


def teardown():
    ENV["o"].stop()
    ENV["rec"].close()
    ENV["idp"].close()


def run(scenario, timeout=90):
    cfg = {"base": f"http://127.0.0.1:{ENV['o'].cur_port}", "users": USERS, "shots": SHOTS,
           "allow": [ENV["idp"].url + "/"], "sso_user": "oidc:alice"}
    if os.environ.get("OPSHUB_DOCS_IMG"):
        cfg["docs_img"] = os.environ["OPSHUB_DOCS_IMG"]
    r = subprocess.run(["node", RUNNER, scenario, json.dumps(cfg)], capture_output=True, text=True, timeout=timeout,
                       cwd=HERE)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        raise AssertionError(f"browser scenario {scenario} failed:\n{out[-3000:]}")
    h.contains(r.stdout, f"ok {scenario}", "the scenario reports success")
    return out


def test_login_with_a_password_overview_filters_and_admin_pages():
    out = run("login_password")
    for page in ("login page", "overview", "projects page", "users page", "tokens page"):
        h.contains(out, f"axe {page}: no serious or critical violation", f"axe on the {page}")
    h.check(os.path.getsize(os.path.join(SHOTS, "dashboard.png")) > 10000, "a screenshot of the dashboard")


def test_login_with_single_sign_on():
    run("login_sso")
    h.check(ENV["idp"].pkce_checked >= 1, "the provider checked the PKCE verifier")


def test_a_phone_in_dark_mode_by_keyboard():
    run("phone_dark_keyboard")


def test_run_now_as_an_operator():
    run("run_now")


def test_edit_an_api_check_with_a_validation_error_at_the_field():
    out = run("edit_validation")
    h.contains(out, "error shown at the field", "the API's message was placed at the field")
    h.eq(ENV["o"].check_json("api-check")["interval"], "45s", "the valid edit was saved")


def test_a_viewer_sees_no_operator_buttons():
    run("viewer_no_buttons")


def test_status_page_and_a_bars_tooltip():
    out = run("status_page")
    h.contains(out, "tooltip: ", "tooltip text")


def test_alerts_page_query_box_and_markers():
    out = run("alerts")
    for page in ("alerts page", "alerts page with a query", "check page with alert markers"):
        h.contains(out, f"axe {page}: no serious or critical violation", f"axe on the {page}")


def test_zz_a_check_goes_down_live_when_its_target_stops():
    cfg = {"base": f"http://127.0.0.1:{ENV['o'].cur_port}", "users": USERS, "shots": SHOTS}
    p = subprocess.Popen(["node", RUNNER, "live_down", json.dumps(cfg)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=HERE)
    lines = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ln = p.stdout.readline()
            if not ln:
                break
            lines.append(ln.rstrip())
            if ln.strip() == "READY":
                ENV["nginx"].close()  # the target goes away: web fails from its next run on
                break
        h.check(lines and lines[-1] == "READY", f"the page did not get ready: {lines}")
        rest, _ = p.communicate(timeout=60)
        lines += rest.splitlines()
        h.eq(p.returncode, 0, f"live_down: {lines[-20:]}")
        h.contains("\n".join(lines), "ok live_down", "the row turned Down without a reload")
    finally:
        if p.poll() is None:
            p.kill()




def test_incidents_and_on_call_pages():
    out = run("incidents")
    for page in ("incidents list", "incident", "on-call page"):
        h.contains(out, f"axe {page}: no serious or critical violation", f"axe on the {page}")
    o = ENV["o"]
    inc = o.get_json(f"/api/v1/incidents/{ENV['incident']}")
    h.eq((inc["acked_by"], inc["state"]), ("oscar", "RESOLVED"), "acknowledged and resolved from the page")
    h.eq(inc["postmortem"]["root_cause"], "An expired API key", "the postmortem written on the page")
    h.eq(inc["postmortem"]["follow_ups"], [{"text": "Alert on key expiry", "owner": "oscar", "done": False}],
         "follow-ups parsed from their lines")


def test_notifications_and_silences_pages():
    out = run("notifications")
    for page in ("silences page from an alert", "silences page", "notifications page"):
        h.contains(out, f"axe {page}: no serious or critical violation", f"axe on the {page}")
    hooks = [r for r in ENV["rec"].received("/hook") if r["json"]["commonLabels"].get("alertname") == "OpshubTest"]
    h.check(hooks, "the test message sent from the page reached the channel")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=150)
