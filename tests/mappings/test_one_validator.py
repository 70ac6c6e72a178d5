"""The JSON API, the admin form, CSV import (API and CLI) and ``mappings validate`` check a rule
with one validator (``validation.validate``): the same bad value gets the same field and the
same message everywhere, and each limit is a named constant stated once."""

from __future__ import annotations

import ast
import csv
import html
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import infobutton
from infobutton.cli import main
from infobutton.mappings.validation import FIELDS

from ..web.test_admin_api import NEW, editor, tokens  # noqa: F401 (fixtures)
from ..web.test_admin_ui import csrf, sign_in, token  # noqa: F401 (fixture)

# (the fields that differ from NEW, as text a CSV cell or a form holds) → (field, message)
BAD = [
    ({"max_age": "151"}, "max_age", "max_age must be between 0 and 150 years"),
    ({"min_age": "-1"}, "min_age", "min_age must be between 0 and 150 years"),
    ({"min_age": "ten"}, "min_age", "must be a number"),
    ({"min_age": "40", "max_age": "18"}, "max_age", "must be greater than min_age"),
    ({"priority": "1001"}, "priority", "must be between -1000 and 1000"),
    ({"priority": "high"}, "priority", "must be a whole number"),
    ({"reason": "x" * 1001}, "reason", "at most 1000 characters"),
    ({"topic_id": "no-such-topic"}, "topic_id", "no topic 'no-such-topic'"),
    ({"topic_id": ""}, "topic_id", "required"),
    ({"scope": "everything"}, "scope", "must be exact or descendants"),
    ({"code": "C99.99"}, "code", "C99.99 is not a valid ICD-10-CM code"),
    ({"code_system": "SNOMED CT", "code": "93143008"}, "code", "93143008 is not a valid SNOMED CT code"),
    ({"gender": "X"}, "gender", "must be F, M or UN"),
]
CODE_SYSTEM = ({"code_system": "Klingon"}, "code_system")  # its message is terminology's: compared, not stated


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**NEW, **row} for row in rows)
    return out.getvalue()


ROWS = [row for row, _, _ in BAD] + [CODE_SYSTEM[0]]


@pytest.fixture
def api_errors(client, editor):  # noqa: F811
    found = []
    for row in ROWS:
        r = client.post("/admin/api/mappings", json={**NEW, **row}, headers=editor)
        assert r.status_code == 422
        found.append([(e["field"], e["message"]) for e in r.get_json()["errors"]])
    return found


def test_the_api_the_form_csv_import_and_the_cli_agree(client, services, api_errors, editor, tmp_path, monkeypatch):  # noqa: F811
    expected = [[(field, message)] for _, field, message in BAD]
    assert api_errors[:-1] == expected
    [(field, message)] = api_errors[-1]
    assert field == CODE_SYSTEM[1] and message  # terminology's message, the same everywhere below
    per_line = {line: pair for line, [pair] in enumerate(api_errors, 2)}

    r = client.post("/admin/api/mappings/import", data=_csv(ROWS), headers=editor, content_type="text/csv")
    assert r.status_code == 422
    assert {e["line"]: (e["field"], e["message"]) for e in r.get_json()["errors"]} == per_line

    monkeypatch.setenv("INFOBUTTON_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INFOBUTTON_DATABASE_URL", raising=False)
    path = tmp_path / "bad.csv"
    path.write_text(_csv(ROWS))
    runner = CliRunner()
    for command in ("import", "validate"):
        result = runner.invoke(main, ["mappings", command, str(path)], catch_exceptions=False)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [f"line {n}: {f}: {m}" for n, (f, m) in per_line.items()]

    sign_in(client, services.tokens.create("Form Filler", "editor"))
    for row, [pair] in zip(ROWS, api_errors, strict=True):
        form = {**NEW, "scope": "descendants", "priority": "0", **row, "csrf": csrf(client), "action": "save"}
        page = client.post("/admin/mappings/new", data=form)
        assert page.status_code == 422
        shown = re.findall(r'<span class="field-error" id="(\w+)-error">([^<]*)</span>', page.get_data(as_text=True))
        assert [(f, html.unescape(m)) for f, m in shown] == [pair]


def test_a_context_limit_gets_the_same_message_by_its_csv_column_and_its_json_name(client, editor):  # noqa: F811
    r = client.post("/admin/api/mappings", json={**NEW, "tasks": ["IMMLISTREV"]}, headers=editor)
    [by_json] = r.get_json()["errors"]
    text = _csv([{"task": "IMMLISTREV"}])
    r = client.post("/admin/api/mappings/import", data=text, headers=editor, content_type="text/csv")
    [by_column] = r.get_json()["errors"]
    assert (by_json["field"], by_column["field"]) == ("tasks", "task")  # each under the name it came by
    assert by_json["message"] == by_column["message"] and "IMMLREV" in by_json["message"]


def test_each_limit_of_a_rule_is_a_literal_once():
    """In the mapping code the numbers 150 and 1000 are only ever a named constant's value, and the
    rule's limits are named once: ``models.MAX_AGE_YEARS``, ``validation.MAX_PRIORITY`` and
    ``validation.MAX_REASON_LENGTH``; everything else uses the names."""
    package = Path(infobutton.__file__).parent
    named, loose = [], []
    for path in [*sorted((package / "mappings").glob("*.py")), package / "web" / "admin_api.py"]:
        tree = ast.parse(path.read_text())
        constants = {
            id(node.value): node.targets[0].id
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in (150, 1000):
                where = constants.get(id(node))
                (named if where else loose).append(f"{path.stem}.{where or node.lineno}")
    assert loose == []
    assert {"validation.MAX_PRIORITY", "validation.MAX_REASON_LENGTH"} <= set(named)
