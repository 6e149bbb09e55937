"""
Integration tests of the host check types (docs/checks.md `disk`, `memory`, `cpu`) through
the real binary: `opshub check` on a real path with normal thresholds (up) and thresholds
forced low (degraded, down), values compared with os.statvfs and /proc; a 1 MiB tmpfs filled
past warn and crit, and one run out of inodes; memory and cpu values sane; bad settings give
FILE:LINE:COL errors from `config check` and `serve`; `serve` exports the node_exporter names
on /metrics and the values through the API.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def setup():
    ENV["tmp"] = h.TempDir("opshub-host-")


def write(name, text):
    p = ENV["tmp"].join(name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run_check(checks, name):
    """`opshub check --json` on the checks; (exit code, {id: check})."""
    p = write(name, h.make_config(checks))
    r = h.run_cli(["check", "--config", p, "--json"])
    h.check(r.stdout.strip(), f"no JSON from opshub check (rc {r.returncode}, stderr {r.stderr!r})")
    doc = json.loads(r.stdout)
    return r.returncode, {c["id"]: c for c in doc["checks"]}


def near(got, want, what):
    """JSON numbers carry 10 significant digits: byte counts compare to a part in 1e9."""
    h.check(abs(got - want) <= abs(want) * 1e-9, f"{what}: expected {want!r}, got {got!r}")


def df_ratio(path):
    """df's Use% as a ratio, as the disk check computes it."""
    st = os.statvfs(path)
    used = st.f_blocks - st.f_bfree
    return used / (used + st.f_bavail) if used + st.f_bavail else 0.0


def disk(cid, path, **kw):
    c = {"id": cid, "type": "disk", "path": path, "interval": "5s", "timeout": "2s"}
    c.update(kw)
    return c


# --------------------------------------------------------------------------------

def test_disk_on_a_real_path_matches_statvfs():
    path = ENV["tmp"].path
    # normal thresholds, unless this machine's disk is really that full
    normal = df_ratio(path) < 0.79
    kw = {} if normal else {"warn": 1, "crit": 1}
    if not normal:
        print(f"  note: {path} is {df_ratio(path):.0%} used: thresholds 1/1 instead of the defaults")
    rc, by = run_check([disk("data", path, **kw)], "disk-up.yaml")
    st = os.statvfs(path)
    c = by["data"]
    h.eq((rc, c["status"], c["error"]), (0, "up", ""), f"disk check with normal thresholds: {c}")
    v = c["values"]
    near(v["size_bytes"], st.f_blocks * st.f_frsize, "size_bytes against os.statvfs")
    avail = st.f_bavail * st.f_frsize
    h.check(abs(v["avail_bytes"] - avail) <= max(avail * 0.01, 64 << 20),
            f"avail_bytes {v['avail_bytes']} against os.statvfs {avail}")
    h.check(abs(v["used_ratio"] - df_ratio(path)) < 0.01, f"used_ratio {v['used_ratio']} vs df {df_ratio(path)}")
    if st.f_files:
        near(v["files"], st.f_files, "files against os.statvfs")
        h.check(0 <= v["inodes_used_ratio"] <= 1, f"inodes_used_ratio {v}")


def test_disk_thresholds_forced_low():
    path = "/"  # holds this system: some of it is used
    rc, by = run_check([disk("low", path, warn=0.0001)], "disk-warn.yaml")
    c = by["low"]
    h.eq((rc, c["status"]), (1, "degraded"), f"warn 0.0001: {c}")
    h.check(re.fullmatch(r"(inodes_)?used_ratio [0-9.e-]+ is above warn 0\.0001", c["error"]),
            f"error names the ratio and its value: {c['error']!r}")
    rc, by = run_check([disk("lower", path, warn=0.0001, crit=0.0002)], "disk-crit.yaml")
    c = by["lower"]
    h.eq((rc, c["status"]), (2, "down"), f"crit 0.0002: {c}")
    h.check(re.fullmatch(r"(inodes_)?used_ratio [0-9.e-]+ is above crit 0\.0002", c["error"]),
            f"error names the ratio and its value: {c['error']!r}")
    rc, by = run_check([disk("gone", "/nonexistent/opshub")], "disk-gone.yaml")
    h.eq((rc, by["gone"]["status"], by["gone"]["error"]),
         (2, "down", "statfs /nonexistent/opshub: no such file or directory"), "missing path")


