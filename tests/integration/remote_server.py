"""Servers for the remote cache tests: a real nginx serving a WebDAV store the way a shared
cache is deployed (`dav_server`, `dav_server_factory`), a server that accepts connections and
never answers (`slow_server`), and a URL whose port refuses connections (`closed_port_url`).

nginx runs as the current user in the foreground, one process, everything it writes (pid,
logs, request body buffers) under the test's tmp_path. Its store is laid out as the cache's
URL paths: with `url` = http://127.0.0.1:PORT/cache, results land in
`root/cache/<scope>/ac/<64 hex>` and blobs in `root/cache/cas/<64 hex>`.

Test modules import the fixtures they use by name (they are not in conftest.py, so that only
the tests that need a server pay for it)."""

import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

NGINX = Path(os.environ.get("ASH_TEST_NGINX") or "/usr/sbin/nginx")
PREFIX = "/cache"

# What the access log holds per request: method, raw request URI, status, the basic-auth user.
LOG_FORMAT = '$request_method $request_uri $status "$remote_user"'
LOG_LINE = re.compile(r'^(\S+) (\S+) (\d{3}) "(.*)"$')

# Variables that change where or how aftershock talks to a remote cache; every test run
# starts without them (None removes a variable in the `run` fixture), and without a proxy
# between the client and 127.0.0.1.
REMOTE_VARS = (
    "AFTERSHOCK_REMOTE", "AFTERSHOCK_REMOTE_TIMEOUT", "AFTERSHOCK_REMOTE_TOKEN",
    "AFTERSHOCK_REMOTE_USER", "AFTERSHOCK_REMOTE_PASSWORD", "AFTERSHOCK_SCOPE",
    "AFTERSHOCK_READ_SCOPES",
)
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
              "ALL_PROXY")


def remote_env(url=None, **extra):
    """Environment entries for the `ash`/`run` fixtures: the remote cache variables cleared,
    AFTERSHOCK_REMOTE set to `url` unless None, then `extra` (None removes a variable)."""
    env = {name: None for name in REMOTE_VARS + PROXY_VARS}
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    if url is not None:
        env["AFTERSHOCK_REMOTE"] = url
    env.update(extra)
    return env


@dataclass(frozen=True)
class Request:
    """One line of the access log."""

    method: str
    path: str  # the request URI as sent, e.g. /cache/default/ac/<64 hex>
    status: int
    user: str  # the basic-auth user name, "-" when none


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx_usable():
    """None if nginx can serve WebDAV here, else why not."""
    if not os.access(NGINX, os.X_OK):
        return f"{NGINX}: nginx is not installed (Debian: nginx-light)"
    proc = subprocess.run([str(NGINX), "-V"], capture_output=True, text=True)
    if "--with-http_dav_module" not in proc.stderr + proc.stdout:
        return f"{NGINX} was built without the WebDAV module"
    return None


_USABLE = []


def _skip_without_nginx():
    if not _USABLE:
        _USABLE.append(_nginx_usable())
    if _USABLE[0] is not None:
        pytest.skip(_USABLE[0])


