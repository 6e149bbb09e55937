"""
Integration tests of the public status page (/status, /status/{project}, /status.json,
/status.atom; docs/status-page.md) through the real binary: components and their state from real
checks against a real HTTP target, one bar a day for 90 days from the rollups (past days written
into the store's rollup table, today from the live samples), the HTML complete without script
and under a strict Content-Security-Policy, escaping of configured text, the feed of state
changes, project pages, 404s, and bad settings as FILE:LINE:COL errors.
"""
import html
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
DAY_MS = 86400000


def config(t):
    checks = [h.http_check("web", t.url("/flip"), interval="300ms", timeout="250ms", project="shop", name="Web"),
              h.http_check("api", t.url("/ok"), interval="300ms", timeout="250ms", project="shop"),
              h.http_check("blog", t.url("/ok"), interval="300ms", timeout="250ms", project="blog"),
              h.http_check("hidden", t.url("/ok"), interval="300ms", timeout="250ms")]
    projects = [{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}, {"id": "empty", "name": "Empty"}]
    sp = {"title": "Acme <Status> & Co", "description": "Live state of Acme's services",
          "logo": "/assets/logo.svg",
          "components": [{"name": "Storefront & API", "description": "What customers use",
                          "checks": ["web", "api"]},
                         {"name": "Blog", "checks": ["blog"]},
                         {"name": "Later", "checks": ["created-later"]}]}
    return h.make_config(checks, projects=projects, extra={"status_page": sp})


def setup():
    ENV["t"] = h.Target()
    ENV["o"] = o = h.Opshub(config(ENV["t"]))
    o.start()
    o.wait_status("web", "up")
    # Two past days in the rollups: 3 days ago 90 of 100 up, 10 days ago all 100 up.
    o.stop()
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    rows = []
    for cid, day, up in (("web", 3, 90), ("web", 10, 100), ("api", 3, 100)):
        bucket = today - day * DAY_MS + 5 * 3600000
        rows.append(f"('{cid}', {bucket}, 100, {up}, 0, {100 - up}, {up}, {up * 10.0}, 1.0, 20.0, 'v1;0;')")
    o.sqlite("INSERT INTO rollup_hours (check_id, bucket, total, up, degraded, down, lat_n, lat_sum, lat_min,"
             " lat_max, sketch) VALUES " + ", ".join(rows) + ";")
    o.start()
    o.wait_status("web", "up")
    h.wait_for(lambda: status_json().get("history_ready"), 15, "the history read")
    ENV["today"] = today


def teardown():
    ENV["o"].stop()


def status_json(query=""):
    r = ENV["o"].get("/status.json" + query, auth=False)
    h.eq(r.status, 200, f"/status.json{query} ({r.body[:200]!r})")
    return r.json()


def test_json_components_state_and_days():
    d = status_json()
    h.eq(d["title"], "Acme <Status> & Co", "title")
    h.eq(d["history_days"], 90, "days")
    h.eq([c["name"] for c in d["components"]], ["Storefront & API", "Blog", "Later"], "components in order")
    store, blog, later = d["components"]
    h.eq(store["status"], "up", "storefront up")
    h.eq(store["status_text"], "Operational", "text")
    h.eq(later["status"], "unknown", "a component of unknown checks has no data")
    h.eq(d["status"], "unknown", "the worst component decides the overall state")
    for c in (store, blog, later):
        h.eq(len(c["days"]), 90, f"{c['name']}: 90 days")
    dates = [x["date"] for x in store["days"]]
    h.eq(dates, sorted(dates), "oldest first")
    day = lambda n: time.strftime("%Y-%m-%d", time.gmtime((ENV["today"] - n * DAY_MS) / 1000))  # noqa: E731
    h.eq(dates[-1], day(0), "last bar is today")
    by = {x["date"]: x for x in store["days"]}
    h.eq((by[day(3)]["samples"], by[day(3)]["uptime"]), (200, 0.95), "3 days ago: web 90/100 + api 100/100")
    h.eq((by[day(10)]["samples"], by[day(10)]["uptime"]), (100, 1.0), "10 days ago")
    h.eq((by[day(5)]["samples"], by[day(5)]["uptime"]), (0, None), "a day without samples")
    h.check(by[day(0)]["samples"] > 0 and by[day(0)]["uptime"] == 1.0, f"today from live samples: {by[day(0)]}")
    h.eq(blog["days"][3]["samples"], 0, "blog's history is its own")
    h.eq(d["incidents"], [], "room for incidents")
    h.eq(d["maintenance"], [], "room for maintenance")
    h.check("web" not in json.dumps(d["components"]).replace("Storefront", ""), "check ids are not published")


def test_html_is_complete_without_script_and_escaped():
    o = ENV["o"]
    r = o.get("/status", auth=False)
    h.eq(r.status, 200, "status")
    h.eq(r.header("content-type"), "text/html; charset=utf-8", "type")
    csp = r.header("content-security-policy")
    h.check(csp and "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp,
            f"strict CSP: {csp}")
    h.eq(len(re.findall(r"content-security-policy", "\n".join(r.headers.keys()), re.I)), 1, "one policy")
    page = r.text
    h.contains(page, "<title>Acme &lt;Status&gt; &amp; Co</title>", "escaped title")
    h.contains(page, "<h3>Storefront &amp; API</h3>", "escaped component")
    h.contains(page, '<img class="logo" alt="" src="/assets/logo.svg">', "logo")
    h.check("<Status>" not in page, "no raw configured markup")
    h.check(not re.search(r"<script(?![^>]*\bsrc=)", page), "no inline script")
    h.check(" style=" not in page, "no inline style")
    h.check("http://" not in page.replace('xmlns="http://www.w3.org', "") and "https://" not in page,
            "nothing loads from another host")
    bars = re.findall(r'<i class="(b-[a-z]+)" title="([0-9-]+): ([^"]+)"></i>', page)
    h.eq(len(bars), 3 * 90, "90 bars per component")
    day3 = time.strftime("%Y-%m-%d", time.gmtime((ENV["today"] - 3 * DAY_MS) / 1000))
    h.contains(page, f'<i class="b-major" title="{day3}: 95.00%"></i>', "a bad day's bar + tooltip")
    h.contains(page, 'role="img" aria-label="90-day uptime:', "bars are labelled")
    h.contains(page, 'id="incidents"', "room for incidents")
    h.contains(page, '<link rel="alternate" type="application/atom+xml"', "feed linked")


