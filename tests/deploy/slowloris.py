"""A slowloris attacker and a health prober, each in a thread (test and bench helper).

The attacker holds connections open by sending a request's headers a line at a time and never
finishing them; with ``reconnect`` it opens a new one for each the server cuts, as the real tool
does. The prober asks for a URL at a steady pace, each time on a new connection, and records
whether the answer came within its timeout.
"""

from __future__ import annotations

import select
import socket
import threading
import time

import requests


class Slowloris:
    def __init__(self, port: int, connections: int, *, interval: float = 1.0, reconnect: bool = False):
        self.port = port
        self.connections = connections
        self.interval = interval
        self.reconnect = reconnect
        self.opened = 0  # connections established, ever
        self.cut = 0  # connections the server closed (or answered) before their headers ended
        self.socks: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def open(self) -> int:
        return len(self.socks)

    def __enter__(self) -> Slowloris:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        for sock in self.socks:
            sock.close()
        self.socks = []

    def _connect(self) -> None:
        sock = socket.socket()
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n")
        except OSError:
            sock.close()
            return
        sock.setblocking(False)
        self.socks.append(sock)
        self.opened += 1

    def _drop(self, sock: socket.socket) -> None:
        sock.close()
        self.socks.remove(sock)
        self.cut += 1

    def _run(self) -> None:
        for _ in range(self.connections):
            self._connect()
        line = 0
        while not self._stop.wait(self.interval):
            # Readable means the server ended the request: EOF, a reset or an error answer.
            readable, _, _ = select.select(self.socks, [], [], 0) if self.socks else ([], [], [])
            for sock in readable:
                self._drop(sock)
            line += 1
            for sock in list(self.socks):
                try:
                    sock.send(b"X-Slow-%d: 1\r\n" % line)
                except OSError:  # reset, broken pipe, or a full send buffer: the server let go
                    self._drop(sock)
            if self.reconnect:
                for _ in range(self.connections - len(self.socks)):
                    self._connect()


class Prober:
    """GET ``url`` every ``interval`` seconds; ``results`` is one bool per probe (answered 200 in time)."""

    def __init__(self, url: str, *, interval: float = 0.5, timeout: float = 10.0):
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.results: list[bool] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def probe(self) -> bool:
        try:
            ok = requests.get(self.url, timeout=self.timeout).status_code == 200
        except requests.exceptions.RequestException as error:  # timeouts, resets, refusals
            self.errors.append(type(error).__name__)
            ok = False
        self.results.append(ok)
        return ok

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.probe()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 30)

    @property
    def ratio(self) -> float:
        return sum(self.results) / len(self.results) if self.results else 0.0
