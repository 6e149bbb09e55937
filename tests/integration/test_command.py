"""
Integration tests of the `command` check type (docs/checks.md) through the real binary, with
Debian's monitoring-plugins (check_dummy, check_load, check_disk, check_http against a real
nginx) and shell plugins the tests write:
- exit codes 0/1/2/3 and others, signals, programs that cannot run;
- performance data into values (units to base units), on the samples API and on /metrics;
- isolation: the daemon's environment (its secrets) never reaches a plugin, stdin is /dev/null,
  no descriptor of the daemon leaks into it, workdir and env apply;
- a plugin that times out, with a grandchild holding its output: the whole process group is
  killed, the sample is down at the timeout and no process of it is left (zombie or not);
- output past output_max is drained, not kept;
- arguments (which may hold passwords) never appear in logs or API output;
- bad settings give FILE:LINE:COL errors.
"""
# ctest: COST 18
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

PLUGINS = "/usr/lib/nagios/plugins"
ENV = {}


def setup():
    ENV["tmp"] = h.TempDir("opshub-command-")
    for p in ("check_dummy", "check_load", "check_disk", "check_http"):
        h.require(os.access(os.path.join(PLUGINS, p), os.X_OK), f"{PLUGINS}/{p} (monitoring-plugins)")


def write(name, text, mode=None):
    p = ENV["tmp"].join(name)
    with open(p, "w") as f:
        f.write(text)
    if mode:
        os.chmod(p, mode)
    return p


def cmd(cid, command, **kw):
    c = {"id": cid, "type": "command", "command": command, "interval": "5s", "timeout": "3s"}
    c.update(kw)
    return c


def sh(cid, script, **kw):
    return cmd(cid, script, shell=True, **kw)


def run_check(checks, name, env=None):
    """`opshub check --json` on the checks; (exit code, {id: check})."""
    p = write(name, h.make_config(checks))
    r = h.run_cli(["check", "--config", p, "--json"], env=env)
    h.check(r.stdout.strip(), f"no JSON from opshub check (rc {r.returncode}, stderr {r.stderr!r})")
    doc = json.loads(r.stdout)
    return r.returncode, {c["id"]: c for c in doc["checks"]}


# --------------------------------------------------------------------------------

def test_check_dummy_exit_codes():
    d = f"{PLUGINS}/check_dummy"
    rc, by = run_check([cmd("ok", [d, "0", "all good"]), cmd("warn", [d, "1", "queue is long"]),
                        cmd("crit", [d, "2", "queue is stuck"]), cmd("unknown", [d, "3", "cannot tell"]),
                        cmd("bare", [d, "3"]), cmd("bypath", ["check_dummy", "0", "found in PATH"])],
                       "dummy.yaml")
    got = {k: (c["status"], c["code"], c["error"], c["values"].get("exit_code")) for k, c in by.items()}
    h.eq(got, {
        "ok": ("up", 0, "", 0),
        "warn": ("degraded", 1, "WARNING: queue is long", 1),
        "crit": ("down", 2, "CRITICAL: queue is stuck", 2),
        "unknown": ("down", 3, "UNKNOWN: cannot tell", 3),
        "bare": ("down", 3, "UNKNOWN", 3),
        "bypath": ("up", 0, "", 0),
    }, "check_dummy 0/1/2/3 (status, code, error, exit_code)")
    h.eq(rc, 2, "opshub check exit code with a down check")
    h.eq(by["ok"]["values"]["output_bytes"], float(len("OK: all good\n")), "output_bytes")


def test_detail_holds_the_output_made_safe():
    script = ("printf 'DISK WARNING - / is 91%% full | root=91%%\\n/var ok\\n\\033[31mred\\377\\n'; "
              "echo 'careful' >&2; exit 1")
    rc, by = run_check([sh("detail", script), sh("quiet", "exit 0")], "detail.yaml")
    h.eq(by["detail"]["detail"],
         {"output": "DISK WARNING - / is 91% full | root=91%\n/var ok\n\ufffd[31mred\ufffd", "stderr": "careful"},
         "the output with ESC and an invalid byte replaced, and stderr")
    h.check("detail" not in by["quiet"], f"no output, no detail: {by['quiet']}")
    long_out = "".join(f"line {i:04d} of the plugin long text\n" for i in range(100))
    rc, by = run_check([sh("long", f"printf '{long_out}'")], "detail-long.yaml")
    out = by["long"]["detail"]["output"]
    h.check(len(out) <= 1024 and out.endswith("of the plugin long text") and out.startswith("line 0000"),
            f"the output is cut after a whole line within 1 KiB: {len(out)} bytes, ends {out[-30:]!r}")