def mount_tmpfs(name, options):
    """A fresh tmpfs at a new directory, or None with the reason printed."""
    d = ENV["tmp"].join(name)
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", d], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"  SKIP: cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}): "
              "the filled-disk test needs root and mount permission")
        return None
    return d


def umount(d):
    subprocess.run(["umount", d], check=False)


def fill(path, kib):
    with open(path, "wb") as f:
        f.write(b"\xa5" * (kib * 1024))
        f.flush()
        os.fsync(f.fileno())


def test_disk_filled_tmpfs_crosses_warn_then_crit():
    d = mount_tmpfs("small", "size=1m,mode=0755")
    if not d:
        return
    try:
        checks = [disk("small", d)]
        rc, by = run_check(checks, "tmpfs.yaml")
        h.eq((rc, by["small"]["status"]), (0, "up"), f"empty tmpfs: {by['small']}")
        h.eq(by["small"]["values"]["size_bytes"], 1 << 20, "size of a 1 MiB tmpfs")
        fill(os.path.join(d, "blob"), 870)
        want = df_ratio(d)
        h.check(0.8 < want <= 0.9, f"the fill puts the tmpfs between warn and crit: {want}")
        rc, by = run_check(checks, "tmpfs.yaml")
        c = by["small"]
        h.eq((rc, c["status"]), (1, "degraded"), f"tmpfs {want:.0%} full: {c}")
        h.eq(c["error"], f"used_ratio {want:.4g} is above warn 0.8", "degraded error")
        h.check(abs(c["values"]["avail_bytes"] - os.statvfs(d).f_bavail * os.statvfs(d).f_frsize) == 0,
                f"avail_bytes of the tmpfs {c['values']}")
        fill(os.path.join(d, "blob"), 960)
        want = df_ratio(d)
        rc, by = run_check(checks, "tmpfs.yaml")
        c = by["small"]
        h.eq((rc, c["status"]), (2, "down"), f"tmpfs {want:.0%} full: {c}")
        h.eq(c["error"], f"used_ratio {want:.4g} is above crit 0.9", "down error")
        os.unlink(os.path.join(d, "blob"))
        rc, by = run_check(checks, "tmpfs.yaml")
        h.eq((rc, by["small"]["status"]), (0, "up"), f"emptied again: {by['small']}")
    finally:
        umount(d)


def test_disk_out_of_inodes_names_the_inode_ratio():
    d = mount_tmpfs("inodes", "size=1m,nr_inodes=40")
    if not d:
        return
    try:
        for i in range(34):
            open(os.path.join(d, f"f{i}"), "w").close()
        st = os.statvfs(d)
        iratio = (st.f_files - st.f_ffree) / st.f_files
        h.check(iratio > 0.8, f"inodes used on the tmpfs: {iratio}")
        rc, by = run_check([disk("inodes", d, crit=0.95)], "inodes.yaml")
        c = by["inodes"]
        h.eq((rc, c["status"]), (1, "degraded"), f"tmpfs out of inodes: {c}")
        h.eq(c["error"], f"inodes_used_ratio {iratio:.4g} is above warn 0.8", "the inode ratio is named")
        h.eq((c["values"]["files"], c["values"]["files_free"]), (st.f_files, st.f_ffree), "inode counts")
        h.check(c["values"]["used_ratio"] < 0.1, f"space is not what fills: {c['values']}")
    finally:
        umount(d)


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out


