"""
Integration-test harness: runs the real opshub binary (env OPSHUB_BIN) against real
servers on loopback: nginx, PostgreSQL, a controllable Python HTTP target and a TCP
banner server. Python 3 standard library only.

Owns every child process and temp directory it creates and removes them at the end of
each test (and at exit, even after a failure or a per-test timeout). Never sleeps where
a condition can be awaited: use wait_for(). Never talks to anything but 127.0.0.1.
"""
import atexit
import datetime
import http.client
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SRCDIR = os.environ.get("OPSHUB_TEST_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OPSHUB_BIN = os.environ.get("OPSHUB_BIN") or os.path.join(SRCDIR, "build", "opshub")
NGINX_BIN = "/usr/sbin/nginx"
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")

# ---------------------------------------------------------------------------------
# resources: everything started is registered here and torn down by cleanup_all()

_resources = []           # objects with a close() method, newest last
_resources_lock = threading.Lock()


def _register(obj):
    with _resources_lock:
        if obj not in _resources:
            _resources.append(obj)
    return obj


def _unregister(obj):
    with _resources_lock:
        if obj in _resources:
            _resources.remove(obj)


def cleanup_all():
    """Closes every live resource, newest first, and returns the list of what went
    wrong ("ClassName: error"): an opshub that exits non-zero, leaves a sanitizer report
    or logs a secret when it is closed is a failure, not a note. Never raises."""
    errors = []
    while True:
        with _resources_lock:
            if not _resources:
                return errors
            obj = _resources.pop()
        try:
            obj.close()
        except Exception as e:  # noqa: BLE001 - cleanup must go on, the error is counted
            traceback.print_exc(file=sys.stdout)
            errors.append(f"{type(obj).__name__}: {e}")


def _cleanup_at_exit():
    """Last resort (run() has normally emptied the list): an error here still fails."""
    errors = cleanup_all()
    if errors:
        print(f"FAIL cleanup at exit: {errors}", flush=True)
        os._exit(1)


atexit.register(_cleanup_at_exit)


class TempDir:
    """A temporary directory removed by close()."""

    def __init__(self, prefix="opshub-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        _register(self)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def close(self):
        _unregister(self)
        shutil.rmtree(self.path, ignore_errors=True)


def free_port():
    """A currently free TCP port on 127.0.0.1 (bind to port 0 and release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1: every socket is held until all are chosen (n calls
    of free_port() may return the same port twice, the kernel reusing a released one)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _ClosedPort:
    """A TCP socket bound to 127.0.0.1 that never listens: connections to its port are
    refused, and nobody else can bind the port while it is held (no SO_REUSEADDR)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        _register(self)

    def close(self):
        _unregister(self)
        self.sock.close()


def closed_port():
    """A port on 127.0.0.1 on which nothing listens (connections get refused) and on
    which nothing can start listening until the end of the test file: it is held by a
    bound socket without listen(), released by cleanup_all()."""
    return _ClosedPort().port


def port_open(port, host="127.0.0.1", timeout=0.2):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class WaitTimeout(AssertionError):
    pass


def wait_for(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns a truthy value, which is returned. Raises
    WaitTimeout naming `what` (and the last exception cond raised) after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
            last_exc = None
        except (OSError, http.client.HTTPException, ValueError, KeyError, AssertionError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)


def now_ms():
    return int(time.time() * 1000)


TEST_CLOCK_ENV = {"OPSHUB_TEST_CLOCK": "1"}


def advance_clock(o, seconds, checks=(), step=240):
    """Moves the clock of a daemon started with TEST_CLOCK_ENV forward by `seconds` (POST
    /api/v1/debug/clock), in steps shorter than the 5 min lookback of queries; after each step it
    waits until every check in `checks` has a sample taken at the moved time, so a rule over them
    never sees its series go stale in a jump. Returns the daemon's new time (unix ms)."""
    left = seconds
    now = None
    while left > 0:
        d = min(left, step)
        r = o.post("/api/v1/debug/clock", body={"advance": f"{d}s"})
        eq(r.status, 200, f"the test clock moved {d}s: {r.body[:200]!r}")
        now = int(datetime.datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00")).timestamp() * 1000)
        for c in checks:
            wait_for(lambda c=c: (o.get_json(f"/api/v1/checks/{c}").get("last_sample") or {}).get("ts_ms", 0) >= now,
                     10, f"a sample of {c} at the moved time")
        left -= d
    return now


# ---------------------------------------------------------------------------------
# assertions with useful messages

def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(got, expected, what):
    if got != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {got!r}")


def contains(haystack, needle, what, ci=False):
    h, n = (haystack.lower(), needle.lower()) if ci else (haystack, needle)
    if haystack is None or n not in h:
        raise AssertionError(f"{what}: expected {needle!r} in {haystack!r}")


ISO_MS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def is_iso_ms(s):
    return isinstance(s, str) and bool(ISO_MS_RE.match(s))


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ---------------------------------------------------------------------------------
# HTTP client

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # dict, lower-case names
        self.body = body                # bytes
        self._json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body)
            except ValueError as e:
                raise AssertionError(f"response is not JSON ({e}): {self.body[:300]!r}")
        return self._json

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def http_request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = {"Connection": "close"}
        if headers:
            hdrs.update(headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def http_request_from(port, source_ip, method, path, body=None, headers=None, timeout=10.0):
    """One request to 127.0.0.1:port from another loopback address (127.0.0.0/8 is all ours),
    so rate limits and lockouts see distinct clients. A header value may be a list: one line
    each, in order."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source_ip, 0))
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            for one in (v if isinstance(v, list) else [v]):
                c.putheader(k, one)
        if data is not None:
            c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


def http_raw(port, raw_head, body_len=0, chunk=65536, timeout=10.0):
    """Sends raw_head (bytes, a full request head) then body_len filler bytes, while a
    reader thread collects whatever the server answers (it may answer and close before
    the body is sent). Returns (status or None, headers dict, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    got = bytearray()
    done = threading.Event()

    def reader():
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got.extend(b)
        except OSError:
            pass
        finally:
            done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        s.sendall(raw_head)
        sent = 0
        filler = b"x" * chunk
        while sent < body_len and not done.is_set():
            n = min(chunk, body_len - sent)
            s.sendall(filler[:n])
            sent += n
    except OSError:
        pass
    done.wait(timeout)
    s.close()
    t.join(1)
    data = bytes(got)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
    status = int(m.group(1)) if m else None
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


# ---------------------------------------------------------------------------------
# Prometheus text parsing

_METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _unescape_label(v):
    return v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_labels(text):
    labels = {}
    pos = 0
    text = text or ""
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m:
            raise ValueError(f"bad label set {text!r} at {pos}")
        labels[m.group(1)] = _unescape_label(m.group(2))
        pos = m.end()
    return labels


def _parse_value(v):
    if v in ("+Inf", "Inf"):
        return float("inf")
    if v == "-Inf":
        return float("-inf")
    if v == "NaN":
        return float("nan")
    return float(v)


class Metrics:
    """Parsed Prometheus text: .samples {(name, frozenset(labels.items())): value},
    .types {name: type}, .help {name: text}."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        self.help = {}
        for ln in text.splitlines():
            if not ln.strip():
                continue
            if ln.startswith("#"):
                parts = ln.split(None, 3)
                if len(parts) >= 4 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3].strip()
                elif len(parts) >= 3 and parts[1] == "HELP":
                    self.help[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            m = _METRIC_RE.match(ln)
            if not m:
                raise ValueError(f"unparsable metrics line: {ln!r}")
            labels = parse_labels(m.group(3))
            key = (m.group(1), frozenset(labels.items()))
            if key in self.samples:
                raise ValueError(f"duplicate series in metrics: {ln!r}")
            self.samples[key] = _parse_value(m.group(4))

    def get(self, name, **labels):
        """Value of the one series with exactly these labels, or None."""
        return self.samples.get((name, frozenset(labels.items())))

    def find(self, name, **labels):
        """[(labels dict, value)] of every series of `name` whose labels include `labels`."""
        out = []
        want = set(labels.items())
        for (n, ls), v in self.samples.items():
            if n == name and want <= set(ls):
                out.append((dict(ls), v))
        return out

    def sum(self, name, **labels):
        return sum(v for _, v in self.find(name, **labels))

    def has(self, name):
        return any(n == name for (n, _) in self.samples) or name in self.types

    def names(self):
        return {n for (n, _) in self.samples}


# ---------------------------------------------------------------------------------
# YAML emission (block style)

_PLAIN_RE = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_./:@?=&%+~-]*$")
_YAML_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    plain = (_PLAIN_RE.match(s) and s.lower() not in _YAML_SPECIAL
             and not re.match(r"^[-+]?[0-9][0-9_]*(\.[0-9]*)?([eE][-+]?[0-9]+)?$", s)
             and ": " not in s and not s.endswith(":"))
    return s if plain else json.dumps(s)


def to_yaml(obj, indent=0):
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{_scalar(k)}:\n{to_yaml(v, indent + 1)}")
            elif isinstance(v, dict):
                out.append(f"{pad}{_scalar(k)}: {{}}\n")
            elif isinstance(v, list):
                out.append(f"{pad}{_scalar(k)}: []\n")
            else:
                out.append(f"{pad}{_scalar(k)}: {_scalar(v)}\n")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 1)
                # turn the first line's indentation into "- "
                first, _, rest = body.partition("\n")
                out.append(f"{pad}- {first.lstrip()}\n{rest}")
            elif isinstance(item, list) and item:
                out.append(f"{pad}-\n{to_yaml(item, indent + 1)}")
            else:
                out.append(f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else ('{}' if isinstance(item, dict) else '[]')}\n")
    else:
        out.append(pad + _scalar(obj) + "\n")
    return "".join(out)


def http_check(cid, url, interval="1s", timeout="500ms", **kw):
    c = {"id": cid, "type": "http", "url": url, "interval": interval, "timeout": timeout}
    c.update(kw)
    return c


def tcp_check(cid, address, interval="1s", timeout="500ms", **kw):
    c = {"id": cid, "type": "tcp", "address": address, "interval": interval, "timeout": timeout}
    c.update(kw)
    return c


# Tests call the API far more often than 120 times a minute from one address.
TEST_RATE_LIMITS = {"rate_limit": "100000/min", "global_rate_limit": "1000000/min",
                    "login_rate_limit": "100000/min"}


def make_config(checks, projects=None, storage_url=None, extra=None, rate_limits=True):
    cfg = {}
    if rate_limits:
        cfg["server"] = dict(TEST_RATE_LIMITS)
    if storage_url:
        cfg["storage"] = {"url": storage_url}
    if projects:
        cfg["projects"] = projects
    cfg["checks"] = checks
    if extra:
        extra = dict(extra)
        if "server" in extra and "server" in cfg:
            cfg["server"].update(extra.pop("server"))
        cfg.update(extra)
    return to_yaml(cfg)


# ---------------------------------------------------------------------------------
# opshub

def opshub_env(extra=None):
    env = dict(os.environ)
    for k in ("DATABASE_URL", "OPSHUB_LISTEN", "LOG_LEVEL"):
        env.pop(k, None)
    if extra:
        env.update(extra)
    return env


def run_cli(args, timeout=30, env=None, cwd=None, input=None):
    """Runs `opshub ARGS...`; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([OPSHUB_BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=opshub_env(env), cwd=cwd, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


def sanitized():
    """True when OPSHUB_BIN is the AddressSanitizer build (memory figures then include
    ASan's shadow, redzones and quarantine)."""
    try:
        with open(OPSHUB_BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def read_hwm_kb(pid):
    """VmHWM (peak resident set) of pid in kB, or 0."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def read_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise ValueError("no VmRSS")


# Every secret a test hands to opshub (tokens, passwords, keys). Each instance's log is
# searched for all of them when it stops: a secret in a log fails that test.
SECRETS = set()


_FILE_ERR_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def config_errors(stderr, path):
    """[(line, col, message)] of the FILE:LINE:COL errors about `path` in stderr, in order."""
    return [(int(m["line"]), int(m["col"]), m["msg"]) for m in map(_FILE_ERR_RE.match, stderr.splitlines())
            if m and m["file"] == path]


def secret(value):
    """Registers value as a secret that must never appear in opshub's logs; returns it."""
    if value and len(value) >= 8:
        SECRETS.add(value)
    return value


def assert_no_secret_in(text, where):
    for s in SECRETS:
        if s in text:
            raise AssertionError(f"a secret ({s[:6]}...) appears in {where}")


class Opshub:
    """One `opshub serve` process with its own config file, data dir and port.

    o = Opshub(config_text); o.start(); ...; o.stop()
    `with Opshub(cfg) as o:` closes (kills) it at the end of the block; start() is explicit.
    """

    def __init__(self, config_text=None, data_dir=None, port=None, env=None, tmp=None, auth=True):
        self.auth = auth          # send an admin API token on /api/ requests
        self.token = None
        self.tmp = tmp or TempDir("opshub-serve-")
        self.config_path = self.tmp.join("opshub.yaml")
        self.data_dir = data_dir or self.tmp.join("data")
        self.port = port
        self.env = env
        self.proc = None
        self.log_path = None
        self.stdout_path = self.tmp.join("stdout.log")
        self.starts = 0
        # True once the way the current run ended has been asserted (stop, wait_exit)
        # or made deliberate (kill); close() fails a run that ended unchecked.
        self.exit_checked = True
        self.nofile = None        # RLIMIT_NOFILE (soft and hard) to start it under, like `ulimit -n`
        if config_text is not None:
            self.write_config(config_text)

    # -- config --
    def write_config(self, text):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    @property
    def db_path(self):
        return os.path.join(self.data_dir, "opshub.db")

    # -- credentials --
    def cli(self, *args, **kw):
        """Runs an opshub CLI command against this instance's config and data."""
        return run_cli(list(args) + ["--config", self.config_path, "--data", self.data_dir],
                       env=self.env, **kw)

    def create_token(self, role="admin", name=None, expires=None):
        """`opshub token create`; returns the token text."""
        args = ["token", "create", "--role", role, "--name", name or f"harness-{role}", "--json"]
        if expires:
            args += ["--expires", expires]
        r = self.cli(*args)
        if r.returncode != 0:
            raise AssertionError(f"token create failed ({r.returncode}): {r.stderr[-1000:]}")
        return secret(json.loads(r.stdout)["token"])

    def wait_token(self, token, timeout=10):
        """Waits until a running daemon accepts token (it polls the store every second)."""
        def ok():
            r = self.request("GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            return r.status == 200
        wait_for(ok, timeout, "the daemon to accept a new token")

    def ensure_token(self):
        if self.token is None:
            self.token = self.create_token()
            if self.running():
                self.wait_token(self.token)
        return self.token

    # -- lifecycle --
    def start(self, wait=True, timeout=15):
        if self.proc is not None and self.proc.poll() is None:
            raise AssertionError("opshub already running")
        if not self.exit_checked:
            self.exit_checked = True
            raise AssertionError(f"the previous opshub run ended with {self.proc.returncode} and nobody "
                                 f"checked it (use stop(), wait_exit() or kill())\n{self.log_text()[-2000:]}")
        if self.auth and self.token is None and os.path.exists(self.config_path):
            try:
                self.token = self.create_token()
            except AssertionError:
                self.token = None  # database not reachable yet: made on first use
        attempts = 3 if self.port is None else 1
        for attempt in range(attempts):
            port = self.port or free_port()
            self.starts += 1
            self.log_path = self.tmp.join(f"opshub-{self.starts}.log")
            err = open(self.log_path, "wb")
            out = open(self.stdout_path, "ab")
            try:
                self.proc = subprocess.Popen(
                    [OPSHUB_BIN, "serve", "--config", self.config_path, "--data", self.data_dir,
                     "--listen", f"127.0.0.1:{port}"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=opshub_env(self.env),
                    cwd=self.tmp.path, start_new_session=True, preexec_fn=self._limits if self.nofile else None)
            finally:
                err.close()
                out.close()
            self.cur_port = port
            self.exit_checked = False
            _register(self)
            if not wait:
                return self
            try:
                self.wait_live(timeout)
                self.port_used = port
                if self.token is not None:
                    try:
                        self.wait_token(self.token, timeout=5)
                    except WaitTimeout:
                        pass  # the database may be down on purpose; requests will show it
                return self
            except AssertionError:
                log = self.log_text()
                if self.proc.poll() is not None and "listen" in log and attempt + 1 < attempts:
                    self.exit_checked = True
                    continue  # lost a race for the port: try another one
                self.kill()
                raise AssertionError(f"opshub did not become live: exit={self.proc.returncode}\n"
                                     f"--- log ---\n{log[-3000:]}")
        return self

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_live(self, timeout=15):
        def live():
            if self.proc.poll() is not None:
                raise WaitTimeout(f"opshub exited with {self.proc.returncode}")
            try:
                r = self.get("/health/live", timeout=1)
            except OSError:
                return False
            return r.status == 200
        try:
            wait_for(live, timeout, "opshub /health/live")
        except WaitTimeout as e:
            raise AssertionError(str(e))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, text=None):
        if text is not None:
            self.write_config(text)
        self.signal(signal.SIGHUP)

    def stop(self, timeout=20, expect_code=0):
        """SIGTERM, wait, assert the exit code (expect_code; None: any), that the log holds
        no sanitizer report and no registered secret. Returns the exit code."""
        if not self.running():
            code = self.proc.returncode if self.proc else None
            self.exit_checked = True
            _unregister(self)
            raise AssertionError(f"opshub was not running at stop (exit code {code})\n"
                                 f"{self.log_text()[-2000:]}")
        self.proc.send_signal(signal.SIGTERM)
        return self._wait_and_check(timeout, expect_code, "after SIGTERM")

    def wait_exit(self, timeout=15, expect_code=None):
        """Waits for a run that ends by itself (a refused configuration, say) and returns
        its exit code, after the same log checks as stop(); expect_code asserts it."""
        return self._wait_and_check(timeout, expect_code, "by itself")

    def _wait_and_check(self, timeout, expect_code, how):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"opshub did not exit {how} within {timeout}s")
        _unregister(self)
        self._check_exit(code, expect_code, how)
        return code

    def _check_exit(self, code, expect_code, how):
        self.exit_checked = True
        log = self.log_text()
        assert_no_secret_in(log, "opshub's log")
        assert_no_secret_in(self.stdout_text(), "opshub's stdout")
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in log:
                i = log.index(marker)
                raise AssertionError(f"sanitizer report in opshub's log:\n{log[max(0, i - 200):i + 3000]}")
        if expect_code is not None and code != expect_code:
            raise AssertionError(f"opshub exited with {code} {how}, expected {expect_code}\n{log[-2000:]}")

    def kill(self):
        """SIGKILL to the whole process group: a deliberate end, not checked."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.exit_checked = True
        _unregister(self)

    def close(self):
        """Ends the run like stop() when it is still going (so its exit code, sanitizer
        report and secrets are checked too), and fails when it ended by itself without
        anybody checking how. Raises AssertionError; the process is gone either way."""
        if self.proc is None or self.exit_checked:
            self.kill()
            return
        if self.running():
            try:
                self.stop()
            finally:
                self.kill()
            return
        code = self.proc.returncode
        _unregister(self)
        self._check_exit(code, None, "")
        raise AssertionError(f"opshub exited with {code} by itself and nobody checked it\n"
                             f"{self.log_text()[-2000:]}")

    def __enter__(self):
        """`with Opshub(cfg) as o: o.start() ...` - the block only guarantees the
        process is gone at its end; it does not start it."""
        return self

    def __exit__(self, *exc):
        self.close()

    # -- HTTP --
    def request(self, method, path, body=None, headers=None, timeout=10.0, auth=None):
        """auth: None = this instance's default (admin token on /api/ paths),
        False = no credentials, or a token string."""
        headers = dict(headers or {})
        if path.startswith(("/api/v1/", "/api/v2/")) and "Authorization" not in headers and auth is not False:
            if isinstance(auth, str):
                headers["Authorization"] = f"Bearer {auth}"
            elif self.auth and not path.startswith("/api/v1/auth/login") and path != "/api/v1/openapi.json":
                headers["Authorization"] = f"Bearer {self.ensure_token()}"
        return http_request(self.cur_port, method, path, body=body, headers=headers, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def get_json(self, path, expect_status=200, **kw):
        r = self.get(path, **kw)
        if expect_status is not None and r.status != expect_status:
            raise AssertionError(f"GET {path}: expected {expect_status}, got {r.status}: {r.body[:500]!r}")
        return r.json()

    def post_json(self, path, body=None, expect_status=200, **kw):
        r = self.post(path, body=body, **kw)
        if expect_status is not None and r.status != expect_status:
            raise AssertionError(f"POST {path}: expected {expect_status}, got {r.status}: {r.body[:500]!r}")
        return r.json()

    def metrics(self):
        r = self.get("/metrics")
        if r.status != 200:
            raise AssertionError(f"/metrics answered {r.status}")
        return Metrics(r.text)

    def check_json(self, cid):
        return self.get_json(f"/api/v1/checks/{cid}")

    def samples(self, cid, query="", expect_status=200):
        q = f"?{query}" if query else ""
        return self.get_json(f"/api/v1/checks/{cid}/samples{q}", expect_status=expect_status)

    def wait_samples(self, cid, n, timeout=15):
        """Waits until the store returns at least n samples for cid; returns them."""
        def enough():
            s = self.samples(cid, "limit=1000")["samples"]
            return s if len(s) >= n else None
        return wait_for(enough, timeout, f"{n} stored samples of {cid}")

    def wait_status(self, cid, status, timeout=15):
        def ok():
            c = self.check_json(cid)
            return c if c.get("status") == status else None
        return wait_for(ok, timeout, f"check {cid} status {status}")

    # -- logs --
    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        """Every log line of the current run parsed as JSON; non-JSON lines become
        {"_raw": line}."""
        out = []
        for ln in self.log_text().splitlines():
            if not ln.strip():
                continue
            try:
                obj = json.loads(ln)
                out.append(obj if isinstance(obj, dict) else {"_raw": ln})
            except ValueError:
                out.append({"_raw": ln})
        return out

    def log_lines(self, msg=None, **fields):
        res = []
        for obj in self.logs():
            if msg is not None and obj.get("msg") != msg:
                continue
            if all(obj.get(k) == v for k, v in fields.items()):
                res.append(obj)
        return res

    def wait_log(self, msg, timeout=10, count=1, **fields):
        return wait_for(lambda: (lambda l: l if len(l) >= count else None)(self.log_lines(msg, **fields)),
                        timeout, f"log line {msg!r} {fields or ''} x{count}")

    # -- sqlite --
    def sqlite(self, sql):
        return sqlite_query(self.db_path, sql)


def sqlite_query(db_path, sql, timeout=20):
    r = subprocess.run(["sqlite3", "-batch", "-cmd", ".timeout 5000", db_path, sql],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"sqlite3 {sql!r} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout.strip()


# ---------------------------------------------------------------------------------
# nginx

class Nginx:
    """nginx on 127.0.0.1:port: /health → 200 {"status":"ok"}, /down → 503; or the
    `locations` given (the text of the server block after its listen line). `extra_servers`
    is appended at the end of the http block as is (more server blocks, e.g. TLS ones)."""

    DEFAULT_LOCATIONS = """
        location /health { default_type application/json; return 200 '{"status":"ok"}'; }
        location /down { default_type application/json; return 503 '{"status":"down"}'; }
        location / { return 404; }
"""

    def __init__(self, locations=None, extra_servers=""):
        self.locations = locations or self.DEFAULT_LOCATIONS
        self.extra_servers = extra_servers
        self.tmp = TempDir("opshub-nginx-")
        self.port = None
        self.proc = None

    def start(self, timeout=10):
        for attempt in range(3):
            self.port = free_port()
            p = self.tmp.path
            conf = f"""daemon off;
master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{self.port} backlog=4096;
{self.locations}
    }}
{self.extra_servers}
}}
"""
            with open(self.tmp.join("nginx.conf"), "w") as f:
                f.write(conf)
            log = open(self.tmp.join("stderr.log"), "ab")
            self.proc = subprocess.Popen([NGINX_BIN, "-p", p, "-e", f"{p}/error.log", "-c", f"{p}/nginx.conf"],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
            log.close()
            _register(self)
            try:
                wait_for(lambda: self.proc.poll() is not None or port_open(self.port), timeout, "nginx to listen")
            except WaitTimeout:
                pass
            if self.proc.poll() is None and port_open(self.port):
                return self
            self.close()
        raise AssertionError(f"nginx did not start: {self.error_log()[-2000:]}")

    def url(self, path="/health"):
        return f"http://127.0.0.1:{self.port}{path}"

    def error_log(self):
        try:
            with open(self.tmp.join("error.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        _unregister(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------
# PostgreSQL: a throw-away cluster through scripts/pg-test.sh (the C tests use it too)

PG_TEST_SH = os.path.join(SRCDIR, "scripts", "pg-test.sh")


class Postgres:
    """A throw-away cluster made by scripts/pg-test.sh: superuser opshub (trust), postgres
    on 127.0.0.1:port only, database `opshub_test`. stop() then start() restarts it with
    its data on the same port; close() stops it at once and removes it."""

    def __init__(self):
        require(postgres_available(), f"PostgreSQL ({PGBIN}/postgres)")
        self.dir = tempfile.mkdtemp(prefix="opshub-pg-")
        os.chmod(self.dir, 0o755)
        self.port = None
        _register(self)

    def _script(self, *args, timeout=90):
        r = subprocess.run(["sh", PG_TEST_SH] + list(args), capture_output=True, text=True, timeout=timeout,
                           cwd="/", env=dict(os.environ, PGBIN=PGBIN))
        return r

    def start(self, port=None):
        """Starts the cluster (made on the first start) on `port`: by default a free port
        the first time (another one if that is taken meanwhile), the same one after that."""
        if port or self.port:
            ports = [port or self.port]
        else:
            ports = [free_port() for _ in range(3)]
        for i, p in enumerate(ports):
            r = self._script("start", self.dir, str(p))
            if r.returncode == 0:
                self.port = p
                return self
            if i + 1 == len(ports) or "could not bind" not in (r.stderr + self.server_log()):
                raise AssertionError(f"pg-test.sh start failed ({r.returncode}): {r.stdout}{r.stderr}"
                                     f"\n{self.server_log()[-2000:]}")
        return self

    def stop(self, mode="fast"):
        r = self._script("stop", self.dir, mode)
        if r.returncode != 0:
            raise AssertionError(f"pg-test.sh stop failed ({r.returncode}): {r.stderr}")

    def running(self):
        return os.path.exists(os.path.join(self.dir, "data", "postmaster.pid"))

    def psql(self, sql, db="opshub_test"):
        r = subprocess.run([f"{PGBIN}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", "opshub", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"psql {sql!r} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def url(self, password=None):
        auth = f"opshub:{password}" if password else "opshub"
        return f"postgres://{auth}@127.0.0.1:{self.port}/opshub_test"

    def server_log(self):
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        _unregister(self)
        try:
            r = self._script("stop", self.dir, "immediate")
            if r.returncode != 0:
                raise AssertionError(f"pg-test.sh stop immediate failed ({r.returncode}): {r.stderr}")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def postgres_available():
    return os.path.exists(f"{PGBIN}/postgres")


def require(present, what):
    """A missing dependency fails the test that needs it, never skips it: scripts/setup.sh
    installs every one, so an absent one is a broken machine, not a reason to pass."""
    if not present:
        raise AssertionError(f"missing dependency: {what}; run scripts/setup.sh")


# ---------------------------------------------------------------------------------
# Redis: a throw-away redis-server

REDIS_BIN = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


class Redis:
    """redis-server on 127.0.0.1:port, its data and log in a temp dir, never saving unless
    `save` says so (`--save ''`); optional requirepass, maxmemory (+ policy) and TLS on a
    second port (tls = {"cert":, "key":, "ca":}; clients need no certificate). stop() then
    start() restarts it on the same ports; close() kills it and removes the directory.
    cli() runs redis-cli for setup (the password through REDISCLI_AUTH, never argv);
    pipeline() sends many commands on one connection and returns their replies."""

    def __init__(self, password=None, maxmemory=None, policy=None, save="", tls=None, extra=()):
        require(os.path.exists(REDIS_BIN) and os.path.exists(REDIS_CLI), f"redis ({REDIS_BIN}, {REDIS_CLI})")
        self.tmp = TempDir("opshub-redis-")
        self.password = password
        self.maxmemory = maxmemory
        self.policy = policy
        self.save = save
        self.tls = tls
        self.extra = list(extra)
        self.port = None
        self.tls_port = None
        self.proc = None
        _register(self)

    def _args(self):
        a = [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.tmp.path,
             "--logfile", self.tmp.join("redis.log"), "--save", self.save, "--appendonly", "no",
             "--daemonize", "no"]
        if self.password:
            a += ["--requirepass", self.password]
        if self.maxmemory:
            a += ["--maxmemory", str(self.maxmemory)]
        if self.policy:
            a += ["--maxmemory-policy", self.policy]
        if self.tls:
            a += ["--tls-port", str(self.tls_port), "--tls-cert-file", self.tls["cert"], "--tls-key-file",
                  self.tls["key"], "--tls-ca-cert-file", self.tls["ca"], "--tls-auth-clients", "no"]
        return a + self.extra

    def start(self, timeout=10):
        """Starts the server: on free ports the first time (others if those are taken
        meanwhile), on the same ports after a stop()."""
        fixed = self.port is not None
        for attempt in range(1 if fixed else 3):
            if not fixed:
                self.port = free_port()
                self.tls_port = free_port() if self.tls else None
            self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
            ports = [self.port] + ([self.tls_port] if self.tls else [])
            try:
                wait_for(lambda: self.proc.poll() is not None or all(port_open(p) for p in ports), timeout,
                         "redis-server to listen")
            except WaitTimeout:
                pass
            if self.proc.poll() is None and all(port_open(p) for p in ports):
                return self
            self.stop()
        raise AssertionError(f"redis-server did not start: {self.log()[-2000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def url(self, password=None, db=None, tls=False):
        auth = f":{password}@" if password else ""
        path = f"/{db}" if db is not None else ""
        return f"{'rediss' if tls else 'redis'}://{auth}127.0.0.1:{self.tls_port if tls else self.port}{path}"

    def cli(self, *args):
        env = dict(os.environ)
        env.pop("REDISCLI_AUTH", None)
        if self.password:
            env["REDISCLI_AUTH"] = self.password
        r = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port)] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
        if r.returncode != 0 or r.stdout.startswith("(error)") or r.stdout.startswith("ERR"):
            raise AssertionError(f"redis-cli {args[0]} failed: {r.stdout}{r.stderr}")
        return r.stdout

    def info(self, section=None):
        """INFO as a dict of its key:value lines."""
        out = {}
        for ln in self.cli(*(["INFO", section] if section else ["INFO"])).splitlines():
            if ":" in ln and not ln.startswith("#"):
                k, v = ln.split(":", 1)
                out[k] = v.strip()
        return out

    def pipeline(self, commands, timeout=30):
        """Sends every command (a list of arguments) on one connection (after AUTH when
        there is a password) and returns their replies: str for +status and bulk strings,
        int, None for nil, or ("error", text)."""
        def encode(args):
            parts = [f"*{len(args)}\r\n".encode()]
            for a in args:
                b = a if isinstance(a, bytes) else str(a).encode()
                parts.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
            return b"".join(parts)
        cmds = ([["AUTH", self.password]] if self.password else []) + list(commands)
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(b"".join(encode(c) for c in cmds))
            f = s.makefile("rb")
            replies = []
            for _ in cmds:
                line = f.readline().rstrip(b"\r\n")
                kind, rest = line[:1], line[1:].decode(errors="replace")
                if kind == b"+":
                    replies.append(rest)
                elif kind == b"-":
                    replies.append(("error", rest))
                elif kind == b":":
                    replies.append(int(rest))
                elif kind == b"$":
                    n = int(rest)
                    replies.append(None if n < 0 else f.read(n + 2)[:-2].decode(errors="replace"))
                else:
                    raise AssertionError(f"unexpected reply {line[:80]!r}")
        return replies[1:] if self.password else replies

    def log(self):
        try:
            with open(self.tmp.join("redis.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self):
        _unregister(self)
        try:
            self.stop()
        finally:
            self.tmp.close()


# ---------------------------------------------------------------------------------
# Target: a controllable HTTP server

HUGE_SIZE = 50 * 1024 * 1024
HUGE_HEAD = b"HUGE-START "
HUGE_TAIL = b" HUGE-END"


class _TargetHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "opshub-test-target"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _wait(self, seconds):
        """Waits `seconds`, returning early (False) when the client hangs up or the
        target stops."""
        end = time.monotonic() + seconds
        stop = self.server.target.stopping
        while time.monotonic() < end:
            if stop.wait(min(0.05, max(0.0, end - time.monotonic()))):
                return False
            if self._client_gone():
                return False
        return True

    def _send(self, code, body=b"", ctype="application/json", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def do_GET(self):  # noqa: N802
        t = self.server.target
        u = urlsplit(self.path)
        path = u.path
        q = parse_qs(u.query)
        t._record(path)
        stop = t.stopping
        try:
            if path in ("/ok", "/redirected"):
                self._send(200, '{"status":"ok"}')
            elif path.startswith("/status/"):
                code = int(path.split("/")[2])
                self._send(code, json.dumps({"status": code}))
            elif path == "/slow":
                ms = int(q.get("ms", ["1000"])[0])
                if self._wait(ms / 1000.0):
                    self._send(200, '{"status":"ok"}')
                else:
                    self.close_connection = True
            elif path == "/json/degraded":
                self._send(200, '{"status":"degraded"}')
            elif path == "/invalid-json":
                self._send(200, '{"status": ok, this is not json')
            elif path == "/close":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(HUGE_SIZE))
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                chunk = b"x" * 65536
                left = HUGE_SIZE - len(HUGE_HEAD) - len(HUGE_TAIL)
                self.wfile.write(HUGE_HEAD)
                while left > 0 and not stop.is_set():
                    n = min(len(chunk), left)
                    self.wfile.write(chunk[:n])
                    left -= n
                self.wfile.write(HUGE_TAIL)
            elif path == "/hang":
                self._wait(120)
                self.close_connection = True
            elif path == "/flip":
                code = t.flip_status
                self._send(code, json.dumps({"status": "ok" if code < 400 else "failing"}))
            elif path == "/redirect":
                self._send(302, "", extra={"Location": "/redirected"})
            else:
                self._send(404, '{"error":"no such path"}')
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.server.target._record(urlsplit(self.path).path, body)
        self._send(200, json.dumps({"status": "ok", "received": len(body)}))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):  # quiet on client aborts
        pass


class Target:
    """HTTP server in a thread on 127.0.0.1:port. Paths: /ok, /status/NNN, /slow?ms=N,
    /json/degraded, /invalid-json, /close, /huge (50 MB), /hang, /flip (flip_status),
    /redirect -> /redirected (200 like /ok, requested by nothing else). Records (monotonic time, path) of every request in .requests."""

    def __init__(self):
        self.flip_status = 200
        self.stopping = threading.Event()
        self.requests = []
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _TargetHandler)
        self.server.target = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        _register(self)

    def _record(self, path, body=None):
        with self._lock:
            self.requests.append((time.monotonic(), path, body))

    def count(self, path):
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p == path)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        _unregister(self)
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _RecorderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "opshub-test-recorder"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        rec = self.server.owner
        code, answer = rec._answer(self.path, body)
        rec._record(self.command, self.path, dict((k.lower(), v) for k, v in self.headers.items()), body, code)
        data = answer.encode() if isinstance(answer, str) else answer
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Recorder:
    """A stand-in for a SaaS API or a webhook receiver: answers every POST with .code (or the
    answer set for a path prefix) and records each request as a dict (method, path, headers with
    lower-case names, body bytes, json or None, code, t = monotonic time). stop() closes the port
    (connections refused) and start() opens the same port again."""

    def __init__(self, code=200, answer='{"ok": true}'):
        self.code = code
        self.answer = answer
        self.answers = {}
        self.requests = []
        self._lock = threading.Lock()
        self.port = None
        self.server = None
        self.start()
        _register(self)

    def start(self):
        self.server = _Server(("127.0.0.1", self.port or 0), _RecorderHandler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def set_answer(self, prefix, code, answer='{"ok": true}', body_contains=None):
        """Answers POSTs to paths under prefix (and, with body_contains, only those whose body
        holds that text) with code and answer."""
        with self._lock:
            self.answers[(prefix, body_contains)] = (code, answer)

    def _answer(self, path, body=b""):
        with self._lock:
            for (prefix, needle), a in self.answers.items():
                if path.startswith(prefix) and (needle is None or needle.encode() in body):
                    return a
            return self.code, self.answer

    def _record(self, method, path, headers, body, code):
        try:
            j = json.loads(body) if body else None
        except ValueError:
            j = None
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body, "json": j,
                                  "code": code, "t": time.monotonic()})

    def received(self, path=None):
        with self._lock:
            return [r for r in self.requests if path is None or r["path"].startswith(path)]

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def log_text(self):
        return f"recorder {self.port}: {len(self.requests)} requests"

    def close(self):
        _unregister(self)
        self.stop()


EXIM_BIN = "/usr/sbin/exim4"
EXIM_CONF = """
primary_hostname = mx.example.test
domainlist local_domains = example.test
spool_directory = @DIR@/spool
log_file_path = @DIR@/log/%slog
daemon_smtp_ports = @PORT@
local_interfaces = 127.0.0.1
tls_advertise_hosts = *
tls_certificate = @DIR@/tls/cert.pem
tls_privatekey = @DIR@/tls/key.pem
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_rcpt
message_size_limit = 10M
host_lookup =
rfc1413_hosts =
begin acl
acl_rcpt:
  deny    message = authentication required
          !authenticated = *
  accept  domains = +local_domains
  deny    message = relay not permitted
begin routers
local:
  driver = accept
  domains = +local_domains
  transport = maildir
begin transports
maildir:
  driver = appendfile
  directory = @DIR@/Maildir
  maildir_format
  create_directory
  user = Debian-exim
  delivery_date_add
  envelope_to_add
  return_path_add
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{@USER@}}{eq{$auth3}{@PASSWORD@}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and {{eq{$auth1}{@USER@}}{eq{$auth2}{@PASSWORD@}}}}
  server_set_id = $auth1
"""




class Exim:
    """A real MTA (Debian's Exim) on 127.0.0.1:port, for the email channel: STARTTLS with the
    given certificate, AUTH PLAIN/LOGIN (only after STARTTLS) with one user, and every message
    for @example.test delivered to a Maildir. messages() returns the delivered messages
    (email.message.Message, oldest first)."""

    def __init__(self, cert, key, user="opshub", password="smtp-secret-pw"):
        require(os.path.exists(EXIM_BIN), f"exim ({EXIM_BIN}, package exim4-daemon-light)")
        import pwd
        self.tmp = TempDir("exim-")
        self.user, self.password = user, password
        uid = pwd.getpwnam("Debian-exim").pw_uid
        gid = pwd.getpwnam("Debian-exim").pw_gid
        for d in ("spool", "log", "Maildir", "tls"):
            os.makedirs(self.tmp.join(d), exist_ok=True)
            os.chown(self.tmp.join(d), uid, gid)
        os.chmod(self.tmp.path, 0o755)
        # the daemon reads the key as Debian-exim: copies it can read
        for src, name in ((cert, "cert.pem"), (key, "key.pem")):
            shutil.copy(src, self.tmp.join("tls", name))
            os.chown(self.tmp.join("tls", name), uid, gid)
            os.chmod(self.tmp.join("tls", name), 0o600)
        self.port = free_port()
        self.conf = self.tmp.join("exim.conf")
        with open(self.conf, "w") as f:
            f.write(EXIM_CONF.replace("@DIR@", self.tmp.path).replace("@PORT@", str(self.port))
                    .replace("@USER@", user).replace("@PASSWORD@", password))
        self.proc = None
        _register(self)

    def start(self, timeout=15):
        self.proc = subprocess.Popen([EXIM_BIN, "-C", self.conf, "-bdf", "-q5s", "-oX", str(self.port)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.tmp.join("stderr.log"), "ab"), start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or port_open(self.port), timeout, "exim to listen")
        if self.proc.poll() is not None:
            raise AssertionError(f"exim did not start: {self.log_text()[-2000:]}")
        return self

    def log_text(self):
        out = []
        for name in ("stderr.log", "log/mainlog", "log/rejectlog", "log/paniclog"):
            try:
                with open(self.tmp.join(name), errors="replace") as f:
                    out.append(f"--- {name}\n" + f.read())
            except OSError:
                pass
        return "\n".join(out)

    def messages(self):
        import email
        import email.policy
        new = self.tmp.join("Maildir", "new")
        if not os.path.isdir(new):
            return []
        files = sorted(os.listdir(new), key=lambda n: os.stat(os.path.join(new, n)).st_mtime_ns)
        out = []
        for n in files:
            with open(os.path.join(new, n), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def close(self):
        _unregister(self)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.tmp.close()


class _BannerHandler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server.owner
        srv.connections += 1
        try:
            self.request.sendall(srv.banner)
            self.request.settimeout(2)
            while not srv.stopping.is_set():
                b = self.request.recv(4096)
                if not b:
                    break
                srv.received.append(b)
        except OSError:
            pass


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


class BannerServer:
    """TCP server that sends `banner` on connect and records what it receives."""

    def __init__(self, banner=b"SSH-2.0-OpenSSH_9.2 opshub-test\r\n"):
        self.banner = banner
        self.connections = 0
        self.received = []
        self.stopping = threading.Event()
        self.server = _TCPServer(("127.0.0.1", 0), _BannerHandler)
        self.server.owner = self
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        _register(self)

    def close(self):
        _unregister(self)
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# ---------------------------------------------------------------------------------
# the test runner

class _TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TestTimeout("test exceeded its time limit")


_live_opshubs_for_report = []


def track(o):
    """Remember an Opshub so that its log tail is printed when a test fails."""
    _live_opshubs_for_report.append(o)
    return o


def _report_failure(what, t0, e):
    print(f"FAIL {what} ({time.monotonic() - t0:.1f}s): {e}", flush=True)
    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stdout)
    for o in _live_opshubs_for_report:
        tail = o.log_text().splitlines()[-25:]
        if tail:
            print(f"--- last log lines of opshub (port {getattr(o, 'cur_port', '?')}) ---")
            print("\n".join(tail))
    sys.stdout.flush()


def _call(fn, timeout):
    """Runs fn under the per-test alarm; returns the exception it raised, or None."""
    try:
        signal.alarm(timeout)
        fn()
        return None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - every failure is counted by the caller
        return e
    finally:
        signal.alarm(0)


def run(tests, setup=None, teardown=None, test_timeout=120):
    """Runs [(name, fn)] in order. setup() runs first (its failure fails every test);
    teardown() and cleanup_all() always run, and each failure of theirs (an opshub that
    exits non-zero, a sanitizer report, a secret in a log) counts as one more failed
    test. Prints `N passed, M failed` last and exits non-zero when anything failed."""
    signal.signal(signal.SIGALRM, _on_alarm)
    passed = failed = 0
    t_all = time.monotonic()
    if not os.path.exists(OPSHUB_BIN):
        print(f"FAIL opshub binary not found: {OPSHUB_BIN} (set OPSHUB_BIN)", flush=True)
        failed += 1
    setup_error = _call(setup, test_timeout) if setup else None
    if setup_error is not None:
        _report_failure("setup", t_all, setup_error)
    for name, fn in tests:
        t0 = time.monotonic()
        if setup_error is not None:
            failed += 1
            print(f"FAIL {name}: setup failed: {setup_error!r}", flush=True)
            continue
        e = _call(fn, test_timeout)
        if e is None:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        else:
            failed += 1
            _report_failure(name, t0, e)
    if teardown:
        t0 = time.monotonic()
        e = _call(teardown, test_timeout)
        if e is not None:
            failed += 1
            _report_failure("teardown", t0, e)
    for err in cleanup_all():
        failed += 1
        print(f"FAIL cleanup: {err}", flush=True)
    print(f"# total time {time.monotonic() - t_all:.1f}s", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)


def collect(namespace):
    """[(name, fn)] of the functions named test_* in `namespace`, in definition order; with
    IT_ONLY=a,b in the environment only those whose names contain a or b (while developing)."""
    only = [w for w in os.environ.get("IT_ONLY", "").split(",") if w]
    return [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)
            and (not only or any(w in n for w in only))]


# ---------------------------------------------------------------------------------
# Dnsmasq: a throw-away resolver with its records on its command line

DNSMASQ_BIN = "/usr/sbin/dnsmasq"


class Dnsmasq:
    """dnsmasq on 127.0.0.1:port (UDP and TCP), authoritative for names under `.test`
    (--local=/test/: a name it does not know there is NXDOMAIN, a name without the type
    asked for is NOERROR with no data; a name elsewhere is REFUSED: no upstream). records:
    host_records [("a.test", "192.0.2.1", "::1")], cnames [("c.test", "a.test")], mx
    [("m.test", "mail.test", 10)], txt [("t.test", "text")], ns [("n.test", "ns1.test")]
    (as --dns-rr with the name in wire form). Runs as root without dropping privileges;
    reads no config file, /etc/hosts or resolv.conf. close() kills it."""

    def __init__(self, host_records=(), cnames=(), mx=(), txt=(), ns=()):
        require(os.path.exists(DNSMASQ_BIN), f"dnsmasq ({DNSMASQ_BIN}, package dnsmasq-base)")
        self.records = []
        for r in host_records:
            self.records.append("--host-record=" + ",".join(r))
        for name, target in cnames:
            self.records.append(f"--cname={name},{target}")
        for name, host, pref in mx:
            self.records.append(f"--mx-host={name},{host},{pref}")
        for name, text in txt:
            self.records.append(f"--txt-record={name},{text}")
        for name, target in ns:
            wire = b"".join(bytes([len(p)]) + p.encode() for p in target.rstrip(".").split(".")) + b"\0"
            self.records.append(f"--dns-rr={name},2,{wire.hex()}")
        self.port = None
        self.proc = None
        _register(self)

    def start(self, timeout=10):
        for attempt in range(3):
            self.port = free_port()
            args = [DNSMASQ_BIN, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    "--no-poll", f"--port={self.port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                    "--user=root", "--group=root", "--pid-file=", "--local=/test/"]
            self.proc = subprocess.Popen(args + self.records, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            try:
                wait_for(lambda: self.proc.poll() is not None or port_open(self.port), timeout,
                         "dnsmasq to listen")
            except WaitTimeout:
                pass
            if self.proc.poll() is None and port_open(self.port):
                return self
            self._kill()
        raise AssertionError("dnsmasq did not start")

    def server(self):
        return f"127.0.0.1:{self.port}"

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self):
        """SIGKILL; its data stays for start(port=...)."""
        self._kill()

    def close(self):
        self._kill()
        _unregister(self)


PROMETHEUS_BIN = "/usr/bin/prometheus"


class Prometheus:
    """A real Prometheus (Debian's) on 127.0.0.1:port with the given config text (YAML) and
    its TSDB in a temporary directory; extra: more flags (--web.enable-remote-write-receiver,
    ...). query()/query_range() return the parsed JSON of its HTTP API. close() kills it and
    removes the directory."""

    def __init__(self, config_text, extra=()):
        require(os.path.exists(PROMETHEUS_BIN), f"prometheus ({PROMETHEUS_BIN}, package prometheus)")
        self.tmp = TempDir("prometheus-")
        self.config_path = self.tmp.join("prometheus.yml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.extra = list(extra)
        self.port = None
        self.proc = None
        self.log_path = self.tmp.join("prometheus.log")
        _register(self)

    def start(self, timeout=30, port=None):
        """port: the same one again (a restart after kill()); by default a free one."""
        for attempt in range(1 if port else 3):
            self.port = port or free_port()
            args = [PROMETHEUS_BIN, f"--config.file={self.config_path}",
                    f"--storage.tsdb.path={self.tmp.join('data')}",
                    f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"] + self.extra
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True)

            def ready():
                if self.proc.poll() is not None:
                    return True
                try:
                    return http_request(self.port, "GET", "/-/ready", timeout=1).status == 200
                except OSError:
                    return False
            try:
                wait_for(ready, timeout, "prometheus to be ready")
            except WaitTimeout:
                pass
            if self.proc.poll() is None:
                return self
            self._kill()
        raise AssertionError(f"prometheus did not start:\n{self.log_text()[-2000:]}")

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def get_json(self, path):
        r = http_request(self.port, "GET", path, timeout=30)
        return r.status, r.json()

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def kill(self):
        """SIGKILL; its data stays for start(port=...)."""
        self._kill()

    def close(self):
        self._kill()
        self.tmp.close()
        _unregister(self)
