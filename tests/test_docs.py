"""The README stays short and current, and the code says what it means rather than which tracker
entry asked for it. The pages under docs/ are checked by `make docs` (mkdocs --strict: broken
links and anchors fail the build); these tests cover what mkdocs does not see."""

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 300

# "issue 8", "Issue #10", "issue-11", "issues 10 and 12": a tracker number standing in for a reason
TRACKER_NUMBER = re.compile(r"\bissues?[\s#-]*\d+", re.IGNORECASE)
# [text](target) and reference definitions ([name]: target)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
TEXT_SUFFIXES = {".html", ".js", ".css", ".txt", ".md", ".mako", ".ini", ".cfg", ".toml", ".yml", ".yaml"}


def python_comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python file."""
    source = path.read_text(encoding="utf-8")
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                found.append((node.body[0].lineno, docstring))
    return found


def tracker_numbers(path: Path) -> list[str]:
    if path.suffix != ".py" and path.suffix not in TEXT_SUFFIXES:
        return []
    if not TRACKER_NUMBER.search(path.read_text(encoding="utf-8")):
        return []  # the common case, without tokenizing
    if path.suffix == ".py":
        texts = python_comments_and_docstrings(path)
    else:
        texts = list(enumerate(path.read_text(encoding="utf-8").splitlines(), 1))
    return [
        f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}"
        for line, text in texts
        for match in TRACKER_NUMBER.finditer(text)
    ]


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES}): move detail to docs/"


def test_the_quickstart_is_the_two_commands():
    text = README.read_text(encoding="utf-8")
    quickstart = text.split("\n## Quickstart\n", 1)
    assert len(quickstart) == 2, "README.md has no '## Quickstart' section"
    block = re.search(r"^```[^\n]*\n(.*?)^```", quickstart[1], re.MULTILINE | re.DOTALL)
    assert block, "the Quickstart has no fenced block"
    commands = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def test_every_relative_link_in_the_readme_resolves():
    text = README.read_text(encoding="utf-8")
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue  # a URL, mailto: or an anchor in the README itself
        path = target.split("#", 1)[0]
        if not (README.parent / path).exists():
            broken.append(target)
    assert not broken, f"README.md links to files that do not exist: {broken}"


def test_code_comments_name_no_tracker_numbers():
    this = Path(__file__).resolve()
    found = [
        hit
        for folder in ("infobutton", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.resolve() != this and "node_modules" not in path.parts
        for hit in tracker_numbers(path)
    ]
    assert not found, "say what a comment means, not which issue asked for it:\n" + "\n".join(found)


def test_the_docs_name_no_tracker_numbers():
    pages = [README, ROOT / "mappings" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [hit for page in pages for hit in tracker_numbers(page)]
    assert not found, "write what was decided and when, not an issue number:\n" + "\n".join(found)


def test_every_setting_is_in_the_configuration_page():
    """Every field of the Settings model, as its environment variable, in docs/configuration.md."""
    (settings,) = [
        node
        for path in sorted((ROOT / "infobutton").rglob("*.py"))
        if "class Settings(" in path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name == "Settings"
    ]
    fields = [
        statement.target.id
        for statement in settings.body
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.target.id != "model_config"
    ]
    assert len(fields) > 20
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [f"INFOBUTTON_{name.upper()}" for name in fields if f"INFOBUTTON_{name.upper()}" not in page]
    assert not missing, f"docs/configuration.md does not describe {missing}"