def test_other_exits_signals_and_programs_that_cannot_run():
    noexec = write("noexec.sh", "#!/bin/sh\nexit 0\n", mode=0o644)
    rc, by = run_check([sh("exit4", "echo 'odd plugin'; exit 4"), sh("exit127", "no-such-program-xyz"),
                        sh("silent", "exit 2"), sh("stderr", "echo 'to stderr' >&2; exit 2"),
                        sh("signal", "kill -TERM $$$$"), cmd("missing", ["/nonexistent/plugin"]),
                        cmd("noexec", [noexec])], "exits.yaml")
    got = {k: (c["status"], c["code"], c["error"]) for k, c in by.items()}
    h.eq(got["exit4"], ("down", 4, "exit code 4: odd plugin"), "exit 4")
    h.eq(got["exit127"][:2], ("down", 127), "a shell command not found")
    h.check(re.fullmatch(r"exit code 127: .*no-such-program-xyz.*not found", got["exit127"][2]),
            f"exit 127 names the missing program from stderr: {got['exit127'][2]!r}")
    h.eq(got["silent"], ("down", 2, "exit code 2 (no output)"), "exit 2 without output")
    h.eq(got["stderr"], ("down", 2, "to stderr"), "stderr when stdout is empty")
    h.eq(got["signal"], ("down", 128 + 15, "killed by signal 15 (Terminated)"), "killed by SIGTERM")
    h.check("exit_code" not in by["signal"]["values"], f"no exit_code after a signal: {by['signal']['values']}")
    h.eq(got["missing"], ("down", 0, "cannot run /nonexistent/plugin: no such file or directory"), "missing")
    h.eq(got["noexec"], ("down", 0, f"cannot run {noexec}: permission denied"), "not executable")


def test_check_load_and_check_disk_perfdata():
    rc, by = run_check([cmd("load", [f"{PLUGINS}/check_load", "-w", "500,500,500", "-c", "900,900,900"]),
                        cmd("disk", [f"{PLUGINS}/check_disk", "-w", "1%", "-c", "1%", "-p", "/"])],
                       "plugins.yaml")
    load = by["load"]
    h.eq((load["status"], load["error"]), ("up", ""), f"check_load: {load}")
    with open("/proc/loadavg") as f:
        la = [float(x) for x in f.read().split()[:3]]
    for name, real in zip(("load1", "load5", "load15"), la):
        v = load["values"].get(name)
        h.check(v is not None and abs(v - real) < 2.0, f"{name} {v} against /proc/loadavg {real}")
    disk = by["disk"]
    h.eq(disk["status"], "up", f"check_disk: {disk}")
    st = os.statvfs("/")
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    v = disk["values"].get("root_bytes")
    # check_disk prints whole MiB: '/'=12345MB
    h.check(v is not None and abs(v - used) < max(used * 0.02, 64 << 20) and v % (1 << 20) == 0,
            f"root_bytes {v} against statvfs used {used}")


def test_check_http_against_nginx_and_a_closed_port():
    with h.Nginx() as ng:
        ng.start()
        closed = h.closed_port()
        rc, by = run_check([cmd("web", [f"{PLUGINS}/check_http", "-H", "127.0.0.1", "-p", str(ng.port),
                                        "-u", "/health", "-s", "ok"]),
                            cmd("web503", [f"{PLUGINS}/check_http", "-H", "127.0.0.1", "-p", str(ng.port),
                                           "-u", "/down"]),
                            cmd("closed", [f"{PLUGINS}/check_http", "-H", "127.0.0.1", "-p", str(closed)])],
                           "http.yaml")
    web = by["web"]
    h.eq(web["status"], "up", f"check_http on nginx /health: {web}")
    h.check(0 <= web["values"].get("time_seconds", -1) < 3, f"time_seconds from 'time=...s': {web['values']}")
    h.check(web["values"].get("size_bytes", 0) > 0, f"size_bytes from 'size=...B': {web['values']}")
    h.eq((by["web503"]["status"], by["web503"]["code"]), ("down", 2), f"check_http on a 503: {by['web503']}")
    h.contains(by["web503"]["error"], "503", "the 503 in the error")
    h.eq((by["closed"]["status"], by["closed"]["code"]), ("down", 2), f"check_http on a closed port: {by['closed']}")
    h.contains(by["closed"]["error"], "refused", "connection refused in the error", ci=True)


