"""Write a synthetic MedlinePlus health-topics file of N topics (half English, half their Spanish
twins) shaped like the real daily ``mplus_topics_YYYY-MM-DD.xml``: escaped HTML summaries of
about 1.5 kB, groups, MeSH headings, related topics and a dozen sites per topic.

    python bench/generate_catalogue.py 2000 /tmp/mplus_topics_2000.xml
"""

from __future__ import annotations

import random
import sys
from html import escape

WORDS = (
    "blood",
    "cells",
    "marrow",
    "chronic",
    "acute",
    "disease",
    "treatment",
    "therapy",
    "symptoms",
    "diagnosis",
    "tests",
    "infection",
    "heart",
    "lung",
    "kidney",
    "liver",
    "cancer",
    "immune",
    "system",
    "genetic",
    "risk",
    "factors",
    "children",
    "adults",
    "medicine",
    "surgery",
    "screening",
    "prevention",
    "nutrition",
    "exercise",
)
CATEGORIES = (
    "Start Here",
    "Diagnosis and Tests",
    "Treatments and Therapies",
    "Related Issues",
    "Specifics",
    "Genetics",
    "Statistics and Research",
    "Clinical Trials",
    "Journal Articles",
    "Find an Expert",
    "Patient Handouts",
)


def _sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _topic(i: int, spanish: bool, rng: random.Random, version: int) -> str:
    stem = f"topic{i:05d}"
    url = f"https://medlineplus.gov/{'spanish/' if spanish else ''}{stem}.html"
    twin = f"https://medlineplus.gov/{'' if spanish else 'spanish/'}{stem}.html"
    title = f"{'Tema' if spanish else 'Topic'} {i} {rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"
    paragraphs = "".join(f"<p>{_sentence(rng, 24)} {_sentence(rng, 20)}</p>" for _ in range(4))
    summary = paragraphs + f"<ul><li>{_sentence(rng, 5)}</li><li>{_sentence(rng, 5)}</li></ul>"
    if version > 1 and i % 10 == 0:
        summary += f"<p>Revised in version {version}.</p>"
    parts = [
        f'  <health-topic title="{escape(title)}" url="{url}" id="{i * 2 + spanish}" '
        f'language="{"Spanish" if spanish else "English"}" date-created="04/23/2003" '
        f'meta-desc="{escape(_sentence(rng, 18))}">',
        f"    <also-called>{escape(rng.choice(WORDS).title())} disorder</also-called>",
        f"    <full-summary>{escape(summary)}</full-summary>",
        f'    <group url="https://medlineplus.gov/g{i % 40}.html" id="g{i % 40}">Group {i % 40}</group>',
        f'    <language-mapped-topic url="{twin}" id="{i * 2 + (not spanish)}" '
        f'language="{"English" if spanish else "Spanish"}">Twin {i}</language-mapped-topic>',
        f'    <mesh-heading><descriptor id="D{i:06d}">Heading {i}</descriptor></mesh-heading>',
        '    <primary-institute url="https://www.nih.gov">National Institutes of Health</primary-institute>',
    ]
    for r in range(3):
        other = (i + r + 1) % 1000
        parts.append(
            f'    <related-topic url="https://medlineplus.gov/topic{other:05d}.html" '
            f'id="{other * 2}">Topic {other}</related-topic>'
        )
    for s in range(12):
        parts += [
            f'    <site title="{escape(_sentence(rng, 5))}" url="https://example.org/{stem}/{s}">',
            f"      <information-category>{CATEGORIES[s % len(CATEGORIES)]}</information-category>",
            "      <organization>Example Organization</organization>",
            "    </site>",
        ]
    parts.append("  </health-topic>")
    return "\n".join(parts)


def catalogue_xml(n: int, *, version: int = 1, date_generated: str = "11/24/2026 00:00:00", seed: int = 3) -> bytes:
    """N topics (N/2 English + their Spanish twins); ``version`` > 1 revises every tenth."""
    rng = random.Random(seed)
    pairs = n // 2
    topics = [_topic(i, spanish, rng, version) for i in range(pairs) for spanish in (False, True)]
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<health-topics total="{len(topics)}" '
        f'date-generated="{date_generated}">\n'
    )
    return (head + "\n".join(topics) + "\n</health-topics>\n").encode("utf-8")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    out = sys.argv[2] if len(sys.argv) > 2 else f"mplus_topics_{count}.xml"
    data = catalogue_xml(count)
    with open(out, "wb") as f:
        f.write(data)
    print(f"wrote {count} topics, {len(data):,} bytes to {out}")
