"""A real `infobutton serve` on 127.0.0.1 and deploy/nginx.conf under a real nginx in front of it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from ..conftest import require
from ..test_cli import free_port, serve_command, wait_ready
from .nginx import Nginx, nginx_binary


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    binary = nginx_binary()
    require(binary is not None, "nginx is not installed (tests/setup-browser.sh installs nginx-light)")
    assert binary is not None
    return binary


@pytest.fixture
def scratch():
    """A directory nginx's unprivileged workers can enter (pytest's tmp_path is root-only when
    run as root)."""
    path = Path(tempfile.mkdtemp(prefix="infobutton-nginx-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="package")
def served(tmp_path_factory):
    """`infobutton serve` with one worker (4 threads) on SQLite: (base URL, port)."""
    tmp = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {**os.environ, "INFOBUTTON_DATA_DIR": str(tmp / "data")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    with open(tmp / "server.log", "w") as log:
        proc = subprocess.Popen(
            serve_command(port, 1),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base + "/healthz", proc)
            yield base, port
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@pytest.fixture
def proxy(nginx_bin, scratch, served):
    """deploy/nginx.conf in front of the served instance."""
    with Nginx(nginx_bin, scratch, served[1]) as nginx:
        yield nginx
