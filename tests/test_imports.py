"""The import structure: every module imports on its own, module-level imports form no cycle, and no
function body imports from ``infobutton`` (the way a cycle used to be hidden)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Callable
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


# -- no module global is assigned outside import -----------------------------------------------

# Flask's per-request proxies: module-level names whose attributes belong to the current request.
PER_REQUEST = {"flask.request", "flask.session", "flask.g"}
# Third-party process state with no other switch, each set in one place for the process it runs in.
THIRD_PARTY_HOOKS = {
    # serve: the metrics directory the forked workers inherit through the environment
    ("metrics.py", "os.environ[MULTIPROC_ENV]"),
    # serve: prometheus_client chooses its value store when imported, before serve can say where
    ("metrics.py", "values.ValueClass"),
    # a gunicorn worker (forked): gunicorn has no hook for the error page that quotes the request
    ("gunicorn_worker.py", "util.write_error"),
}
MUTATORS = frozenset(
    [
        "append",
        "appendleft",
        "extend",
        "extendleft",
        "insert",
        "update",
        "setdefault",
        "pop",
        "popleft",
        "popitem",
        "clear",
        "remove",
        "discard",
        "add",
    ]
)


def _bound_at_import(module: str, tree: ast.Module) -> dict[str, str]:
    """Every name the module binds at import → what it is: the dotted name an import binds it to,
    else ``""`` (an assignment, a def, a class)."""
    bound: dict[str, str] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom):
                base = absolute(module, node)
                bound.update({alias.asname or alias.name: f"{base}.{alias.name}" for alias in node.names})
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound[node.name] = ""
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    bound.update({n.id: "" for n in ast.walk(target) if isinstance(n, ast.Name)})
            for field in ("body", "orelse", "finalbody"):  # if, for, while, try, with at module level
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    visit(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(tree.body)
    return bound


def _locals(function: ast.AST) -> set[str]:
    """Names a function (and the functions inside it) binds itself, less those declared global."""
    found, declared = set(), set()
    for node in ast.walk(function):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            found.update(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a)
            if node is not function and not isinstance(node, ast.Lambda):
                found.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            found.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
    return found - declared


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor | ast.comprehension | ast.NamedExpr):
        targets = [node.target]
    elif isinstance(node, ast.withitem) and node.optional_vars is not None:
        targets = [node.optional_vars]
    else:
        return []
    flat: list[ast.expr] = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        else:
            flat.append(target.value if isinstance(target, ast.Starred) else target)
    return flat


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _writes(node: ast.AST, shared: Callable[[str | None], bool], bound: dict[str, str]) -> list[str]:
    """What ``node`` writes to module state (``shared`` names), as source text."""
    written = ["global " + ", ".join(node.names)] if isinstance(node, ast.Global) else []
    written += [
        ast.unparse(t) for t in _targets(node) if isinstance(t, ast.Attribute | ast.Subscript) and shared(_root(t))
    ]
    if not isinstance(node, ast.Call):
        return written
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in MUTATORS:
        name = _root(func.value)
        if shared(name) and not bound[name or ""]:  # a container bound at import, not a module's
            written.append(ast.unparse(func) + "()")
    if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args and shared(_root(node.args[0])):
        written.append(f"{func.id}({ast.unparse(node.args[0])})")
    return written


def _outermost_functions(node: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        is_function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        found += [child] if is_function else _outermost_functions(child)
    return found


def module_state_written(module: str, relative: str, source: str) -> list[str]:
    """``path:line what`` for each write to module state from inside a function: a ``global``
    statement; an assignment to (or ``del`` of) an attribute or item of a name bound at import
    (``knowledge.x = …``, ``_TABLE[k] = …``, an imported module's attribute); a mutating method
    call on a container bound at import (``_TABLE.update(…)``); ``setattr``/``delattr`` on one."""
    tree = ast.parse(source)
    bound = _bound_at_import(module, tree)
    found = []
    for function in _outermost_functions(tree):
        local = _locals(function)

        def shared(name: str | None, local: set[str] = local) -> bool:
            return name in bound and name not in local and bound[name] not in PER_REQUEST

        for node in ast.walk(function):
            found += [
                f"{relative}:{node.lineno} {w}"  # type: ignore[attr-defined]
                for w in _writes(node, shared, bound)
                if (relative, w) not in THIRD_PARTY_HOOKS
            ]
    return found


def test_no_module_global_is_assigned_outside_import():
    """Long-lived state is on ``Services`` (or in a cache that only ``functools.cache`` writes):
    nothing a function does rebinds or fills a module's globals, ours or an imported module's."""
    found = []
    for module, path in MODULES.items():
        relative = path.relative_to(PACKAGE).as_posix()
        found += module_state_written(module, relative, path.read_text(encoding="utf-8"))
    assert found == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("T = None\ndef f():\n    global T\n    T = 1\n", ["services.py:3 global T"]),
        ("from . import knowledge\ndef f(x):\n    knowledge.upstream = x\n", ["services.py:3 knowledge.upstream"]),
        ("import os\ndef f():\n    os.environ['X'] = '1'\n", ["services.py:3 os.environ['X']"]),
        ("F = {}\ndef register(n, f):\n    F[n] = f\n", ["services.py:3 F[n]"]),
        ("F = {}\nclass C:\n    def add(self, f):\n        F.update(f)\n", ["services.py:4 F.update()"]),
        ("F = {}\ndef f(x):\n    del F[x]\n", ["services.py:3 F[x]"]),
        ("import gc\ndef f(v):\n    setattr(gc, 'x', v)\n", ["services.py:3 setattr(gc)"]),
        ("F = {}\ndef f(F):\n    F['a'] = 1\n", []),  # a parameter of the same name
        ("def f(self, x):\n    self.x = x\n    items = []\n    items.append(x)\n", []),
        ("import logging\nlog = logging.getLogger()\ndef f():\n    log.info('x')\n", []),
        ("from flask import g, session\ndef f(who):\n    g.admin = who\n    session['csrf'] = 1\n", []),
        ("F = {}\nF['a'] = 1\nfor _k in 'bc':\n    F[_k] = 2\n", []),  # at import
    ],
)
def test_the_module_state_check_sees_what_it_should(source, expected):
    assert module_state_written("infobutton.services", "services.py", source) == expected


# The layers, innermost first: a module imports its own layer and the ones inside it, never one
# outside it (web → wiring → use cases → core → codes and storage). A new module must be placed
# here (by its name or its package) before the test passes.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the settings read the CDS issuer and fhirServer rules they validate (both standard library only)
    (
        "codes, storage and settings",
        (
            "models",
            "config",
            "cds.issuers",
            "cds.fhir_url",
            "text",
            "terminology",
            "tabular",
            "crosswalk",
            "known_codes",
            "store",
        ),
    ),
    (
        "core",
        (
            "concepts",
            "context",
            "request",
            "resolver",
            "knowledge",
            "sites",
            "subtopics",
            "hosts",
            "html_safety",
            "footprint",
            "expiring",
            "render",
            "cds",
            "rate_limits",
            "shared_cache",
            "metrics",
        ),
    ),
    ("use cases", ("answering", "mappings", "content", "usage", "bundled")),
    ("wiring", ("services",)),
    ("adapters", ("", "web", "cli", "commands", "logs", "gunicorn_worker")),
)
FLASK_FREE = {"codes, storage and settings", "core", "use cases"}


def layer_of(module: str) -> int:
    """The index in LAYERS of ``module``: a ``*.cli`` module is an adapter wherever it lives; the
    longest matching name or package wins."""
    if module.endswith(".cli"):
        return len(LAYERS) - 1
    relative = module.removeprefix("infobutton").removeprefix(".")
    matches = [
        (len(name), index)
        for index, (_, names) in enumerate(LAYERS)
        for name in names
        if relative == name or (name and relative.startswith(name + "."))
    ]
    if not matches:
        raise KeyError(f"{module} is in no layer: place it in tests/test_imports.py LAYERS")
    return max(matches)[1]


def imports_flask(module: str) -> bool:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "flask" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "flask":
            return True
    return False


def test_imports_point_inwards_and_the_inner_layers_are_flask_free():
    outward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module in MODULES
        for target in sorted(top_level_imports(module) & MODULES.keys())
        if not module.startswith(target + ".") and layer_of(target) > layer_of(module)
    ]
    assert outward == []
    flask = [m for m in MODULES if LAYERS[layer_of(m)][0] in FLASK_FREE and imports_flask(m)]
    assert flask == []


def test_the_layers_place_modules_as_named():
    assert LAYERS[layer_of("infobutton.store.cli")][0] == "adapters"  # a command, not storage
    assert LAYERS[layer_of("infobutton.store.usage")][0] == "codes, storage and settings"
    assert LAYERS[layer_of("infobutton.cds.prefetch")][0] == "core"  # the longest name wins
    assert LAYERS[layer_of("infobutton.answering.service")][0] == "use cases"
    assert LAYERS[layer_of("infobutton.web.cached_answers")][0] == "adapters"
    assert LAYERS[layer_of("infobutton")][0] == "adapters"  # the app factory
    with pytest.raises(KeyError, match="no layer"):
        layer_of("infobutton.somewhere_new")
