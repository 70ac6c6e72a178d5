"""The import structure: every module imports on its own, module-level imports form no cycle, and no
function body imports from ``infobutton`` (the way a cycle used to be hidden)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "infobutton"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Alembic's env.py and revision scripts are loaded by Alembic inside its own context, not imported.
MIGRATIONS = PACKAGE / "migrations"
MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if MIGRATIONS not in p.parents}


def absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute name ``from <node.module> import …`` refers to, inside ``module``."""
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if MODULES[module].name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The infobutton modules an import statement loads (a name that is a submodule counts as it)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = absolute(module, node)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return [n for n in names if n == "infobutton" or n.startswith("infobutton.")]


def top_level_imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:  # module level only (``if TYPE_CHECKING`` blocks are not used here)
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(imported(module, node))
    return found - {module}


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    """One interpreter; before each module, every infobutton module is dropped from sys.modules,
    so each is imported first, from nothing, as a command or a worker would."""
    script = """
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    for loaded in [m for m in sys.modules if m == "infobutton" or m.startswith("infobutton.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(sorted(MODULES))],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PACKAGE.parent,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle a depth-first walk of ``graph`` meets, as the path that closes it."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    found = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_module_level_imports_form_no_cycle():
    graph = {m: top_level_imports(m) & MODULES.keys() for m in MODULES}
    # A submodule always loads its package first; an edge to an ancestor package is that, not a cycle.
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    assert graph["infobutton.services"] >= {"infobutton.knowledge", "infobutton.mappings.service"}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def imports_in_functions(module: str, relative: str, source: str) -> list[str]:
    """``path:line name`` of each import from infobutton inside a function body of ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    found += [f"{relative}:{inner.lineno} {name}" for name in imported(module, inner)]
    return found


def test_no_function_imports_from_infobutton():
    """Lazy imports of heavy third-party libraries (redis, psycopg, gunicorn …) are allowed, with a
    comment; importing our own modules inside a function is how a cycle gets hidden."""
    found = []
    for module, path in MODULES.items():
        relative = path.relative_to(PACKAGE).as_posix()
        found += imports_in_functions(module, relative, path.read_text(encoding="utf-8"))
    assert found == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def f():\n    from . import terminology\n", ["services.py:2 infobutton.terminology"]),
        ("def f():\n    from .store.history import H\n", ["services.py:2 infobutton.store.history"]),
        ("class C:\n    def f(self):\n        import infobutton.models\n", ["services.py:3 infobutton.models"]),
        ("def f():\n    import redis  # heavy, optional\n", []),
        ("from . import terminology\n", []),
    ],
)
def test_the_function_import_check_sees_what_it_should(source, expected):
    """The check itself: relative and absolute imports of our modules inside a function body are
    found; third-party lazy imports and module-level imports are not."""
    assert imports_in_functions("infobutton.services", "services.py", source) == expected