class DavServer:
    """A running nginx with a WebDAV store. `url` is the cache's base URL, `root` the store
    directory (the URL path /cache is root/cache), `pid` the nginx process."""

    def __init__(self, base: Path, auth=None):
        self.base = base
        self.root = base / "store"
        self.auth = auth
        self.log_path = base / "access.log"
        self.error_log_path = base / "error.log"
        self.pid_file = base / "nginx.pid"
        self.proc = None
        self.port = None
        self.url = None
        for _ in range(5):  # another process may take the port between probe and bind
            if self._start(_free_port()):
                return
        raise RuntimeError(f"nginx did not start:\n{self._error_log()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _config(self, port: int) -> str:
        b = self.base
        auth_lines = ""
        if self.auth is not None and self.auth[0] == "basic":
            _, user, password = self.auth
            (b / "htpasswd").write_text(f"{user}:{{PLAIN}}{password}\n")
            auth_lines = f'auth_basic "aftershock cache";\n auth_basic_user_file {b}/htpasswd;'
        elif self.auth is not None and self.auth[0] == "bearer":
            token = self.auth[1]
            assert '"' not in token and "\\" not in token
            auth_lines = f'if ($http_authorization != "Bearer {token}") {{ return 401; }}'
        elif self.auth is not None:
            raise ValueError(f"unknown auth mode {self.auth!r}")
        user = ""
        if os.geteuid() == 0:
            # one process, never switching users; naming root keeps nginx from looking up
            # "nobody", which a minimal container may not have
            user = "user root root;"
        return f"""
{user}
daemon off;
master_process off;
worker_processes 1;
pid {b}/nginx.pid;
lock_file {b}/nginx.lock;
error_log {self.error_log_path} info;
events {{ worker_connections 256; }}
http {{
    log_format ash '{LOG_FORMAT}';
    access_log {self.log_path} ash;
    client_body_temp_path {b}/tmp/body;
    proxy_temp_path {b}/tmp/proxy;
    fastcgi_temp_path {b}/tmp/fastcgi;
    uwsgi_temp_path {b}/tmp/uwsgi;
    scgi_temp_path {b}/tmp/scgi;
    default_type application/octet-stream;
    keepalive_timeout 30s;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        location / {{
            {auth_lines}
            root {self.root};
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw;
            client_max_body_size 300m;
        }}
    }}
}}
"""

    def _start(self, port: int) -> bool:
        (self.base / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / PREFIX.strip("/")).mkdir(parents=True, exist_ok=True)
        conf = self.base / "nginx.conf"
        conf.write_text(self._config(port))
        self.error_log_path.write_text("")
        self.proc = subprocess.Popen(
            [str(NGINX), "-p", str(self.base), "-c", str(conf), "-e", str(self.error_log_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                time.sleep(0.002)
                continue
            self.port = port
            self.url = f"http://127.0.0.1:{port}{PREFIX}"
            return True
        self.stop()
        raise RuntimeError(f"nginx did not listen on port {port}:\n{self._error_log()}")

    def _error_log(self) -> str:
        try:
            return self.error_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """Stop nginx (again: nothing); a connection to the port is refused afterwards."""
        if self.proc is None or self.proc.returncode is not None:
            if self.proc is not None:
                self.proc.wait()
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def access_log(self) -> list[str]:
        """The access log's lines so far (nginx writes each request's line as it ends)."""
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def requests(self) -> list[Request]:
        out = []
        for line in self.access_log():
            m = LOG_LINE.match(line)
            assert m, f"unexpected access log line: {line!r}"
            out.append(Request(m.group(1), m.group(2), int(m.group(3)), m.group(4)))
        return out

    def count(self, method=None, status=None, under=None, since=0) -> int:
        """How many requests (from the `since`-th on) had this method, this status and a path
        under `under` (relative to the cache URL, e.g. "main/ac" or "cas")."""
        prefix = None if under is None else f"{PREFIX}/{under.strip('/')}/"
        return sum(
            1 for r in self.requests()[since:]
            if (method is None or r.method == method)
            and (status is None or r.status == status)
            and (prefix is None or r.path.startswith(prefix))
        )

    def files(self, under: str) -> list[Path]:
        """The files stored under the cache path `under` (e.g. "default/ac", "cas"), sorted."""
        top = self.root / PREFIX.strip("/") / under
        return sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else []

    def ac(self, scope: str) -> list[Path]:
        """The result entries stored under `scope`."""
        return self.files(f"{scope}/ac")

    def cas(self) -> list[Path]:
        """The blobs."""
        return self.files("cas")


@pytest.fixture
def dav_server_factory(tmp_path):
    """dav_server_factory(auth=None): start another nginx WebDAV store; `auth` is None,
    ("basic", user, password) or ("bearer", token). Each is stopped at teardown. Skips the
    test if nginx (with its WebDAV module) is not installed."""
    _skip_without_nginx()
    servers = []

    def _start(auth=None) -> DavServer:
        server = DavServer(tmp_path / f"dav{len(servers)}", auth=auth)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture
def dav_server(dav_server_factory) -> DavServer:
    """An nginx WebDAV store without authentication (see DavServer)."""
    return dav_server_factory()


class SlowServer:
    """Accepts connections on 127.0.0.1 and never answers; `accepted` counts them."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}"
        self.accepted = 0
        self._held = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            self._held.append(conn)
            self.accepted += 1

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def slow_server():
    """A server that accepts every connection and never sends a byte (see SlowServer)."""
    server = SlowServer()
    yield server
    server.stop()


@pytest.fixture
def closed_port_url():
    """A cache URL on 127.0.0.1 whose port refuses connections. The port stays bound (not
    listening) for the test, so no other process can start listening on it meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}{PREFIX}"