def test_memory_and_cpu_values():
    checks = [{"id": "mem", "type": "memory", "interval": "5s", "timeout": "2s", "warn": 1, "crit": 1},
              {"id": "cpu", "type": "cpu", "interval": "5s", "timeout": "2s", "warn": "100%", "crit": "100%"}]
    with open("/proc/loadavg") as f:
        before = [float(x) for x in f.read().split()[:3]]
    rc, by = run_check(checks, "memcpu.yaml")
    with open("/proc/loadavg") as f:
        after = [float(x) for x in f.read().split()[:3]]
    mi = meminfo()
    m = by["mem"]
    h.eq((rc, m["status"], m["error"]), (0, "up", ""), f"memory with thresholds 1: {m}")
    v = m["values"]
    near(v["total_bytes"], mi["MemTotal"] * 1024, "total_bytes = MemTotal")
    near(v["swap_total_bytes"], mi.get("SwapTotal", 0) * 1024, "swap_total_bytes = SwapTotal")
    h.check(0 < v["available_bytes"] <= v["total_bytes"], f"available_bytes {v}")
    h.check(abs(v["available_bytes"] - mi["MemAvailable"] * 1024) < v["total_bytes"] * 0.05,
            f"available_bytes near MemAvailable {mi['MemAvailable'] * 1024}: {v}")
    h.check(0 < v["used_ratio"] < 1 and 0 <= v["swap_used_ratio"] <= 1, f"memory ratios {v}")
    h.check(abs(v["used_ratio"] - (1 - v["available_bytes"] / v["total_bytes"])) < 1e-6, f"used_ratio {v}")
    c = by["cpu"]
    h.eq((c["status"], c["error"]), ("up", ""), f"cpu with thresholds 100%: {c}")
    v = c["values"]
    cpus = os.sysconf("SC_NPROCESSORS_ONLN")
    h.eq(v["cpus"], cpus, "cpus = online CPUs")
    h.check(0 <= v["used_ratio"] <= 1, f"cpu used_ratio {v}")
    for i, k in enumerate(("load1_per_core", "load5_per_core", "load15_per_core")):
        lo, hi = min(before[i], after[i]) / cpus, max(before[i], after[i]) / cpus
        h.check(lo - 0.02 <= v[k] <= hi + 0.02, f"{k} {v[k]} vs /proc/loadavg / cpus in [{lo}, {hi}]")
    # thresholds 0: whatever is used is above them
    rc, by = run_check([dict(checks[0], warn=0, crit=0)], "mem0.yaml")
    h.eq((rc, by["mem"]["status"]), (2, "down"), f"memory with crit 0: {by['mem']}")
    h.check(by["mem"]["error"].startswith("used_ratio 0.") and by["mem"]["error"].endswith(" is above crit 0"),
            f"memory error {by['mem']['error']!r}")


BAD = (
    "checks:\n"                      # 1
    "  - id: a\n"                    # 2
    "    type: disk\n"               # 3
    "    path: /\n"                  # 4
    "    warn: 0.95\n"               # 5  warn above crit
    "    crit: 0.9\n"                # 6
    "  - id: b\n"                    # 7
    "    type: disk\n"               # 8
    "    path: relative/dir\n"       # 9  not absolute
    "  - id: c\n"                    # 10 no path
    "    type: disk\n"               # 11
    "  - id: d\n"                    # 12
    "    type: memory\n"             # 13
    "    warn: 1.5\n"                # 14 above 1
    "  - id: e\n"                    # 15
    "    type: cpu\n"                # 16
    "    crit: 120%\n"               # 17 above 100%
    "  - id: f\n"                    # 18
    "    type: cpu\n"                # 19
    "    warn: -0.1\n"               # 20 below 0
    "  - id: g\n"                    # 21
    "    type: memory\n"             # 22
    "    path: /\n"                  # 23 not a memory field
    "  - id: h\n"                    # 24
    "    type: cpu\n"                # 25
    "    warn: 0x1\n"                # 26 hexadecimal
)
BAD_WANT = [
    (5, 11, "warn (0.95) must not be above crit (0.9)"),
    (9, 11, "path must be absolute (start with /)"),
    (10, 5, "disk check is missing 'path'"),
    (14, 11, "expected a ratio from 0 to 1 (0.8) or a percentage (80%), got '1.5'"),
    (17, 11, "expected a ratio from 0 to 1 (0.8) or a percentage (80%), got '120%'"),
    (20, 11, "expected a ratio from 0 to 1 (0.8) or a percentage (80%), got '-0.1'"),
    (23, 5, "'path' is not valid for a memory check"),
    (26, 11, "expected a ratio from 0 to 1 (0.8) or a percentage (80%), got '0x1'"),
]


