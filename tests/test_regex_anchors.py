"""Patterns that validate input end in ``\\Z``, never ``$``: Python's ``$`` also matches before a
trailing newline, so ``^[A-Za-z0-9.-]{1,64}$`` let the patient id ``"p1\\n"`` through."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import infobutton

SOURCES = sorted(Path(infobutton.__file__).parent.rglob("*.py"))


def _anchored_patterns(path: Path):
    """(line, pattern) of every ``re.compile``/``match``/``fullmatch``/``search`` literal that
    starts with ``^`` and ends with ``$`` without re.MULTILINE."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "re"):
            continue
        if node.func.attr not in ("compile", "match", "fullmatch", "search"):
            continue
        first = node.args[0]
        flags = ast.unparse(node.args[-1]) if len(node.args) > 1 else ""
        flags += "".join(ast.unparse(k.value) for k in node.keywords if k.arg == "flags")
        if isinstance(first, ast.Constant) and isinstance(first.value, (str, bytes)):
            pattern = first.value if isinstance(first.value, str) else first.value.decode("latin-1")
            if pattern.startswith("^") and pattern.endswith("$") and "MULTILINE" not in flags and "re.M" not in flags:
                yield node.lineno, pattern


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(Path(infobutton.__file__).parent)))
def test_no_validation_pattern_ends_in_a_dollar(path):
    found = [(line, pattern) for line, pattern in _anchored_patterns(path) if not _line_by_line(path)]
    assert found == [], f"end these patterns with \\Z: {found}"


def _line_by_line(path: Path) -> bool:
    """content/page.py reads a page split into lines (no newline left in any): ``$`` is exact there."""
    return path.as_posix().endswith("infobutton/content/page.py")


def test_the_anchor_rule_itself():
    assert re.match(r"^p1$", "p1\n") and not re.match(r"^p1\Z", "p1\n")
