"""The admin session key made in an empty data directory by workers that all start at once:
each reads the same whole key (a half-written one would sign sessions no other worker accepts,
or none at all), and eight real gunicorn workers all sign admins in."""

from __future__ import annotations

import multiprocessing
import re
import secrets
import stat
import subprocess
import time

import pytest
import requests

from infobutton.config import Settings
from infobutton.web.admin_auth import secret_key

from ..conftest import wait_until
from ..serving import Serving
from ..test_cli import BIN

PROCESSES = 16


def _race(data_dir: str, barrier, results) -> None:
    # Making the key takes a while, as it may when a machine has just booted (getrandom waits
    # for entropy): every other worker reaches the file meanwhile.
    make = secrets.token_hex
    secrets.token_hex = lambda n=None: (time.sleep(0.3), make(n))[1]  # this child process only
    barrier.wait()
    results.put(secret_key(Settings(data_dir=data_dir)))


def test_processes_starting_together_on_an_empty_data_dir_read_one_whole_key(tmp_path):
    fork = multiprocessing.get_context("fork")
    for round_ in range(3):
        data_dir = tmp_path / f"data{round_}"
        barrier, results = fork.Barrier(PROCESSES), fork.Queue()
        workers = [fork.Process(target=_race, args=(str(data_dir), barrier, results)) for _ in range(PROCESSES)]
        for worker in workers:
            worker.start()
        keys = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=120)
        assert len(set(keys)) == 1 and re.fullmatch(r"[0-9a-f]{64}", keys[0]), keys
        path = data_dir / "secret_key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no temporary file left


def test_a_configured_key_is_used_and_nothing_is_written(tmp_path):
    assert secret_key(Settings(data_dir=str(tmp_path), secret_key="configured")) == "configured"
    assert not (tmp_path / "secret_key").exists()


def _cookie(response: requests.Response) -> str:
    found = re.search(r"infobutton_admin=([^;]+)", response.headers.get("Set-Cookie", ""))
    assert found, (response.status_code, response.headers)
    return found.group(1)


def _sign_in(base: str, token: str) -> None:
    """Sign-in form, sign-in, the admin home: three requests on three connections, so three
    workers, more often than not; each must accept the cookie another one signed."""
    close = {"Connection": "close"}
    form = requests.get(base + "/admin/signin", headers=close, timeout=60)
    assert form.status_code == 200, form.status_code
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    signed = requests.post(
        base + "/admin/signin",
        data={"csrf": csrf, "token": token, "next": "/admin/"},
        headers={**close, "Cookie": f"infobutton_admin={_cookie(form)}"},
        allow_redirects=False,
        timeout=60,
    )
    assert signed.status_code == 303, signed.status_code
    home = requests.get(
        base + "/admin/",
        headers={**close, "Cookie": f"infobutton_admin={_cookie(signed)}"},
        allow_redirects=False,
        timeout=60,
    )
    assert home.status_code == 200, home.status_code


@pytest.mark.gunicorn
def test_eight_workers_started_together_on_an_empty_data_dir_all_sign_admins_in(tmp_path):
    with Serving(tmp_path, {}, workers=8) as served:
        wait_until(lambda: served.logs().count("Booting worker") >= 8, timeout=180, what="the eight workers to boot")
        made = subprocess.run(
            [str(BIN), "admin", "create-token", "--name", "Lena Librarian", "--role", "admin"],
            env=served.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
        token = made.stdout.strip().splitlines()[-1]
        for _ in range(48):  # 144 requests: each of the 8 workers answers some
            _sign_in(served.base, token)
    assert "Traceback" not in served.logs()