PERF = ("echo \"OK - fine | 'time'=250ms;1;2;0; size=2KB 'used pct'=45%;80;90 bad=abc U=U\"; "
        "echo 'long text line'; echo \"more | 'rx'=7c\"; echo \"tx=3c\"; exit 0")
ARGS = "echo \"args: $0 $1 $#\"; exit 2"


def test_shell_with_a_list_passes_arguments_unparsed():
    rc, by = run_check([sh("args", [ARGS, "name", "a b;$(touch /tmp/opshub-pwned)"])], "args.yaml")
    h.eq(by["args"]["error"], "args: name a b;$(touch /tmp/opshub-pwned) 1", "sh -c script $0 $1")
    h.check(not os.path.exists("/tmp/opshub-pwned"), "an argument was run by the shell")


PERF_WANT = {"time_seconds": 0.25, "size_bytes": 2048.0, "used_pct_ratio": 0.45, "rx_total": 7.0,
             "tx_total": 3.0, "perfdata_dropped": 2.0, "exit_code": 0.0}


def test_perfdata_becomes_values():
    rc, by = run_check([sh("perf", PERF)], "perf.yaml")
    v = dict(by["perf"]["values"])
    v.pop("output_bytes")
    h.eq(v, PERF_WANT, "values from the performance data (units converted, junk and U dropped)")


def test_isolation_env_stdin_fds_and_workdir():
    work = ENV["tmp"].join("work")
    os.makedirs(work, exist_ok=True)
    script = ("[ -n \"$OPSHUB_TEST_SECRET$JWT_SECRET\" ] && { echo 'daemon env leaked'; exit 2; }; "
              "read line; r=$?; fds=$(ls /proc/self/fd | tr '\\n' ' '); "
              "echo \"$PWD;$LC_ALL;$PATH;$EXTRA;read=$r;fds=$fds\"; exit 2")
    checks = [sh("iso", script, env={"EXTRA": "given"}, workdir=work),
              sh("path", "echo \"$PATH\"; exit 2", env={"PATH": "/bin"}),
              sh("count", "echo \"ok | vars=$(env | grep -v '^_=' | grep -vc '^PWD=')\"")]
    secret_env = {"OPSHUB_TEST_SECRET": h.secret("leak-me-please-123"), "JWT_SECRET": "x" * 40}
    rc, by = run_check(checks, "iso.yaml", env=secret_env)
    h.eq(by["iso"]["error"].split(";"),
         [work, "C", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/nagios/plugins",
          "given", "read=1", "fds=0 1 2 3"],
         "workdir, LC_ALL, the fixed PATH, env, stdin at EOF, only 0-2 open (3 is ls's own)")
    h.eq(by["path"]["error"], "/bin", "env replaces PATH")
    # PATH, LC_ALL, LANG and what sh adds itself (PWD excluded above; SHLVL? dash sets none)
    h.check(by["count"]["values"]["vars"] <= 4, f"environment of a plugin: {by['count']}")


