"""Bare gunicorn faces slow clients badly (test_slowloris), so `infobutton serve` binds to
loopback unless told otherwise; only the container, behind the proxy, binds 0.0.0.0."""

from infobutton.cli import serve


def test_serve_binds_to_loopback_by_default():
    defaults = {param.name: param.default for param in serve.params}
    assert defaults["host"] == "127.0.0.1"
