"""Slowloris against bare gunicorn and against the reverse proxy (deploy/nginx.conf), in one run.

Starts `infobutton serve` (2 workers x 4 threads, as in the container) on 127.0.0.1 and a real
nginx in front of it on deploy/nginx.conf (tests/deploy/nginx.py swaps in the local addresses),
then for each target in turn: N slow connections that send a header line every second and never
finish, reopened as fast as the server cuts them, while /healthz is asked every 0.5 s on a new
connection with a timeout. Prints the share of health checks answered (200 in time) for bare
gunicorn (the baseline) and through the proxy, with how many slow connections each server cut.

    python bench/slowloris.py [--connections 256] [--seconds 30] [--probe-timeout 3]

Needs nginx (`apt-get install nginx-light`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the nginx runner and the attacker live with the tests that use them

from tests.deploy.nginx import Nginx, free_port, nginx_binary  # noqa: E402
from tests.deploy.slowloris import Prober, Slowloris  # noqa: E402


def wait_healthy(url: str, seconds: float = 180) -> None:
    prober = Prober(url, timeout=5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if prober.probe():
            return
        time.sleep(0.5)
    sys.exit(f"{url} never answered")


def attack(name: str, port: int, health: str, args) -> float:
    with Slowloris(port, args.connections, reconnect=True) as slow, Prober(health, timeout=args.probe_timeout) as probe:
        time.sleep(args.seconds)
    answered = sum(probe.results)
    print(
        f"{name:<22} health checks answered {answered:>3} of {len(probe.results):<3} ({probe.ratio:6.1%})   "
        f"slow connections opened {slow.opened:>5}, cut by the server {slow.cut:>5}"
    )
    return probe.ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--probe-timeout", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    binary = nginx_binary()
    if binary is None:
        sys.exit("nginx not found: apt-get install nginx-light")

    scratch = Path(tempfile.mkdtemp(prefix="infobutton-slowloris-"))
    scratch.chmod(0o755)  # nginx's unprivileged workers enter its temp directories in here
    port = free_port()
    env = {**os.environ, "INFOBUTTON_DATA_DIR": str(scratch / "data")}
    env.pop("INFOBUTTON_DATABASE_URL", None)
    serve = [str(Path(sys.executable).parent / "infobutton"), "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*serve, "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        bare = f"http://127.0.0.1:{port}/healthz"
        wait_healthy(bare)
        print(
            f"{args.connections} slow connections for {args.seconds:g} s per target; /healthz every 0.5 s, "
            f"{args.probe_timeout:g} s timeout; gunicorn {args.workers} workers x 4 threads"
        )
        attack("bare gunicorn", port, bare, args)
        wait_healthy(bare)  # the slow clients gone, it recovers
        with Nginx(binary, scratch / "nginx", port) as nginx:
            attack("nginx in front", nginx.port, nginx.base + "/healthz", args)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
