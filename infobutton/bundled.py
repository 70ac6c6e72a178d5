"""The mappings and topics shipped with the project, merged into the database as versioned data.

In a source checkout they are the reviewed ``mappings/`` and ``topics/`` folders; an installed
wheel carries the same files under ``infobutton/_bundled/``.

``merge`` runs at every start (under the migration lock, so once however many instances start)
and in ``infobutton db upgrade``. It does nothing when the shipped files are the ones last merged
(``FINGERPRINT_KEY``). Otherwise it merges them as one audited mapping version (actor "system",
action "shipped"), three-way: against what the database holds and what was shipped before
(``BASE_KEY``; a database from a release that kept no such record has its first mapping
version, the shipped rules it was seeded with, and its link-only topics). What a librarian or an
import changed or removed wins: the release's version of it is not applied, and where the
release changes it too, the version's reason lists it as a conflict. An empty database gets
everything, which is the first seed. A MedlinePlus catalogue imported after the shipped files
were made speaks for its sites: the shipped topics of those sites are left to it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .content.catalogue import date_key, sites
from .content.medlineplus_xml import LINK_ONLY, Catalogue, read_catalogue
from .mappings import csv_io
from .mappings.constraints import conditions
from .models import MappingRule, Topic
from .store import meta
from .store.codec import content_hash, rule_from_dict, rule_to_dict
from .store.mappings import Change, SqlMappingStore, identity
from .store.topics import SqlTopicStore

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "shipped_fingerprint"  # a hash of the shipped files last merged
BASE_KEY = "shipped_base"  # what they held: {"rules": [rule JSON], "topics": {id: content hash}}
ACTION = "shipped"
# The first version a release before shipped merges wrote when it seeded an empty database.
_SEEDED = ("system", "replace", "bundled mappings")


def _folder(name: str) -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "_bundled" / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} not found next to {here}")


def mapping_files() -> list[Path]:
    return sorted(_folder("mappings").glob("*.csv"))


def topic_files() -> list[Path]:
    return sorted(_folder("topics").glob("*.xml"))


def load_rules() -> list[MappingRule]:
    """Every shipped rule, parsed once per process for each content of the files."""
    return list(_parsed_rules(tuple((path, path.read_bytes()) for path in mapping_files())))


@functools.cache
def _parsed_rules(files: tuple[tuple[Path, bytes], ...]) -> tuple[MappingRule, ...]:
    rules: list[MappingRule] = []
    for path, content in files:
        parsed, errors = csv_io.parse(content.decode("utf-8"))
        if errors:
            first = errors[0]
            raise ValueError(f"{path.name}:{first.line}: {first.field}: {first.message}")
        rules.extend(parsed)
    return tuple(rules)


def load_catalogues() -> list[Catalogue]:
    """Each shipped topics file, parsed (its topics carry the file's date)."""
    return [read_catalogue(path) for path in topic_files()]


def load_topics() -> list[Topic]:
    return [topic for catalogue in load_catalogues() for topic in catalogue.topics]


def fingerprint() -> str:
    """A hash of every shipped file, by name and content: what tells a new release's content."""
    digest = hashlib.sha256()
    for kind, paths in (("mappings", mapping_files()), ("topics", topic_files())):
        for path in paths:
            digest.update(f"{kind}/{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def release() -> str:
    """This release's name, for the version's reason: the package version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"infobutton {version('infobutton')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "infobutton (source tree)"


@dataclass
class MergeResult:
    """What a merge did: counts, the conflicts it kept as changed here, and the version it wrote."""

    version: int | None = None
    rules: dict[str, int] = field(default_factory=lambda: {"added": 0, "changed": 0, "removed": 0})
    topics: dict[str, int] = field(default_factory=lambda: {"added": 0, "updated": 0, "withdrawn": 0, "left": 0})
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.rules.values()) or any(v for k, v in self.topics.items() if k != "left")

    def summary(self) -> str:
        r, t = self.rules, self.topics
        text = (
            f"rules {r['added']:,} added, {r['changed']:,} changed, {r['removed']:,} removed; topics "
            f"{t['added']:,} added, {t['updated']:,} updated, {t['withdrawn']:,} withdrawn"
        )
        if t["left"]:
            text += f", {t['left']:,} left to the newer catalogue imported here"
        if self.conflicts:
            text += f"; {len(self.conflicts)} kept as changed here though this release changes them too"
        return text

    def reason(self, name: str) -> str:
        """The version's reason: the summary, then one line per conflict."""
        lines = [f"shipped content of {name}: {self.summary()}"]
        lines += [f"conflict: {c}" for c in self.conflicts]
        return "\n".join(lines)


def _rule_key(rule: MappingRule) -> str:
    return json.dumps(rule_to_dict(dataclasses.replace(rule, id=None)), sort_keys=True)


def describe_rule(rule: MappingRule) -> str:
    """ "ICD-10-CM J45 → asthma (descendants)", with its conditions, for people reading a conflict."""
    extra = "".join(f", {condition}" for condition in conditions(rule))
    return f"{rule.code_system.label} {rule.code} \u2192 {rule.topic_id} ({rule.scope.value}{extra})"


def _base(db, mappings: SqlMappingStore) -> tuple[list[MappingRule], dict[str, str] | None]:
    """What was shipped before: the recorded base, else (a database from a release that kept no
    record) the rules of its first version when that was the shipped seed, and None for topics."""
    recorded = meta.get(db, BASE_KEY)
    if recorded:
        data = json.loads(recorded)
        return [rule_from_dict(r) for r in data["rules"]], dict(data["topics"])
    first = mappings.history.first()
    if first is not None and (first.actor, first.action, first.reason) == _SEEDED:
        return mappings.history.snapshot(first.n) or [], None
    return [], None


def _merge_rules(base: list[MappingRule], shipped: list[MappingRule], current: list[MappingRule], result: MergeResult):
    """The changes that bring the release's rules in, keeping every rule changed or removed here."""
    was = {identity(r): r for r in base}
    now = {identity(r): r for r in shipped}
    here = {identity(r): r for r in current}
    changes: list[Change] = []
    for key in dict.fromkeys([*now, *was]):
        new, old, mine = now.get(key), was.get(key), here.get(key)
        if new is not None and old is not None and _rule_key(new) == _rule_key(old):
            continue  # the release did not change it: whatever happened here stands
        if mine is None:
            if old is None:
                changes.append(Change(None, new))
                result.rules["added"] += 1
            elif new is not None:
                result.conflicts.append(f"{describe_rule(new)}: removed here; this release changes it")
        elif new is not None and _rule_key(mine) == _rule_key(new):
            continue  # already as the release has it
        elif old is not None and _rule_key(mine) == _rule_key(old):
            changes.append(Change(mine, new))  # as shipped before: the release's version replaces it
            result.rules["changed" if new is not None else "removed"] += 1
        else:
            what = "changes it" if new is not None else "removes it"
            result.conflicts.append(
                f"{describe_rule(mine)}: {'edited' if old is not None else 'written'} here; this release {what}"
            )
    return changes


def _same(a: Topic, b: Topic) -> bool:
    return content_hash(a) == content_hash(b)


def _merge_topics(
    db,
    catalogues: list[Catalogue],
    base: dict[str, str] | None,
    stored: dict[str, Topic],
    digests: dict[str, str],
    result: MergeResult,
) -> list[Topic]:
    """The topics to write: new ones, and stored ones still as shipped; a stored topic changed
    here (imported, synced, withdrawn) stays as it is."""
    writes: list[Topic] = []
    shipped_ids: set[str] = set()
    for catalogue in catalogues:
        imported = meta.get(db, date_key(sites(catalogue.topics)))
        newer = bool(imported) and imported >= catalogue.date_generated
        for topic in catalogue.topics:
            shipped_ids.add(topic.id)
            mine = stored.get(topic.id)
            if newer:
                result.topics["left"] += 1
                continue
            if mine is None:
                writes.append(topic)
                result.topics["added"] += 1
                continue
            if mine.status == "active" and _same(mine, topic):
                continue
            as_shipped = mine.source == LINK_ONLY if base is None else content_hash(mine) == base.get(topic.id)
            date_only = _same(dataclasses.replace(mine, catalogue_date=topic.catalogue_date), topic)
            if mine.status == "active" and (as_shipped or date_only):
                writes.append(topic)
                result.topics["updated"] += 1
            elif base is None or base.get(topic.id) != digests[topic.id]:
                state = "withdrawn" if mine.status != "active" else f"source {mine.source or 'unknown'}"
                result.conflicts.append(f"topic {topic.id}: changed here ({state}); this release ships it changed")
    for tid, digest in (base or {}).items():
        mine = stored.get(tid)
        if tid not in shipped_ids and mine is not None and mine.status == "active" and content_hash(mine) == digest:
            writes.append(dataclasses.replace(mine, status="withdrawn"))
            result.topics["withdrawn"] += 1
    return writes


def merge(topic_store: SqlTopicStore, mapping_store: SqlMappingStore, *, force: bool = False) -> MergeResult | None:
    """Merge this release's shipped topics and rules into the database (see the module
    docstring), in one transaction; None when they were merged before (``force`` merges anyway)."""
    db = topic_store.db
    mark = fingerprint()
    with db.transaction():
        if not force and meta.get(db, FINGERPRINT_KEY) == mark:
            return None
        catalogues, rules = load_catalogues(), load_rules()
        stored = {t.id: t for t in topic_store.all(include_withdrawn=True)}
        base_rules, base_topics = _base(db, mapping_store)
        result = MergeResult()
        digests = {t.id: content_hash(t) for c in catalogues for t in c.topics}
        writes = _merge_topics(db, catalogues, base_topics, stored, digests, result)
        changes = _merge_rules(base_rules, rules, mapping_store.rules(), result)
        if writes:
            topic_store.upsert(writes)
        if result.changed or result.conflicts:
            result.version = mapping_store.apply(
                changes, actor="system", action=ACTION, reason=result.reason(release())
            )
        shipped = {
            "rules": [rule_to_dict(dataclasses.replace(r, id=None)) for r in rules],
            "topics": digests,
        }
        meta.put(db, BASE_KEY, json.dumps(shipped, separators=(",", ":"), sort_keys=True))
        meta.put(db, FINGERPRINT_KEY, mark)
    log.info("shipped content merged: %s", result.summary())
    return result