def test_a_component_goes_down_and_the_feed_says_so():
    t, o = ENV["t"], ENV["o"]
    t.flip_status = 500
    try:
        o.wait_status("web", "down")
        d = status_json()
        h.eq(d["components"][0]["status"], "down", "storefront down with one check down")
        h.eq(d["components"][0]["status_text"], "Major outage", "text")
        page = o.get("/status", auth=False).text
        h.contains(page, '<span class="state s-down">Major outage</span>', "shown on the page")
        h.contains(page, "Partial outage", "overall: one of several components down")
    finally:
        t.flip_status = 200
    o.wait_status("web", "up")
    r = o.get("/status.atom", auth=False)
    h.eq(r.status, 200, "feed")
    h.eq(r.header("content-type"), "application/atom+xml; charset=utf-8", "feed type")
    feed = r.text
    h.contains(feed, '<feed xmlns="http://www.w3.org/2005/Atom">', "atom")
    titles = re.findall(r"<entry><title>([^<]+)</title>", feed)
    h.eq(titles[:2], ["Storefront &amp; API: Operational", "Storefront &amp; API: Major outage"],
         "newest first: back up, then down")
    h.contains(feed, f"<id>http://127.0.0.1:{o.cur_port}/status</id>", "absolute ids from the Host")


def test_project_pages():
    o = ENV["o"]
    d = status_json("?project=blog")
    h.eq([c["name"] for c in d["components"]], ["Blog"], "only components with the project's checks")
    h.eq(d["project"], "blog", "project")
    r = o.get("/status/shop", auth=False)
    h.eq(r.status, 200, "project page")
    h.contains(r.text, "<h1>Acme &lt;Status&gt; &amp; Co: Shop</h1>", "heading names the project")
    h.check("<h3>Blog</h3>" not in r.text, "other projects' components are not shown")
    for path in ("/status/nope", "/status/empty", "/status.json?project=nope"):
        r = o.get(path, auth=False)
        h.eq(r.status, 404, path)


def test_without_components_one_per_project_and_without_section_404():
    t = ENV["t"]
    checks = [h.http_check("a", t.url("/ok"), interval="300ms", timeout="250ms", project="p1"),
              h.http_check("b", t.url("/ok"), interval="300ms", timeout="250ms")]
    cfg = h.make_config(checks, projects=[{"id": "p1", "name": "Project One"}], extra={"status_page": None})
    with h.Opshub(cfg) as o:
        o.start()
        d = h.wait_for(lambda: (lambda j: j if j["components"][0]["status"] == "up" else None)(
            o.get("/status.json", auth=False).json()), 10, "components up")
        h.eq([c["name"] for c in d["components"]], ["Project One", "Other services"], "default grouping")
        d = o.get("/status.json?project=p1", auth=False).json()
        h.eq([c["name"] for c in d["components"]], ["a"], "a project's page: one component per check")
        o.stop()
    with h.Opshub(h.make_config(checks, projects=[{"id": "p1"}])) as o:
        o.start()
        for path in ("/status", "/status.json", "/status.atom", "/status/p1"):
            h.eq(o.get(path, auth=False).status, 404, f"{path} without status_page")
        o.stop()


BAD = """\
checks:
  - {id: a, type: tcp, address: "127.0.0.1:1"}
status_page:
  title: ""
  logo: https://cdn.example.com/logo.png
  history_days: 400
  colour: blue
  components:
    - name: A
      checks: [a, a]
    - name: A
      checks: []
    - checks: [a]
    - name: B
"""
BAD_WANT = [
    (4, 10, "title must be 1 to 1024 bytes"),
    (5, 9, "logo must be a path on this server such as /assets/logo.svg (the status page loads nothing "
           "from other hosts)"),
    (6, 17, "400 is out of range (1 to 365)"),
]


def test_bad_settings_give_file_line_col():
    tmp = h.TempDir("opshub-sp-")
    p = tmp.join("bad.yaml")
    with open(p, "w") as f:
        f.write(BAD)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "config check exit code")
    errs = h.config_errors(r.stderr, p)
    h.eq(errs[:3], BAD_WANT, f"errors (stderr {r.stderr!r})")
    rest = [e[2] for e in errs[3:]]
    h.check(any("colour" in e for e in rest), f"unknown key named: {rest}")
    h.check(any("duplicate" in e.lower() and "a" in e for e in rest), f"duplicate check: {rest}")
    h.check(any("component name" in e for e in rest), f"duplicate component name: {rest}")
    h.check(any("1 to 1000 check ids" in e for e in rest), f"empty checks: {rest}")
    h.check(any("missing 'name'" in e for e in rest), f"missing name: {rest}")
    h.check(any("missing 'checks'" in e for e in rest), f"missing checks: {rest}")
    tmp.close()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, teardown=teardown, test_timeout=90)
