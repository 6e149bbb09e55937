"""
Integration tests of the log check type: the real opshub following files this test writes,
rotated by Debian's real logrotate. Expected: appended lines are counted exactly (the sum of
`<name>_matches` over the stored samples equals the matching lines written), with a
per-minute rate once there is a previous run; a clean restart and a kill -9 count neither a
line twice nor miss one (the lines written while the daemon was down are counted after it
starts), and runs now fired together beside the scheduled ones count each line once;
`logrotate -f` run mid-burst (a writer appending lines at a steady, bounded rate,
reopening its file when it sees the path name another inode, as a postrotate signal would
make it) with `create`, with `compress` + `delaycompress` (and a second rotation that gzips
the `.1`), and with `copytruncate`: exact counts for the first two; for copytruncate the count
equals the matching lines found in the copy plus the truncated file afterwards (the lines
written between logrotate's copy and its truncate are in neither, the documented window);
a missing file is down "cannot open ...: No such file or directory"; `opshub check --json`
prints the values; /metrics shows them; bad configuration gives FILE:LINE:COL.
"""
# ctest: COST 34
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}
PATTERNS = {"errors": "ERROR|CRITICAL|FATAL", "payments": "payment.*failed"}


def line(i):
    """The i-th line a writer writes: errors, payments and neither, in turn."""
    kind = i % 3
    if kind == 0:
        return f"2026-01-01T00:00:00Z {i:06d} ERROR upstream timed out\n"
    if kind == 1:
        return f"2026-01-01T00:00:00Z {i:06d} payment {i} failed: card declined\n"
    return f"2026-01-01T00:00:00Z {i:06d} INFO request ok\n"


def expected(lines):
    """Matches per pattern in an iterable of lines, with the same regexes as the check."""
    res = {name: re.compile(rx) for name, rx in PATTERNS.items()}
    out = {name: 0 for name in PATTERNS}
    n = 0
    for ln in lines:
        n += 1
        for name, rx in res.items():
            if rx.search(ln):
                out[name] += 1
    out["lines"] = n
    return out


def written(first, last):
    return expected(line(i) for i in range(first, last))


class Writer(threading.Thread):
    """Appends lines first..last-1 to path at about `rate` lines a second (bounded: one line,
    then a short sleep), reopening the path when it names another inode than the open file
    (what an application does on logrotate's postrotate signal; until it notices, its lines
    go to the rotated file)."""

    def __init__(self, path, first, last, rate=800):
        super().__init__(daemon=True)
        self.path, self.first, self.last, self.pause = path, first, last, 1.0 / rate
        self.done = 0
        self.error = None
        self.progress = threading.Condition()

    def _open(self):
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def run(self):
        fd = self._open()
        try:
            for i in range(self.first, self.last):
                try:
                    now = os.stat(self.path)
                    cur = os.fstat(fd)
                    if (now.st_ino, now.st_dev) != (cur.st_ino, cur.st_dev):
                        os.close(fd)
                        fd = self._open()
                except FileNotFoundError:
                    pass  # renamed and not created yet: keep writing to the open file
                data = line(i).encode()
                h.eq(os.write(fd, data), len(data), "a whole line written at once")
                with self.progress:
                    self.done += 1
                    self.progress.notify_all()
                time.sleep(self.pause)
        except Exception as e:  # noqa: BLE001 - reported by finish()
            self.error = e
        finally:
            os.close(fd)

    def wait_done(self, n, timeout=30):
        with self.progress:
            ok = self.progress.wait_for(lambda: self.done >= n or not self.is_alive(), timeout)
        h.check(ok and self.done >= n, f"the writer wrote {self.done} of {n} lines")

    def finish(self):
        self.join(60)
        h.check(not self.is_alive(), "the writer finished")
        if self.error:
            raise self.error
        h.eq(self.done, self.last - self.first, "lines the writer wrote")


def append(path, first, last):
    with open(path, "a") as f:
        for i in range(first, last):
            f.write(line(i))


def log_check(cid, path, **kw):
    c = {"id": cid, "type": "log", "path": path, "interval": "400ms", "timeout": "350ms",
         "patterns": dict(PATTERNS)}
    c.update(kw)
    return c