def zombie_or_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_timeout_kills_the_group_and_leaves_nothing():
    pids = ENV["tmp"].join("pids")
    # the plugin's grandchild keeps stdout open: only killing the group ends the run
    # ($$$$ is the shell's $$: the config reads $$ as a literal $)
    script = f"sleep 300 & echo $! > {pids}; echo $$$$ >> {pids}; echo 'working on it'; sleep 300"
    cfg = h.make_config([sh("slow", script, interval="2s", timeout="1s"),
                         cmd("fine", [f"{PLUGINS}/check_dummy", "0"], interval="500ms", timeout="400ms")])
    with h.Opshub(cfg) as o:
        o.start()
        s = o.wait_samples("slow", 1, timeout=10)[0]
        h.eq((s["result"], s["error"]), ("down", "timeout after 1000 ms (process group killed): working on it"),
             "a plugin past its timeout")
        h.check(950 <= s["latency_ms"] < 1500, f"latency at the timeout: {s['latency_ms']}")
        with open(pids) as f:
            started = [int(x) for x in f.read().split()]
        h.eq(len(started), 2, "pids written by the plugin")

        def gone():
            return all(zombie_or_alive(p) in (None,) for p in started)
        h.wait_for(gone, 5, f"the plugin and its grandchild gone (states {[zombie_or_alive(p) for p in started]})")
        # the check of the other plugin went on meanwhile
        o.wait_samples("fine", 3, timeout=10)
        # no child of opshub is left over between runs beyond those running now
        o.wait_samples("slow", 2, timeout=10)
        children = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        st = f.read().split(") ")[1].split()
                except OSError:
                    continue
                if int(st[1]) == o.pid and st[0] == "Z":
                    children.append(d)
        h.eq(children, [], "zombie children of opshub")
        o.stop()


def first_run_s(cid, interval_s):
    """When the scheduler first runs a check after start: its first runs are spread over the
    interval by FNV-1a of the id (sched.c)."""
    h64 = 1469598103934665603
    for ch in cid.encode():
        h64 = ((h64 ^ ch) * 1099511628211) % (1 << 64)
    return (h64 % (interval_s * 10**9)) / 1e9


def early_id(prefix, interval_s):
    """An id with prefix whose first run comes within 1.5 s of the start."""
    return next(f"{prefix}{i}" for i in range(10000) if first_run_s(f"{prefix}{i}", interval_s) < 1.5)


def test_reload_and_shutdown_kill_running_programs():
    """A run canceled by a reload that removes its check, and one in flight at shutdown: each
    program (and what it started) is killed and reaped, not left running or as a zombie."""
    pids_a, pids_b = ENV["tmp"].join("pids-a"), ENV["tmp"].join("pids-b")

    def long(cid, pids):
        return sh(cid, f"sleep 300 & echo $! > {pids}; echo $$$$ >> {pids}; sleep 300", interval="60s", timeout="50s")

    ida, idb = early_id("a", 60), early_id("b", 60)

    def started(pids):
        try:
            with open(pids) as f:
                got = [int(x) for x in f.read().split()]
        except FileNotFoundError:
            return None
        return got if len(got) == 2 else None

    keep = cmd("keep", [f"{PLUGINS}/check_dummy", "0"], interval="500ms", timeout="400ms")
    with h.Opshub(h.make_config([long(ida, pids_a), long(idb, pids_b), keep])) as o:
        o.start()
        h.wait_for(lambda: started(pids_a) and started(pids_b), 10, "both programs started")
        a, b = started(pids_a), started(pids_b)
        # keep's definition changes too: its state (with the last sample's detail) starts over
        keep2 = dict(keep, interval="600ms")
        o.reload(h.make_config([long(idb, pids_b), keep2]))
        h.wait_for(lambda: all(zombie_or_alive(p) is None for p in a), 10,
                   f"the removed check's programs gone (states {[zombie_or_alive(p) for p in a]})")
        h.check(all(zombie_or_alive(p) == "S" for p in b), "the other check's programs still run")
        o.wait_samples("keep", 2)
        o.stop()
    # the program itself is reaped by opshub before it exits; its orphaned grandchild by init
    h.check(zombie_or_alive(b[1]) is None, f"the program in flight at shutdown: {zombie_or_alive(b[1])}")
    h.wait_for(lambda: zombie_or_alive(b[0]) is None, 5, f"its grandchild gone ({zombie_or_alive(b[0])})")


def test_output_past_output_max_is_drained():
    rc, by = run_check([sh("big", "echo 'OK | n=1'; head -c 3000000 /dev/zero; exit 0", output_max="1KiB"),
                        sh("bigfail", "head -c 100000 /dev/zero | tr '\\0' x; echo; exit 2", output_max="512B")],
                       "big.yaml")
    h.eq((by["big"]["status"], by["big"]["values"]["output_bytes"], by["big"]["values"]["n"]),
         ("up", float(3000000 + len("OK | n=1\n")), 1.0), "3 MB of output with output_max 1KiB")
    h.eq(by["bigfail"]["status"], "down", "a failing plugin with a long line")
    h.check(len(by["bigfail"]["error"]) < 240 and by["bigfail"]["error"].startswith("xxxx"),
            f"the error is the cut first line: {len(by['bigfail']['error'])} bytes")


