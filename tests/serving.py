"""A real ``infobutton serve`` (gunicorn) on 127.0.0.1 for one test, as a context manager (test
helper): started with the given settings and worker count, waited for, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from .test_cli import free_port, serve_command, wait_ready


class Serving:
    def __init__(self, tmp: Path, env: dict[str, str], workers: int = 1, unset: tuple[str, ...] = ()):
        """``unset``: variables removed from the inherited environment (their defaults apply)."""
        self.tmp, self.workers = tmp, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "INFOBUTTON_DATA_DIR": str(tmp / "data"), **env}
        for name in (*unset, *(() if "INFOBUTTON_DATABASE_URL" in env else ("INFOBUTTON_DATABASE_URL",))):
            self.env.pop(name, None)
        self.log_path = tmp / "server.log"

    def __enter__(self) -> Serving:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - the server writes to it until __exit__
        command = serve_command(self.port, self.workers)
        self.proc = subprocess.Popen(
            command, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_ready(self.base + "/healthz", self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=60)
        self._log.close()
