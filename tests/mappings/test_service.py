"""MappingAdmin.create_many (accepted suggestions): each rule validated, one version, all or nothing."""

from __future__ import annotations

import pytest

from infobutton.mappings.validation import ValidationFailed

GOOD = {"code_system": "ICD-10-CM", "code": "C94.6", "topic_id": "leukemia", "reason": "r"}


def test_a_batch_is_one_audited_version(services):
    admin, version = services.mapping_admin, services.mappings.version()
    rules, n = admin.create_many([GOOD, {**GOOD, "code": "C94.80"}], "ana", action="accept", reason="two at once")
    assert n == version + 1 and [r.code for r in rules] == ["C94.6", "C94.80"]
    assert all(r.id for r in rules) and services.mappings.get(rules[0].id) == rules[0]
    entries, total = admin.history.audit(version=n)
    assert total == 2 and {(e.actor, e.action, e.reason) for e in entries} == {("ana", "accept", "two at once")}
    assert admin.create_many([], "ana") == ([], None)


@pytest.mark.parametrize(
    "batch, line, field",
    [
        ([GOOD, {**GOOD, "code": "C99.99"}], 2, "code"),
        ([GOOD, GOOD], 2, "topic_id"),  # twice in one batch
        ([{**GOOD, "topic_id": "leukemia-es"}, GOOD], 1, "topic_id"),
    ],
)
def test_any_bad_rule_and_nothing_is_written(services, batch, line, field):
    version, count = services.mappings.version(), services.mappings.count()
    with pytest.raises(ValidationFailed) as failed:
        services.mapping_admin.create_many(batch, "ana", action="accept")
    assert (failed.value.errors[0]["line"], failed.value.errors[0]["field"]) == (line, field)
    assert (services.mappings.version(), services.mappings.count()) == (version, count)