def test_serve_values_api_metrics_and_no_secret():
    pw = h.secret("s3cret-plugin-pass")
    cfg = h.make_config([sh("perf", PERF, interval="500ms", timeout="400ms"),
                         cmd("pg", [f"{PLUGINS}/check_dummy", "2", "db down", "--password", pw],
                             interval="500ms", timeout="400ms", env={"PGPASSWORD": pw})])
    with h.Opshub(cfg) as o:
        o.start()
        s = o.wait_samples("perf", 1)[0]
        v = dict(s["values"])
        v.pop("output_bytes")
        h.eq(v, PERF_WANT, "values on the samples API")
        m = o.metrics()
        h.eq(m.get("opshub_command_exit_code", check="perf", project="", type="command"), 0.0,
             "opshub_command_exit_code on /metrics")
        h.eq([v for ls, v in m.find("opshub_check_value", check="perf") if ls.get("name") == "time_seconds"], [0.25],
             "a plugin's own value on /metrics")
        last = o.check_json("perf")["last_sample"]
        h.check(last["detail"]["output"].startswith("OK - fine | 'time'=250ms"), f"detail on the API: {last}")
        pg = o.wait_samples("pg", 2)[0]
        h.eq((pg["result"], pg["error"]), ("down", "CRITICAL: db down"), "check_dummy 2 with a password argument")
        c = o.check_json("pg")
        h.eq(c.get("target"), f"{PLUGINS}/check_dummy", "the target shows the program only")
        for path in ("/api/v1/checks/pg", "/api/v1/checks", "/api/v1/checks/pg/samples"):
            h.assert_no_secret_in(o.get(path).text, path)
        h.assert_no_secret_in(o.get("/metrics").text, "/metrics")
        o.stop()
        h.assert_no_secret_in(o.log_text(), "the log")


BAD = (
    "checks:\n"                         # 1
    "  - id: a\n"                       # 2
    "    type: command\n"               # 3
    "    command: check_dummy 0\n"      # 4 string without shell
    "  - id: b\n"                       # 5
    "    type: command\n"               # 6
    "    shell: yes please\n"           # 7 not a boolean
    "    command: [check_dummy, '0']\n"  # 8
    "  - id: c\n"                       # 9
    "    type: command\n"               # 10
    "    command: []\n"                 # 11 empty
    "  - id: d\n"                       # 12
    "    type: command\n"               # 13
    "    command: {a: b}\n"             # 14 a map
    "  - id: e\n"                       # 15
    "    type: command\n"               # 16
    "    command: [check_dummy]\n"      # 17
    "    env: {'1BAD': x}\n"            # 18 bad env name
    "    workdir: tmp\n"                # 19 relative
    "  - id: f\n"                       # 20
    "    type: command\n"               # 21 missing command
    "  - id: g\n"                       # 22
    "    type: command\n"               # 23
    "    command: [check_dummy]\n"      # 24
    "    output_max: 10\n"              # 25 too small
    "  - id: h\n"                       # 26
    "    type: command\n"               # 27
    "    command: ['', x]\n"            # 28 empty program
)
BAD_WANT = [
    (4, 14, "command is a string: give a list of arguments, or set shell: true to run it with /bin/sh -c"),
    (7, 12, "expected true or false, got 'yes please'"),
    (11, 14, "command: the list is empty (the first item is the program)"),
    (14, 14, "command: expected a list of arguments (or a string with shell: true), got a mapping"),
    (18, 11, "bad name '1BAD': not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
    (19, 14, "workdir must be an absolute path"),
    (20, 5, "command check is missing 'command'"),
    (25, 17, "output_max must be at least 256 bytes"),
    (28, 14, "command: the program (the first item) must not be empty"),
]


def test_bad_settings_give_file_line_col():
    p = write("bad.yaml", BAD)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "config check exit code")
    h.eq(h.config_errors(r.stderr, p), BAD_WANT, f"errors of config check (stderr {r.stderr!r})")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
