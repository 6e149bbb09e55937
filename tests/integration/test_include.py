"""
Integration tests of a configuration split across files: the main file includes
conf.d/*.yaml; SIGHUP picks up a new included file and drops a removed one, and a broken
included file (bad YAML, a key it may not hold, an id another file already has, a project
whose file is gone) rejects the reload with FILE:LINE:COL errors naming the included file
while the running checks go on.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def O():
    return ENV["o"]


def conf_d(name=""):
    return os.path.join(O().tmp.path, "conf.d", name) if name else os.path.join(O().tmp.path, "conf.d")


def write_included(name, text):
    """Writes conf.d/NAME atomically (as a deployment tool would)."""
    path = conf_d(name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def main_config():
    extra = {"include": ["conf.d/*.yaml"]}
    return h.make_config([h.http_check("main-check", ENV["nginx"].url("/health"), project="shop")],
                         projects=[{"id": "shop"}], extra=extra)


def included(*checks, projects=None):
    doc = {}
    if projects:
        doc["projects"] = projects
    doc["checks"] = list(checks)
    return h.to_yaml(doc)


def check_ids():
    return [c["id"] for c in O().get_json("/api/v1/checks")["checks"]]


def failures():
    return O().metrics().get("opshub_config_reloads_total", result="failure") or 0


def reload_and_wait_ok(count):
    """SIGHUP; waits for the count-th `config reloaded` line and returns it."""
    O().signal(h.signal.SIGHUP)
    return O().wait_log("config reloaded", timeout=10, count=count)[count - 1]


def setup():
    ENV["nginx"] = h.Nginx().start()
    o = ENV["o"] = h.track(h.Opshub(h.make_config([])))
    os.makedirs(conf_d())
    write_included("a.yaml", included(h.http_check("a-check", ENV["nginx"].url("/health"), project="team-a"),
                                      projects=[{"id": "team-a"}]))
    o.write_config(main_config())
    o.start()
    o.wait_samples("a-check", 1, timeout=20)
    ENV["reloads"] = 0


# --------------------------------------------------------------------------------

def test_included_files_load_at_start():
    o = O()
    h.eq(check_ids(), ["main-check", "a-check"], "checks: the main file's, then conf.d/a.yaml's")
    started = o.wait_log("opshub started")[0]
    h.eq(started.get("config_files"), 2, "opshub started config_files")
    h.eq(o.check_json("a-check").get("project"), "team-a", "a-check's project from its own file")
    r = h.run_cli(["config", "check", "--config", o.config_path])
    h.eq(r.returncode, 0, f"config check exit ({r.stderr})")
    h.eq(r.stdout.strip(), f"{o.config_path}: ok (2 checks, 2 projects, 2 files)", "config check output")


def id_position(path, cid):
    """LINE, COL of the value of `id: CID` in the file at path."""
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            i = ln.find(f"id: {cid}")
            if i >= 0:
                return n, i + 5
    raise AssertionError(f"id {cid} not in {path}")


def test_reload_picks_up_a_new_file():
    o = O()
    # b uses the main file's project and a.yaml's: projects are shared across files
    write_included("b.yaml", included(h.http_check("b-check", ENV["nginx"].url("/health"), project="shop"),
                                      h.tcp_check("b-port", f"127.0.0.1:{ENV['nginx'].port}", project="team-a")))
    ENV["reloads"] += 1
    line = reload_and_wait_ok(ENV["reloads"])
    h.eq({k: line.get(k) for k in ("added", "removed", "files")}, {"added": 2, "removed": 0, "files": 3},
         "config reloaded after adding conf.d/b.yaml")
    h.eq(check_ids(), ["main-check", "a-check", "b-check", "b-port"], "checks after adding b.yaml")
    o.wait_samples("b-check", 1, timeout=10)
    o.wait_status("b-port", "up", timeout=10)


def test_removing_a_file_whose_project_is_used_rejects_the_reload_then_drops_it():
    o = O()
    ids = check_ids()
    fail0 = failures()
    errors0 = len(o.log_lines("config error"))
    os.unlink(conf_d("a.yaml"))   # b-port names team-a, which only a.yaml declared
    o.signal(h.signal.SIGHUP)
    h.wait_for(lambda: failures() == fail0 + 1, 10, "reload failure for an unknown project")
    errs = [str(x.get("error", "")) for x in o.log_lines("config error")[errors0:]]
    h.check(any(e.startswith(conf_d("b.yaml") + ":") and "unknown project 'team-a'" in e for e in errs),
            f"config error lines {errs} lack the unknown project in b.yaml")
    h.eq(check_ids(), ids, "checks after the rejected reload")

    write_included("b.yaml", included(h.http_check("b-check", ENV["nginx"].url("/health"), project="shop"),
                                      h.tcp_check("b-port", f"127.0.0.1:{ENV['nginx'].port}")))
    ENV["reloads"] += 1
    line = reload_and_wait_ok(ENV["reloads"])
    h.eq({k: line.get(k) for k in ("removed", "changed", "files")}, {"removed": 1, "changed": 1, "files": 2},
         "config reloaded after removing a.yaml")
    h.eq(check_ids(), ["main-check", "b-check", "b-port"], "checks after removing a.yaml")
    h.eq(o.get("/api/v1/checks/a-check").status, 404, "GET a check of a removed file")


def test_broken_included_file_rejects_the_reload():
    o = O()
    before = check_ids()
    keep0 = o.check_json("b-check")
    b_line, b_col = id_position(conf_d("b.yaml"), "b-check")
    cases = [
        # bad YAML: the error names the included file, line and column
        ("checks:\n  - {id: c-check, type: http\n", 3, 1, "YAML syntax error"),
        # a key an included file may not hold
        ("checks: []\nserver: {listen: '127.0.0.1:1'}\n", 2, 1, "'server' is not allowed in an included file"),
        # an id that another file has: both places are named
        ("checks:\n  - {id: b-check, type: tcp, address: '127.0.0.1:1'}\n", 2, 10,
         f"duplicate check id 'b-check' (first defined at {conf_d('b.yaml')}:{b_line}:{b_col})"),
    ]
    for text, line, col, needle in cases:
        fail0 = failures()
        errors0 = len(o.log_lines("config error"))
        path = write_included("c.yaml", text)
        o.signal(h.signal.SIGHUP)
        h.wait_for(lambda: failures() == fail0 + 1, 10, f"reload failure counted for {needle!r}")
        errs = [str(x.get("error", "")) for x in o.log_lines("config error")[errors0:]]
        want = f"{path}:{line}:{col}: "
        h.check(any(e.startswith(want) and needle in e for e in errs),
                f"config error lines {errs} lack {want}...{needle}")
        h.check(o.running(), "opshub exited on a broken included file")
        h.eq(check_ids(), before, "checks after a rejected reload")
    t0 = h.now_ms()
    h.wait_for(lambda: any(x["ts_ms"] > t0 for x in o.samples("b-check", "limit=5")["samples"]), 8,
               "b-check to go on probing after the rejections")
    h.eq(o.check_json("b-check")["since"], keep0["since"], "b-check since after rejected reloads")

    # fixed: accepted again
    write_included("c.yaml", included(h.tcp_check("c-check", f"127.0.0.1:{ENV['nginx'].port}")))
    ENV["reloads"] += 1
    line = reload_and_wait_ok(ENV["reloads"])
    h.eq(line.get("added"), 1, "the fixed file's check added")
    h.eq(check_ids(), before + ["c-check"], "checks after the fixed reload")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
