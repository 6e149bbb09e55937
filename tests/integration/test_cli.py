"""
Integration tests of the opshub command line (docs/api.md "CLI"): version, --help of
every command, `config check` on good and bad files, `check` exit codes (Nagios
convention), table and --json output, id selection. Real nginx and a Python target.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def setup():
    ENV["tmp"] = h.TempDir("opshub-cli-")
    ENV["nginx"] = h.Nginx().start()
    ENV["target"] = h.Target()
    ENV["banner"] = h.BannerServer()


def write(name, text):
    p = ENV["tmp"].join(name)
    with open(p, "w") as f:
        f.write(text)
    return p


def up_checks():
    n, b = ENV["nginx"], ENV["banner"]
    return [
        h.http_check("web", n.url("/health"), interval="5s", timeout="2s", expect={"json": {"status": "ok"}}),
        h.tcp_check("ssh", b.address, interval="5s", timeout="2s", expect="SSH-2.0"),
    ]


def degraded_check():
    return h.http_check("slowpoke", ENV["target"].url("/slow?ms=300"), interval="5s", timeout="2s",
                        expect={"max_latency": "100ms"})


def down_check():
    return h.http_check("broken", ENV["nginx"].url("/down"), interval="5s", timeout="2s")


ERR_LINE_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def err_lines(stderr, path):
    out = []
    for ln in stderr.splitlines():
        m = ERR_LINE_RE.match(ln)
        if m and m.group("file") == path:
            out.append((int(m.group("line")), int(m.group("col")), m.group("msg")))
    return out


# --------------------------------------------------------------------------------

def test_version_format():
    r = h.run_cli(["version"])
    h.eq(r.returncode, 0, "exit code of `opshub version`")
    lines = r.stdout.splitlines()
    h.eq(len(lines), 1, f"lines printed by version ({r.stdout!r})")
    h.check(re.match(r"^opshub \d+\.\d+\.\d+ \(commit [0-9a-zA-Z._-]+\)$", lines[0]),
            f"version line {lines[0]!r} does not match 'opshub X.Y.Z (commit abc1234)'")


def test_help_of_every_command():
    for args in (["serve", "--help"], ["check", "--help"], ["config", "check", "--help"],
                 ["version", "--help"], ["--help"]):
        r = h.run_cli(args)
        h.eq(r.returncode, 0, f"exit code of opshub {' '.join(args)}")
        h.contains(r.stdout, "usage", f"stdout of opshub {' '.join(args)}", ci=True)
    r = h.run_cli(["serve", "--help"])
    for opt in ("--config", "--data", "--listen"):
        h.contains(r.stdout, opt, "serve --help")
    r = h.run_cli(["check", "--help"])
    h.contains(r.stdout, "--json", "check --help")


def test_unknown_command_exits_2():
    r = h.run_cli(["frobnicate"])
    h.eq(r.returncode, 2, "exit code of an unknown command")
    h.contains(r.stderr, "frobnicate", "stderr of an unknown command")


def test_config_check_valid_file():
    cfg = h.make_config(up_checks() + [down_check()],
                        projects=[{"id": "shop", "name": "Shop"}, {"id": "blog", "name": "Blog"}])
    p = write("valid.yaml", cfg)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 0, f"exit code of config check on a valid file (stderr {r.stderr!r})")
    h.eq(r.stdout.strip(), f"{p}: ok (3 checks, 2 projects)", "config check output")


def test_config_check_reports_every_error_with_position():
    url = ENV["nginx"].url("/health")
    text = (
        "checks:\n"                      # 1
        "  - id: web\n"                  # 2
        "    type: http\n"               # 3
        f"    url: {url}\n"              # 4
        "    intervall: 1s\n"            # 5  unknown key (did you mean interval)
        "  - id: slow\n"                 # 6
        "    type: http\n"               # 7
        f"    url: {url}\n"              # 8
        "    timeout: 5parsecs\n"        # 9  bad duration
        "  - id: Bad_ID!\n"              # 10 invalid id
        "    type: tcp\n"                # 11
        "    address: 127.0.0.1:1\n"     # 12
    )
    p = write("three-errors.yaml", text)
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "exit code of config check with 3 errors")
    errs = err_lines(r.stderr, p)
    h.eq(len(errs), 3, f"FILE:LINE:COL lines on stderr (stderr was {r.stderr!r})")
    by_line = {ln: (col, msg) for ln, col, msg in errs}
    h.eq(sorted(by_line), [5, 9, 10], f"error lines (stderr {r.stderr!r})")
    h.eq(by_line[5][0], 5, "column of the unknown key 'intervall' (1-based)")
    h.contains(by_line[5][1], "intervall", "unknown-key message names the key")
    h.contains(by_line[5][1], "interval", "unknown-key message suggests 'interval'")
    h.check(by_line[9][0] in (5, 14), f"column of the bad duration: {by_line[9][0]} not 5 or 14")
    h.check(by_line[10][0] in (5, 9), f"column of the bad id: {by_line[10][0]} not 5 or 9")
    h.eq(r.stdout.strip(), "", "stdout of a failed config check")


def test_config_check_missing_file():
    p = ENV["tmp"].join("does-not-exist.yaml")
    r = h.run_cli(["config", "check", "--config", p])
    h.eq(r.returncode, 2, "exit code of config check on a missing file")
    h.contains(r.stderr, p, "stderr names the missing file")


def test_serve_rejects_bad_config_with_exit_2():
    p = write("serve-bad.yaml", "checks:\n  - id: x\n    type: http\n    url: http://127.0.0.1:1/\n    bogus: 1\n")
    d = ENV["tmp"].join("serve-bad-data")
    r = h.run_cli(["serve", "--config", p, "--data", d, "--listen", f"127.0.0.1:{h.free_port()}"], timeout=20)
    h.eq(r.returncode, 2, "exit code of serve with an invalid config")
    h.check(re.search(re.escape(p) + r":5:5: ", r.stderr), f"serve stderr lacks {p}:5:5: ({r.stderr[-800:]!r})")


def test_check_all_up_exit_0_and_table():
    p = write("up.yaml", h.make_config(up_checks()))
    r = h.run_cli(["check", "--config", p])
    h.eq(r.returncode, 0, f"exit code with all checks up (stdout {r.stdout!r} stderr {r.stderr!r})")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    h.eq(lines[0].split(), ["ID", "TYPE", "STATUS", "LATENCY", "CODE", "ERROR"], "table header")
    # one row per check; its values on an indented line right below it
    rows = {ln.split()[0]: ln.split() for ln in lines[1:] if not ln.startswith(" ")}
    h.eq(sorted(rows), ["ssh", "web"], "ids in the table")
    h.eq(rows["web"][1:3], ["http", "up"], "web row type/status")
    h.eq(rows["ssh"][1:3], ["tcp", "up"], "ssh row type/status")
    h.eq(rows["web"][4], "200", "web row code")
    values = {}
    for i, ln in enumerate(lines[1:], 1):
        if ln.startswith("    "):
            values[lines[i - 1].split()[0]] = dict(kv.split("=", 1) for kv in ln.split())
    h.eq(values["web"].get("http_status_code"), "200", "web's values line")
    h.check(float(values["web"]["phase_connect_seconds"]) >= 0, f"web phase_connect_seconds {values['web']}")
    h.check(float(values["ssh"]["phase_connect_seconds"]) >= 0, f"ssh phase_connect_seconds {values['ssh']}")


def test_check_degraded_exit_1():
    p = write("degraded.yaml", h.make_config(up_checks() + [degraded_check()]))
    r = h.run_cli(["check", "--config", p])
    h.eq(r.returncode, 1, f"exit code with a degraded check (stdout {r.stdout!r})")
    row = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("slowpoke")]
    h.eq(len(row), 1, "slowpoke rows")
    h.eq(row[0][2], "degraded", "slowpoke status")


def test_check_down_exit_2():
    p = write("down.yaml", h.make_config(up_checks() + [degraded_check(), down_check()]))
    r = h.run_cli(["check", "--config", p])
    h.eq(r.returncode, 2, f"exit code with a down check (stdout {r.stdout!r})")
    row = [ln for ln in r.stdout.splitlines() if ln.startswith("broken")]
    h.eq(len(row), 1, "broken rows")
    h.eq(row[0].split()[2], "down", "broken status")
    h.contains(row[0], "503", "broken row shows the status code / error")


def test_check_json_output():
    p = write("json.yaml", h.make_config(up_checks() + [degraded_check(), down_check()]))
    r = h.run_cli(["check", "--config", p, "--json"])
    h.eq(r.returncode, 2, "exit code of --json with a down check")
    doc = json.loads(r.stdout)
    h.eq(doc["summary"], {"up": 2, "degraded": 1, "down": 1}, "summary")
    h.eq([c["id"] for c in doc["checks"]], ["web", "ssh", "slowpoke", "broken"], "ids in config order")
    for c in doc["checks"]:
        h.eq(set(c), {"id", "type", "status", "latency_ms", "code", "error", "values"}, f"keys of {c['id']}")
        h.check(h.is_num(c["latency_ms"]) and c["latency_ms"] >= 0, f"latency_ms of {c['id']}")
        h.check(all(h.is_num(v) for v in c["values"].values()), f"values of {c['id']}: {c['values']}")
    by = {c["id"]: c for c in doc["checks"]}
    h.eq(by["web"]["code"], 200, "web code")
    h.eq(by["web"]["values"]["http_status_code"], 200, "web http_status_code value")
    h.eq(by["broken"]["values"]["http_status_code"], 503, "broken http_status_code value")
    h.eq(by["web"]["error"], "", "web error (up => empty)")
    h.eq(by["broken"]["status"], "down", "broken status")
    h.eq(by["broken"]["code"], 503, "broken code")
    h.contains(by["broken"]["error"], "unexpected status 503", "broken error")
    h.eq(by["slowpoke"]["status"], "degraded", "slowpoke status")
    h.check(by["slowpoke"]["latency_ms"] >= 250, f"slowpoke latency {by['slowpoke']['latency_ms']} < 250ms")


def test_check_only_given_ids():
    p = write("ids.yaml", h.make_config(up_checks() + [down_check()]))
    r = h.run_cli(["check", "--config", p, "web"])
    h.eq(r.returncode, 0, f"exit code when only the up check 'web' runs (stdout {r.stdout!r})")
    ids = [ln.split()[0] for ln in r.stdout.splitlines()[1:] if ln.strip() and not ln.startswith(" ")]
    h.eq(ids, ["web"], "ids in the table")
    r = h.run_cli(["check", "--config", p, "--json", "broken", "ssh"])
    h.eq(r.returncode, 2, "exit code when broken runs")
    doc = json.loads(r.stdout)
    h.eq(sorted(c["id"] for c in doc["checks"]), ["broken", "ssh"], "ids run")
    h.eq(doc["summary"], {"up": 1, "degraded": 0, "down": 1}, "summary")


def test_check_unknown_id_exit_2():
    p = write("unknown-id.yaml", h.make_config(up_checks()))
    r = h.run_cli(["check", "--config", p, "web", "nosuchcheck"])
    h.eq(r.returncode, 2, "exit code for an unknown id")
    h.contains(r.stderr, "nosuchcheck", "stderr names the unknown id")


def test_check_bad_config_exit_2():
    p = write("check-bad.yaml", "checks:\n  - id: x\n    type: htp\n    url: http://127.0.0.1:1/\n")
    r = h.run_cli(["check", "--config", p])
    h.eq(r.returncode, 2, "exit code of check with a bad config")
    h.check(err_lines(r.stderr, p), f"no {p}:LINE:COL: line on stderr: {r.stderr!r}")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
