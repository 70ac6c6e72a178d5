"""How rules and topics are written into rows and JSON, and read back: one neutral module the
stores (mappings, history, topics, search) and the admin surfaces all import, so none of them
imports another for its encoding."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..models import CodeSystem, Gender, MappingRule, Recipient, Scope, Site, Topic, TopicRef
from .schema import CONSTRAINT_COLUMNS

# -- mapping rules ---------------------------------------------------------------------------

# A rule's context limits (``MappingRule.audiences`` …): in a row, canonical text (the sorted
# codes separated by single spaces, '' for any); in JSON (snapshots, audit, API), a list.
CONSTRAINTS = CONSTRAINT_COLUMNS
RULE_FIELDS = (
    "id",
    "code_system",
    "code",
    "topic_id",
    "scope",
    "priority",
    "min_age",
    "max_age",
    "gender",
    "reason",
    *CONSTRAINTS,
)


def codes(value: object) -> tuple[str, ...]:
    """A stored set of codes as a sorted tuple: from its canonical text, a JSON list, or nothing
    (a snapshot or audit row written before revision 0005 has no such key)."""
    if isinstance(value, str):
        return tuple(sorted(set(value.split())))
    if isinstance(value, list | tuple):
        return tuple(sorted({str(v) for v in value}))
    return ()


def codes_text(values: tuple) -> str:
    """The canonical text of a set of codes (enum members by value)."""
    return " ".join(sorted({getattr(v, "value", v) for v in values}))


def _constraints(values: dict[str, object]) -> dict[str, tuple]:
    found = {name: codes(values.get(name)) for name in CONSTRAINTS}
    # an unknown audience fails loudly: dropping it could widen the rule to every reader
    return found | {"audiences": tuple(Recipient(v) for v in found["audiences"])}


def rule_from_row(row: Sequence) -> MappingRule:
    """A rule from its stored values, in ``RULE_FIELDS`` order."""
    rid, system, code, topic_id, scope, priority, min_age, max_age, gender, reason, *limits = row
    return MappingRule(
        id=rid,
        code_system=CodeSystem[system],
        code=code,
        topic_id=topic_id,
        scope=Scope(scope),
        priority=priority,
        min_age=min_age,
        max_age=max_age,
        gender=Gender(gender) if gender else None,
        reason=reason or "",
        **_constraints(dict(zip(CONSTRAINTS, limits, strict=False))),
    )


def rule_to_dict(rule: MappingRule) -> dict[str, Any]:
    """The JSON form of a rule: its snapshot and audit JSON (and the core of the API's JSON); the
    context limits as lists of codes."""
    return {
        "id": rule.id,
        "code_system": rule.code_system.name,
        "code": rule.code,
        "topic_id": rule.topic_id,
        "scope": rule.scope.value,
        "priority": rule.priority,
        "min_age": rule.min_age,
        "max_age": rule.max_age,
        "gender": rule.gender.value if rule.gender else None,
        "reason": rule.reason,
        **{name: codes_text(getattr(rule, name)).split() for name in CONSTRAINTS},
    }


def rule_row(rule: MappingRule) -> dict[str, Any]:
    """A rule's column values, id included: the context limits as canonical text."""
    values = rule_to_dict(rule)
    return values | {name: " ".join(values[name]) for name in CONSTRAINTS}


def rule_values(rule: MappingRule) -> dict[str, Any]:
    """A rule's column values without its id (for an insert or an update)."""
    values = rule_row(rule)
    del values["id"]
    return values


def rule_from_dict(data: dict) -> MappingRule:
    """A rule from its JSON form; a key written by an older version and missing is empty."""
    return rule_from_row(tuple(data.get(k) for k in RULE_FIELDS))


# -- topics ----------------------------------------------------------------------------------

_REFS = ("groups", "related")
# Fields added after release 0.1.0, left out of the JSON while at their default: a topic that does
# not use one is stored (and hashed) exactly as before, so an upgrade changes no content hash.
_LATER = {"audience": "", "catalogue_date": ""}


_FIELDS: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in (Topic, TopicRef, Site)
}


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` for these frozen values (the same JSON), without its deep copies."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    names = _FIELDS.get(type(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    return value


def _dumps(data: dict) -> str:
    kept = {k: v for k, v in data.items() if k not in _LATER or v != _LATER[k]}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def to_json(topic: Topic) -> str:
    return _dumps(_plain(topic))


def encode(topic: Topic) -> tuple[str, str]:
    """(``to_json``, ``content_hash``) of a topic, converting it once."""
    data = _plain(topic)
    hashed = data | {"status": "active", "catalogue_date": "dated" if topic.catalogue_date else ""}
    return _dumps(data), hashlib.sha256(_dumps(hashed).encode()).hexdigest()


def _known(cls, data: dict) -> dict:
    """Only the fields this version knows: a row written by a newer version still loads."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def from_json(text: str) -> Topic:
    data = _known(Topic, json.loads(text))
    for key in _REFS:
        data[key] = tuple(TopicRef(**_known(TopicRef, ref)) for ref in data.get(key, ()))
    for key in ("primary_institute", "twin"):
        data[key] = TopicRef(**_known(TopicRef, data[key])) if data.get(key) else None
    for key in ("sites", "encyclopedia"):
        data[key] = tuple(Site(**_known(Site, site)) for site in data.get(key, ()))
    data["mesh_headings"] = tuple(tuple(m) for m in data.get("mesh_headings", ()))
    for key in ("also_called", "see_references"):
        data[key] = tuple(data.get(key, ()))
    return Topic(**data)


def content_hash(topic: Topic) -> str:
    """What decides whether an import changes a stored topic: everything but its status, and of
    its catalogue date only whether it has one. The same content in a later catalogue is no
    change, so the topic keeps the date of the catalogue its content came in (what its
    ``updated`` falls back to); an undated topic gains a date."""
    return encode(topic)[1]
