"""`pip install .` gives a package that carries its bundled mappings and topics and a console command."""

import subprocess
import sys

import pytest

from infobutton import bundled

from .conftest import ROOT

pytestmark = pytest.mark.packaging


def test_wheel_carries_bundled_data_and_console_script(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("infobutton-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    probe = (
        "import infobutton.bundled as b; print(b.mapping_files()[0]); print(b.topic_files()[0]); "
        "print(len(b.load_rules()), len(b.load_topics()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": ""},
    ).stdout.split("\n")
    assert out[0].startswith(str(target)) and "_bundled/mappings" in out[0]
    assert "_bundled/topics" in out[1]
    assert out[2] == f"{len(bundled.load_rules())} {len(bundled.load_topics())}"
    assert (target / "bin" / "infobutton").exists()
