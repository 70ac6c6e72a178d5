"""The mappings and topics shipped with the project, and filling an empty database from them.

In a source checkout they are the reviewed ``mappings/`` and ``topics/`` folders; an installed
wheel carries the same files under ``infobutton/_bundled/``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .content import medlineplus_xml
from .mappings import csv_io

log = logging.getLogger(__name__)


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


def load_rules():
    rules = []
    for path in mapping_files():
        parsed, errors = csv_io.parse(path.read_text(encoding="utf-8"))
        if errors:
            first = errors[0]
            raise ValueError(f"{path.name}:{first.line}: {first.field}: {first.message}")
        rules.extend(parsed)
    return rules


def load_topics():
    topics = []
    for path in topic_files():
        topics.extend(medlineplus_xml.parse(str(path)))
    return topics


def seed(topic_store, mapping_store) -> bool:
    """Fill an empty database; a database that has topics or mappings is left as it is."""
    seeded = False
    if topic_store.count() == 0:
        counts = topic_store.upsert(load_topics())
        log.info("seeded topics: %s", counts)
        seeded = True
    if mapping_store.count() == 0:
        rules = load_rules()
        mapping_store.replace_all(rules, reason="bundled mappings")
        log.info("seeded %d mapping rules", len(rules))
        seeded = True
    return seeded
