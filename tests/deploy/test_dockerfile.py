"""The Dockerfile, read statically (no Docker daemon here): dependencies install in a layer that
only pyproject.toml feeds, so a code change reuses it; the image runs as a non-root user with a
health check; the dependency list it generates is pyproject.toml's."""

from __future__ import annotations

import shlex
import subprocess
import sys
import tomllib

from .nginx import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", "")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def index(predicate) -> int:
    (found,) = [i for i, step in enumerate(instructions()) if predicate(*step)]
    return found


def test_dependencies_install_before_any_code_is_copied():
    steps = instructions()
    deps = index(lambda op, args: op == "RUN" and "pip install -r" in args)
    code = index(lambda op, args: op == "COPY" and args.split()[0] == "infobutton")
    package = index(lambda op, args: op == "RUN" and "pip install --no-deps" in args)
    assert deps < code < package
    copied_before = [args.split()[:-1] for op, args in steps[:deps] if op == "COPY"]
    assert copied_before == [["pyproject.toml"]]  # nothing else can invalidate the dependency layer
    assert "--no-build-isolation" in steps[package][1]  # the build backend comes from that layer too


def test_the_generated_dependency_list_is_pyprojects():
    op, args = instructions()[index(lambda op, args: op == "RUN" and "pip install -r" in args)]
    command = args.split(" > /tmp/requirements.txt")[0]
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-c"]
    listed = subprocess.run([sys.executable, "-c", argv[2]], cwd=ROOT, capture_output=True, text=True, check=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    expected = project["project"]["dependencies"] + extras["postgres"] + extras["redis"]
    assert listed.stdout.split() == expected + project["build-system"]["requires"]


def test_runs_as_a_non_root_user_with_a_health_check():
    steps = instructions()
    user = index(lambda op, args: op == "USER")
    assert steps[user][1] not in ("root", "0")
    assert user > index(lambda op, args: op == "RUN" and "pip install --no-deps" in args)
    (healthcheck,) = [args for op, args in steps if op == "HEALTHCHECK"]
    assert "http://127.0.0.1:8080/readyz" in healthcheck  # the database answers, the schema is current
    (cmd,) = [args for op, args in steps if op == "CMD"]
    assert '"--host", "0.0.0.0", "--port", "8080"' in cmd  # inside the container, behind the proxy
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
