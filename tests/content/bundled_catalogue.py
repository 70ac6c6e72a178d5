"""The shipped starter catalogue as one health-topics document, for tests that import, sync or
schedule a whole catalogue: the same topics (same ids and sources) under a chosen
``date-generated``, optionally with a different Leukemia summary so a change can be seen."""

from __future__ import annotations

import dataclasses

from infobutton import bundled
from infobutton.content.medlineplus_xml import write_catalogue
from infobutton.hosts import on_medlineplus

TOTAL = len(bundled.load_topics())
# The shipped MedlinePlus pages: what a MedlinePlus import can withdraw (the NCI topics it cannot).
MEDLINEPLUS_TOTAL = sum(1 for t in bundled.load_topics() if on_medlineplus(t.url))
NOT_MEDLINEPLUS = {t.id for t in bundled.load_topics() if not on_medlineplus(t.url)}


def bundled_catalogue(date: str = "2026-11-23", leukemia_summary: str | None = None) -> bytes:
    topics = bundled.load_topics()
    if leukemia_summary is not None:
        topics = [
            dataclasses.replace(t, summary_html=f"<p>{leukemia_summary}</p>") if t.id == "leukemia" else t
            for t in topics
        ]
    return write_catalogue(topics, date_generated=date).encode("utf-8")
