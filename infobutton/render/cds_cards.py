"""Topic matches as CDS Hooks 2.0 cards (§Card Attributes): one card per condition or order.

``summary`` under 140 characters, ``indicator`` info, ``source`` this service (it chose the
topics) with the first topic as a Coding, ``detail`` in GitHub-flavoured Markdown with every
EHR-supplied word escaped, saying per topic why it is there (layer and reason) and where its text
came from, and ``links`` of type absolute to the topic pages (both languages) and to our click
page, and ``overrideReasons`` (``cds.feedback.OVERRIDE_REASONS``) a clinician may pick when
dismissing it. ``uuid`` comes from ``new_id`` (signed ids: ``cds.card_ids``). A match found on
text (free text, or a display name the EHR sent) never makes a card: a card interrupts a
clinician, and text is too weak a reason to.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote, urlencode, urljoin

from ..cds.feedback import override_reasons
from ..models import Gender, KnowledgeRequest, Provenance, Subject, TopicMatch
from ..request import query_pairs
from . import attribution

TOPIC_SYSTEM = "https://medlineplus.gov/healthtopics.html"
MAX_SUMMARY = 139
# Inline specials only: our text never starts a line, so -, +, #, . and digits stay plain; with
# [ and ] escaped, ( ) and ! cannot form a link or an image.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~&|])")


def escape_markdown(text: str) -> str:
    """Text shown literally in Markdown: specials backslash-escaped, line breaks flattened."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join((text or "").split()))


def _url(url: str) -> str:
    """A URL safe inside a Markdown link target (no spaces, parentheses or angle brackets)."""
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def _shorten(text: str, limit: int = MAX_SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _subject_text(subject: Subject) -> str:
    codes = ", ".join(f"{c.code.system.label} {c.code.value}" for c in subject.criteria if c.code)
    if subject.label and codes:
        return f"{subject.label} ({codes})"
    return subject.label or codes


def page_url(
    subject: Subject, base_url: str, language: str = "en", age: float | None = None, gender: Gender | None = None
) -> str:
    """Our click page for the subject's codes, for the patient handout, in the patient context the
    card was chosen for (age in whole years, gender): the parameters as ``query_pairs`` writes them."""
    echo = (("patientPerson.administrativeGenderCode.c", gender.value),) if gender is not None else ()
    request = KnowledgeRequest(
        criteria=tuple(
            replace(c, display_name=None, original_text=None) for c in subject.criteria if c.code is not None
        ),
        age_years=None if age is None else int(age),
        echo=echo,
    )
    return urljoin(base_url, "application") + "?" + urlencode(query_pairs(request, language))


def from_text(match: TopicMatch) -> bool:
    """Whether the evidence for a match was text the caller sent: the free-text layer, a
    display-name match, or a criterion that had no code at all."""
    return match.provenance is Provenance.FREE_TEXT or match.from_text or match.criterion.code is None


def card_matches(matches: list[TopicMatch]) -> list[TopicMatch]:
    """The matches a card may show: none found on text."""
    return [m for m in matches if not from_text(m)]


def card(
    subject: Subject,
    matches: list[TopicMatch],
    base_url: str,
    age: float | None = None,
    gender: Gender | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict:
    """The card for one condition or order and its ranked topics (already ``card_matches``)."""
    first = matches[0].topic
    titles = ", ".join(m.topic.title for m in matches)
    lines = [f"Health topics for **{escape_markdown(_subject_text(subject))}**:", ""]
    links = []
    for match in matches:
        topic = match.topic
        line = f"- **[{escape_markdown(topic.title)}]({_url(topic.url)})**"
        if topic.meta_desc:
            line += f": {escape_markdown(topic.meta_desc)}"
        if topic.twin is not None and topic.twin.url:
            line += f" ([{escape_markdown(topic.twin.title)}, en español]({_url(topic.twin.url)}))"
        lines.append(line)
        lines.append(f"  - {attribution.WHY['en']}: {escape_markdown(attribution.why(match, 'en'))}")
        lines.append(f"  - {escape_markdown(attribution.credit(topic).sentence)}.")
        links.append(
            {
                "label": _shorten(f"{topic.title} ({attribution.site(topic.url)})", 100),
                "url": topic.url,
                "type": "absolute",
            }
        )
        if topic.twin is not None and topic.twin.url:
            label = f"{topic.twin.title} ({attribution.site(topic.twin.url)}, en español)"
            links.append({"label": _shorten(label, 100), "url": topic.twin.url, "type": "absolute"})
    if any(c.code is not None for c in subject.criteria):
        links.append(
            {
                "label": "Printable patient page",
                "url": page_url(subject, base_url, age=age, gender=gender),
                "type": "absolute",
            }
        )
    return {
        "uuid": new_id(),
        "summary": _shorten(f"Patient education: {titles}"),
        "indicator": "info",
        "detail": "\n".join(lines),
        "source": {
            "label": attribution.SERVICE_NAME,
            "url": base_url,
            "topic": {"system": TOPIC_SYSTEM, "code": first.id, "display": first.title},
        },
        "links": links,
        "overrideReasons": override_reasons(),
    }


def cards(
    answers: list[tuple[Subject, list[TopicMatch]]],
    base_url: str,
    age: float | None = None,
    gender: Gender | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict:
    """The CDS Hooks response: a card for every subject with topics not found on text, none for
    the others."""
    shown = [(subject, card_matches(matches)) for subject, matches in answers]
    return {"cards": [card(subject, matches, base_url, age, gender, new_id) for subject, matches in shown if matches]}
