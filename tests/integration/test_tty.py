"""
Integration tests of what opshub does differently on a terminal: log lines in text
format instead of JSON (docs/api.md "Logs"), and `opshub check` progress on stderr
(docs/api.md "CLI"). stderr is a pseudo-terminal here; stdout stays a pipe.
"""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ENV = {}


def setup():
    ENV["tmp"] = h.TempDir("opshub-tty-")
    ENV["target"] = h.Target()


def run_with_tty_stderr(args, until=None, timeout=15):
    """Runs opshub with stderr on a pty. Returns (exit code, stdout, stderr text)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([h.OPSHUB_BIN] + args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                         env=h.opshub_env(), cwd=ENV["tmp"].join())
    os.close(slave)
    err = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                if not chunk and p.poll() is not None:
                    break
                err += chunk
            elif p.poll() is not None:
                break
            if until and until(err.decode(errors="replace")):
                p.send_signal(signal.SIGTERM)
                until = None
        out, _ = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def test_serve_logs_text_on_a_terminal():
    cfg = ENV["tmp"].join("serve.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([h.http_check("ok", ENV["target"].url("/ok"), interval="1s", timeout="500ms")]))
    port = h.free_port()
    code, _, err = run_with_tty_stderr(
        ["serve", "--config", cfg, "--data", ENV["tmp"].join("data"), "--listen", f"127.0.0.1:{port}"],
        until=lambda e: "opshub started" in e)
    h.eq(code, 0, f"exit code after SIGTERM (stderr {err[-500:]!r})")
    lines = [ln for ln in err.replace("\r", "").splitlines() if ln.strip()]
    started = [ln for ln in lines if "opshub started" in ln]
    h.check(started, f"no 'opshub started' line in {lines!r}")
    h.check(not started[0].lstrip().startswith("{"), f"log line is JSON on a terminal: {started[0]!r}")
    h.contains(started[0], "info", "level in the text line")
    h.contains(started[0], f"listen=127.0.0.1:{port}", "fields as key=value")


def test_serve_logs_json_when_not_a_terminal():
    cfg = ENV["tmp"].join("serve-json.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([]))
    port = h.free_port()
    p = subprocess.Popen([h.OPSHUB_BIN, "serve", "--config", cfg, "--data", ENV["tmp"].join("data2"),
                          "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=h.opshub_env(), cwd=ENV["tmp"].join())
    try:
        h.wait_for(lambda: h.port_open(port), 10, "opshub listening")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    lines = [json.loads(ln) for ln in err.decode().splitlines()]  # every line must be JSON
    h.check(any(d["msg"] == "opshub started" for d in lines), f"no 'opshub started' line in {lines[:3]}")
    doc = [d for d in lines if d["msg"] == "opshub started"][0]


def test_check_shows_progress_on_a_terminal_and_a_clean_table_on_stdout():
    t = ENV["target"]
    cfg = ENV["tmp"].join("check.yaml")
    with open(cfg, "w") as f:
        f.write(h.make_config([
            h.http_check("fast", t.url("/ok"), interval="5s", timeout="2s"),
            h.http_check("slow", t.url("/slow?ms=400"), interval="5s", timeout="2s"),
        ]))
    code, out, err = run_with_tty_stderr(["check", "--config", cfg])
    h.eq(code, 0, f"exit code (stdout {out!r})")
    h.contains(err, "checking...", "progress on the terminal")
    h.contains(err, "2/2", "progress reaches the total")
    h.check("checking" not in out, "no progress in the table on stdout")
    ids = [ln.split()[0] for ln in out.splitlines()[1:] if ln.strip() and not ln.startswith(" ")]
    h.eq(ids, ["fast", "slow"], "table rows")


if __name__ == "__main__":
    h.run(h.collect(globals()), setup=setup, test_timeout=60)
