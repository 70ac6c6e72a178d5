"""The leukemia family as a sync of the MedlinePlus export would leave it, for tests of what the
responder does with full topics: summaries, also-called names and Spanish twins.

Test data only. The shipped catalogue (``topics/``) has one topic with text (Leukemia, from the
seed page) and Leukemia's Spanish twin; everything else there is link-only until a real sync.
The summaries below are placeholders written for these tests, not MedlinePlus's words; the
titles and URLs are the real MedlinePlus ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from infobutton.models import Topic, TopicRef

# id → (Spanish title, English also-called, Spanish also-called)
FAMILY = {
    "leukemia": ("Leucemia", (), ()),
    "acutelymphocyticleukemia": ("Leucemia linfocítica aguda", ("ALL", "Acute lymphoblastic leukemia"), ("LLA",)),
    "acutemyeloidleukemia": ("Leucemia mieloide aguda", ("AML",), ("LMA",)),
    "chroniclymphocyticleukemia": ("Leucemia linfocítica crónica", ("CLL",), ("LLC",)),
    "chronicmyeloidleukemia": ("Leucemia mieloide crónica", ("CML",), ("LMC",)),
    "childhoodleukemia": ("Leucemia infantil", (), ()),
}


def synced(topics: Iterable[Topic]) -> list[Topic]:
    """``topics`` with every leukemia-family topic full (placeholder summary, also-called names,
    Spanish twin, source "medlineplus") and the Spanish twins added."""
    result: list[Topic] = []
    by_id = {t.id: t for t in topics}
    for topic in by_id.values():
        if topic.id not in FAMILY or topic.language != "en":
            if topic.id.removesuffix("-es") not in FAMILY:
                result.append(topic)
            continue
        spanish_title, also_en, also_es = FAMILY[topic.id]
        spanish_url = topic.url.replace("https://medlineplus.gov/", "https://medlineplus.gov/spanish/")
        summary = topic.summary_html or f"<p>Test summary of {topic.title.lower()}.</p>"
        result.append(
            dataclasses.replace(
                topic,
                summary_html=summary,
                also_called=topic.also_called or also_en,
                twin=TopicRef(f"{topic.id}-es", spanish_title, spanish_url),
                source="medlineplus",
            )
        )
        result.append(
            Topic(
                id=f"{topic.id}-es",
                title=spanish_title,
                url=spanish_url,
                language="es",
                summary_html=f"<p>Resumen de prueba: {spanish_title.lower()}.</p>",
                also_called=also_es,
                twin=TopicRef(topic.id, topic.title, topic.url),
                source="medlineplus",
            )
        )
    return result
