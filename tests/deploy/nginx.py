"""deploy/nginx.conf under a real nginx on 127.0.0.1 (test and bench helper).

``local_variant`` is the production file with only what cannot work outside compose swapped: the
listen address, the upstream addresses (compose service names), the log paths, and a pid file and
temp directories in a scratch directory, so nginx runs as any user. Each swap must match the
production file exactly as often as expected, so the file cannot drift away from what is tested.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path

from ..conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "nginx.conf"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def _swap(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    assert found == count, f"deploy/nginx.conf: expected {count} x {old!r}, found {found}"
    return text.replace(old, new)


def local_variant(scratch: Path, port: int, upstream_port: int) -> str:
    """deploy/nginx.conf listening on 127.0.0.1:port, proxying to 127.0.0.1:upstream_port."""
    text = CONFIG.read_text()
    text = _swap(text, "listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;", 1)
    text = _swap(text, "server app1:8080 ", f"server 127.0.0.1:{upstream_port} ", 1)
    text = _swap(text, "server app2:8080 ", f"server 127.0.0.1:{upstream_port} ", 1)
    text = _swap(text, "error_log /dev/stderr crit;", f"error_log {scratch}/error.log crit;", 1)
    text = _swap(text, "access_log /dev/stdout infobutton;", f"access_log {scratch}/access.log infobutton;", 1)
    temp_paths = "".join(f"    {name}_temp_path {scratch}/{name};\n" for name in TEMP_DIRS)
    text = _swap(text, "\nhttp {\n", f"\nhttp {{\n{temp_paths}", 1)
    return f"pid {scratch}/nginx.pid;\n" + text


def write_variant(scratch: Path, port: int, upstream_port: int) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    # nginx's workers run as an unprivileged user when it is started as root: let them in.
    scratch.chmod(0o755)
    path = scratch / "nginx.conf"
    path.write_text(local_variant(scratch, port, upstream_port))
    return path


def check(binary: str, config: Path) -> subprocess.CompletedProcess:
    """`nginx -t` on a file: exit status 0 when nginx accepts it."""
    return subprocess.run(
        [binary, "-t", "-e", str(config.parent / "error.log"), "-p", str(config.parent), "-c", str(config)],
        capture_output=True,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground on a variant of deploy/nginx.conf, stopped on exit."""

    def __init__(self, binary: str, scratch: Path, upstream_port: int):
        self.binary = binary
        self.scratch = scratch
        self.port = free_port()
        self.config = write_variant(scratch, self.port, upstream_port)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        checked = check(self.binary, self.config)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen(
            [self.binary, "-e", str(self.scratch / "error.log"), "-p", str(self.scratch), "-c", str(self.config)]
            + ["-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def listening() -> bool:
            assert self.proc is not None and self.proc.poll() is None, (
                f"nginx exited: {(self.scratch / 'error.log').read_text()}"
            )
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(listening, what="nginx to listen")
        return self

    def __exit__(self, *exc) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGQUIT)  # graceful: the access log is complete
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return "".join(
            (self.scratch / name).read_text(errors="replace")
            for name in ("access.log", "error.log")
            if (self.scratch / name).exists()
        )