def test_bad_settings_give_file_line_col():
    p = write("bad.yaml", BAD)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "config check exit code")
    h.eq(h.config_errors(r.stderr, p), BAD_WANT, f"errors of config check (stderr {r.stderr!r})")
    r = h.run_cli(["check", "--config", p])
    h.eq(r.returncode, 2, "check exit code")
    h.eq(h.config_errors(r.stderr, p), BAD_WANT, "errors of opshub check")
    r = h.run_cli(["serve", "--config", p, "--data", ENV["tmp"].join("bad-data"),
                   "--listen", f"127.0.0.1:{h.free_port()}"], timeout=20)
    h.eq(r.returncode, 2, "serve exit code")
    h.eq(h.config_errors(r.stderr, p), BAD_WANT, "errors of serve")


def test_serve_exports_host_values():
    cfg = h.make_config([disk("data", ENV["tmp"].path, interval="300ms", timeout="250ms", warn=1, crit=1),
                         {"id": "mem", "type": "memory", "interval": "300ms", "timeout": "250ms"},
                         {"id": "cpu", "type": "cpu", "interval": "1100ms", "timeout": "1s", "warn": 1, "crit": 1}])
    o = h.track(h.Opshub(cfg))
    o.start()
    o.wait_samples("data", 2)
    o.wait_samples("mem", 2)
    o.wait_samples("cpu", 3)
    cpu = o.samples("cpu", "?limit=3")["samples"]
    for s in cpu:
        h.check(0 <= s["values"]["used_ratio"] <= 1, f"cpu sample {s}")
    # later runs measure since the previous one: no pause of their own
    h.check(min(s["latency_ms"] for s in cpu[:2]) < 200, f"cpu runs after the first: {cpu}")
    m = o.metrics()
    st = os.statvfs(ENV["tmp"].path)
    h.eq(m.get("node_filesystem_size_bytes", check="data", project="", type="disk"),
         float(st.f_blocks * st.f_frsize), "node_filesystem_size_bytes")
    for name in ("node_filesystem_avail_bytes", "node_filesystem_free_bytes", "opshub_disk_used_ratio"):
        h.check(m.get(name, check="data", project="", type="disk") is not None, f"{name} on /metrics")
    h.eq(m.get("node_memory_MemTotal_bytes", check="mem", project="", type="memory"),
         float(meminfo()["MemTotal"] * 1024), "node_memory_MemTotal_bytes")
    h.check(m.get("node_memory_MemAvailable_bytes", check="mem", project="", type="memory") > 0,
            "node_memory_MemAvailable_bytes")
    windows = {lab["window"] for lab, _ in m.find("opshub_cpu_load_per_core", check="cpu")}
    h.eq(windows, {"1m", "5m", "15m"}, "opshub_cpu_load_per_core windows")
    h.eq(m.get("opshub_cpu_count", check="cpu", project="", type="cpu"),
         float(os.sysconf("SC_NPROCESSORS_ONLN")), "opshub_cpu_count")
    o.stop()


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=90)