def setup():
    tmp = ENV["tmp"] = h.TempDir("opshub-log-it-")
    logs = ENV["logs"] = tmp.join("logs")
    os.mkdir(logs, 0o755)
    names = ["count", "create", "delay", "copy", "cli"]
    for n in names:
        open(os.path.join(logs, f"{n}.log"), "w").close()
    append(os.path.join(logs, "cli.log"), 0, 30)
    append(os.path.join(logs, "history.log"), 0, 30)
    checks = [log_check(n, os.path.join(logs, f"{n}.log")) for n in names if n != "cli"]
    # one run an hour, from the start: its values stay put for /metrics
    checks.append(log_check("history", os.path.join(logs, "history.log"), interval="1h", **{"from": "start"}))
    checks.append(log_check("missing", os.path.join(logs, "missing.log")))
    ENV["config"] = h.make_config(checks)
    o = ENV["o"] = h.track(h.Opshub(ENV["config"]))
    o.start()

    def all_sampled():
        return all(c.get("last_sample") for c in o.get_json("/api/v1/checks")["checks"] if c["id"] != "history")
    h.wait_for(all_sampled, 20, "every check to have a sample")


def O():
    return ENV["o"]


def path(name):
    return os.path.join(ENV["logs"], f"{name}.log")


def totals(cid):
    """Sums of the counting values over every stored sample of cid."""
    samples = O().samples(cid, "limit=10000")["samples"]
    out = {name: 0 for name in PATTERNS}
    out["lines"] = 0
    for s in samples:
        v = s.get("values") or {}
        for name in PATTERNS:
            out[name] += int(v.get(f"{name}_matches", 0))
        out["lines"] += int(v.get("lines", 0))
    return out, samples


def wait_totals(cid, want, timeout=30):
    """Waits until the stored sums reach want, then for two more runs, and asserts they equal
    want exactly (a line counted twice shows as more)."""
    def reached():
        got, samples = totals(cid)
        if any(got[k] > want[k] for k in want):
            raise AssertionError(f"{cid}: counted more than written: {got} > {want}")
        return samples if got == want else None
    samples = h.wait_for(reached, timeout, f"{cid} to count {want} (has {totals(cid)[0]})", interval=0.2)
    seen = len(samples)
    h.wait_for(lambda: len(totals(cid)[1]) >= seen + 2, 15, f"two more runs of {cid}", interval=0.2)
    got, samples = totals(cid)
    h.eq(got, want, f"{cid}'s counts two runs later")
    return samples


def logrotate(name, directives):
    conf = ENV["tmp"].join(f"logrotate-{name}.conf")
    with open(conf, "w") as f:
        f.write(f"{path(name)} {{\n    rotate 5\n    missingok\n")
        for d in directives:
            f.write(f"    {d}\n")
        f.write("}\n")
    os.chmod(conf, 0o644)
    state = ENV["tmp"].join(f"logrotate-{name}.state")
    r = subprocess.run(["logrotate", "-f", "-s", state, conf], capture_output=True, text=True, timeout=60)
    h.eq(r.returncode, 0, f"logrotate {name}: {r.stdout} {r.stderr}")


def rotate_mid_burst(name, directives, n=1200):
    """A writer appends n lines; logrotate -f runs when a third of them are written."""
    w = Writer(path(name), 0, n)
    w.start()
    w.wait_done(n // 3)
    logrotate(name, directives)
    h.check(w.is_alive() and w.done < n, f"logrotate ran mid-burst ({w.done} of {n} written)")
    w.finish()
    return w


# ---------------------------------------------------------------------------------

def test_appended_lines_are_counted_exactly():
    append(path("count"), 0, 100)
    samples = wait_totals("count", written(0, 100))
    last = samples[0]["values"]
    h.check(all(f"{n}_matches" in last for n in PATTERNS), f"values of the last sample: {last}")
    rated = [s for s in samples if "errors_matches_per_minute" in (s.get("values") or {})]
    h.check(rated, "a run after the first has errors_matches_per_minute")
    for s in rated:
        v = s["values"]
        h.check(v["errors_matches_per_minute"] >= 0 and v["payments_matches_per_minute"] >= 0, f"rates {v}")
    busy = [s for s in rated if s["values"]["errors_matches"] > 0]
    for s in busy:  # a run 400 ms after the previous one: about 150 times its count a minute
        v = s["values"]
        h.check(v["errors_matches_per_minute"] > v["errors_matches"], f"per minute above the count: {v}")
    h.eq(O().check_json("count")["status"], "up", "count's status")


def test_metrics_show_the_values():
    o = O()
    o.post_json("/api/v1/checks/history/run")  # its scheduled run may be an hour away
    want = written(0, 30)
    wait_totals_once = h.wait_for(lambda: (lambda t: t if t["lines"] == 30 else None)(totals("history")[0]), 15,
                                  "history's run to be stored", interval=0.2)
    h.eq(wait_totals_once, want, "history's stored counts (from: start)")
    m = o.metrics()
    last = o.check_json("history")["last_sample"]["values"]
    values = {lab["name"]: v for lab, v in m.find("opshub_check_value", check="history")}
    h.eq({k: values.get(k) for k in ("errors_matches", "payments_matches")},
         {k: last.get(k) for k in ("errors_matches", "payments_matches")}, "/metrics values of history")
    h.eq(m.find("opshub_log_lines", check="history")[0][1], last["lines"], "opshub_log_lines of history")
    h.eq(m.find("opshub_log_bytes_behind", check="history")[0][1], 0, "opshub_log_bytes_behind of history")
    names = {lab["name"] for lab, _ in m.find("opshub_check_value", check="count")}
    for name in ("errors_matches", "payments_matches", "errors_matches_per_minute",
                 "payments_matches_per_minute"):
        h.check(name in names, f"/metrics has no opshub_check_value name={name} for count: {names}")
    h.eq(m.find("probe_success", check="missing")[0][1], 0, "probe_success of missing")


def test_a_partial_line_counts_once_its_newline_arrives():
    before, _ = totals("count")
    with open(path("count"), "a") as f:
        f.write("2026-01-01T00:00:00Z ERROR half a li")
    wait_totals("count", before)
    with open(path("count"), "a") as f:
        f.write("ne, now whole\n")
    want = dict(before)
    want["errors"] += 1
    want["lines"] += 1
    wait_totals("count", want)
    append(path("count"), 100, 130)
    ENV["count_next"] = 130
    ENV["count_want"] = {k: want[k] + written(100, 130)[k] for k in want}
    wait_totals("count", ENV["count_want"])


def test_restart_clean_and_kill_minus_9_count_nothing_twice_and_miss_nothing():
    o = O()
    want = ENV["count_want"]
    first = ENV["count_next"]
    # clean stop; lines written while it is down are counted after it starts
    h.eq(o.stop(), 0, "exit code after SIGTERM")
    append(path("count"), first, first + 50)
    want = {k: want[k] + written(first, first + 50)[k] for k in want}
    o.start()
    wait_totals("count", want)
    # kill -9: the state file was written before each sample, atomically
    o.kill()
    append(path("count"), first + 50, first + 120)
    want = {k: want[k] + written(first + 50, first + 120)[k] for k in want}
    o.start()
    wait_totals("count", want)
    # and a burst while it runs, after the restarts
    w = Writer(path("count"), first + 120, first + 420)
    w.start()
    w.finish()
    want = {k: want[k] + written(first + 120, first + 420)[k] for k in want}
    wait_totals("count", want)
    # runs now, together and beside the scheduled ones: they take turns on the state
    append(path("count"), first + 420, first + 480)
    want = {k: want[k] + written(first + 420, first + 480)[k] for k in want}
    posts = [threading.Thread(target=lambda: o.post("/api/v1/checks/count/run"), daemon=True) for _ in range(4)]
    for t in posts:
        t.start()
    for t in posts:
        t.join(30)
    wait_totals("count", want)
    state = os.path.join(o.data_dir, "log-state", "count.state")
    with open(state) as f:
        text = f.read()
    h.check(text.startswith("opshub-log-state 1\n") and text.endswith("end\n"), f"state file: {text!r}")
    # a run writes its temporary file for a moment; none is left behind
    h.wait_for(lambda: not [n for n in os.listdir(os.path.dirname(state)) if n.startswith("count.state.tmp")], 10,
               "no temporary state file of count", interval=0.01)


def test_logrotate_create_mid_burst_counts_exactly():
    w = rotate_mid_burst("create", ["create 0644"])
    h.check(os.path.exists(path("create") + ".1"), "logrotate made create.log.1")
    with open(path("create") + ".1") as f:
        in_old = f.read().count("\n")
    h.check(0 < in_old < w.done, f"the burst is split across the files ({in_old} lines in .1)")
    wait_totals("create", written(0, w.done))
    h.eq(O().check_json("create")["last_sample"]["result"], "up", "create's last result")


def test_logrotate_delaycompress_mid_burst_counts_exactly():
    w = rotate_mid_burst("delay", ["compress", "delaycompress", "create 0644"])
    h.check(os.path.exists(path("delay") + ".1"), "delaycompress left delay.log.1 uncompressed")
    want = written(0, w.done)
    wait_totals("delay", want)
    # a second rotation gzips the .1 (counted already) and moves the current file to .1
    w2 = rotate_mid_burst("delay", ["compress", "delaycompress", "create 0644"], n=600)
    h.check(os.path.exists(path("delay") + ".2.gz"), "the second rotation compressed delay.log.2.gz")
    want = {k: want[k] + written(0, w2.done)[k] for k in want}
    wait_totals("delay", want)
    h.eq(O().check_json("delay")["last_sample"]["result"], "up", "delay's last result")


def test_logrotate_copytruncate_mid_burst_counts_what_the_files_hold():
    w = rotate_mid_burst("copy", ["copytruncate"])
    with open(path("copy") + ".1") as f:
        copied = f.readlines()
    with open(path("copy")) as f:
        current = f.readlines()
    h.check(copied and current, "lines in both the copy and the truncated file")
    on_disk = expected(copied + current)
    # logrotate's window: lines written between its copy and its truncate are in neither file
    h.check(on_disk["lines"] <= w.done, f"{on_disk['lines']} lines on disk of {w.done} written")
    numbers = [int(ln.split()[1]) for ln in copied + current]
    h.eq(numbers, sorted(numbers), "the files hold the lines in order")
    lost = sorted(set(range(w.done)) - set(numbers))
    if lost:  # a single run of consecutive lines: the copy-to-truncate window
        h.eq(lost, list(range(lost[0], lost[-1] + 1)), "the lines not on disk are one window")
    wait_totals("copy", on_disk)


def test_missing_file_is_down():
    o = O()
    c = o.wait_status("missing", "down")
    h.contains(c["last_sample"]["error"], f"cannot open {path('missing')}: No such file or directory",
               "missing's error")
    append(path("missing"), 0, 9)  # created later: read from its start
    o.wait_status("missing", "up")
    wait_totals("missing", written(0, 9))


def test_opshub_check_prints_the_values():
    cfg = ENV["tmp"].join("cli.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([log_check("cli", path("cli")), log_check("gone", path("gone"))]))
    r = h.run_cli(["check", "--config", cfg, "--json", "cli"])
    h.eq(r.returncode, 0, f"opshub check exit ({r.stdout} {r.stderr})")
    doc = json.loads(r.stdout)
    c = doc["checks"][0]
    h.eq(c["status"], "up", "CLI status")
    want = written(0, 30)
    h.eq({"errors": c["values"]["errors_matches"], "payments": c["values"]["payments_matches"],
          "lines": c["values"]["lines"]}, want, "opshub check --json values (the whole file)")
    h.check("errors_matches_per_minute" not in c["values"], "one run has no rate")
    r = h.run_cli(["check", "--config", cfg, "cli", "gone"])
    h.eq(r.returncode, 2, f"a missing file is down ({r.stdout} {r.stderr})")
    h.contains(r.stdout, "errors_matches", "the table shows the values")
    h.contains(r.stdout, "No such file or directory", "the table shows why gone is down")
    h.eq(os.listdir(ENV["tmp"].path).count("data"), 0, "opshub check wrote no state")


def test_bad_config_reports_file_line_col():
    p = ENV["tmp"].join("bad.yaml")
    with open(p, "w") as f:
        f.write("checks:\n"
                "  - id: a\n"
                "    type: log\n"
                "    path: logs/app.log\n"
                "    patterns: {errors: 'ERROR(', Bad-Name: x}\n"
                "  - id: b\n"
                "    type: log\n"
                "    patterns: {}\n"
                "  - id: c\n"
                "    type: log\n"
                "    path: /var/log/c.log\n"
                "    patterns: {a: x, b: x, c: x, d: x, e: x, f: x}\n")
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, f"exit code of config check ({r.stdout} {r.stderr})")
    out = r.stdout + r.stderr
    h.contains(out, f"{p}:4:11: path must be an absolute path", "relative path")
    h.contains(out, f"{p}:5:24: bad regex for pattern 'errors': missing closing parenthesis at offset 6",
               "bad regex")
    h.contains(out, f"{p}:5:34: bad pattern name 'Bad-Name': names start with a-z or _", "bad name")
    h.contains(out, f"{p}:6:5: log check is missing 'path'", "missing path")
    h.contains(out, f"{p}:8:15: patterns is empty", "empty patterns")
    h.contains(out, f"{p}:12:46: too many patterns: at most 5 per check", "too many patterns")


def test_opshub_stops_cleanly():
    h.eq(O().stop(), 0, "exit code after SIGTERM")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=120)
