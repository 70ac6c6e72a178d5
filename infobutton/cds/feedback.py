"""CDS Hooks 2.0 §Feedback: the override reasons our cards offer, and a feedback body → the items
we keep, or InvalidRequest naming the field. Pure.

Per item: ``card`` is a uuid this service issued (``card_ids``); ``outcome`` accepted or
overridden; ``accepted`` requires ``acceptedSuggestions`` (a non-empty array of ``{"id": …}``);
``overridden`` may carry ``overrideReason`` with ``reason`` (one of the card's
``overrideReasons``) and/or ``userComment``, never empty; ``outcomeTimestamp`` an ISO 8601
instant with a time zone. No string may hold a NUL or a lone surrogate. What is kept: the card,
the outcome, how many suggestions, the reason code and the instant; never the comment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ..models import InvalidRequest
from ..text import check_storable

# A system URI this project owns (it has no canonical web home; a URL under a deployment's own
# host would change with the host): see docs/decisions.md.
OVERRIDE_SYSTEM = "urn:infobutton:cds-hooks:override-reason"
OVERRIDE_REASONS = (
    ("not-relevant", "Not relevant to this patient"),
    ("already-known", "Patient already has this information"),
    ("patient-declined", "Patient declined education material"),
    ("wrong-topic", "Topic does not match the condition or order"),
)
OVERRIDE_CODES = frozenset(code for code, _ in OVERRIDE_REASONS)
OUTCOMES = ("accepted", "overridden")
MAX_ITEMS = 20  # feedback items per POST
MAX_BYTES = 64 * 1024  # feedback body per POST
MAX_COMMENT = 2000


def override_reasons() -> list[dict]:
    """The ``overrideReasons`` every card carries (Codings)."""
    return [{"system": OVERRIDE_SYSTEM, "code": code, "display": display} for code, display in OVERRIDE_REASONS]


def _instant(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidRequest(where, "required: an ISO 8601 instant with a time zone")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(where, "required: an ISO 8601 instant with a time zone") from None
    if moment.tzinfo is None:
        raise InvalidRequest(where, "needs a time zone (e.g. Z or +01:00)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _accepted(item: dict, where: str) -> int:
    suggestions = item.get("acceptedSuggestions")
    if not isinstance(suggestions, list) or not suggestions:
        raise InvalidRequest(f"{where}.acceptedSuggestions", "required when outcome is accepted: a non-empty array")
    for j, suggestion in enumerate(suggestions):
        if not isinstance(suggestion, dict) or not isinstance(suggestion.get("id"), str) or not suggestion["id"]:
            raise InvalidRequest(f"{where}.acceptedSuggestions[{j}]", 'must be an object {"id": "…"}')
    if item.get("overrideReason") is not None:
        raise InvalidRequest(f"{where}.overrideReason", "only with outcome overridden")
    return len(suggestions)


def _override(item: dict, where: str) -> str | None:
    if item.get("acceptedSuggestions") is not None:
        raise InvalidRequest(f"{where}.acceptedSuggestions", "only with outcome accepted")
    reason = item.get("overrideReason")
    if reason is None:
        return None
    where = f"{where}.overrideReason"
    if not isinstance(reason, dict) or not (reason.get("reason") is not None or reason.get("userComment")):
        raise InvalidRequest(where, "must be an object with reason (a Coding) and/or userComment")
    comment = reason.get("userComment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise InvalidRequest(f"{where}.userComment", f"must be a string of at most {MAX_COMMENT} characters")
    coding = reason.get("reason")
    if coding is None:
        return None
    if (
        not isinstance(coding, dict)
        or not isinstance(coding.get("system"), str)
        or not isinstance(coding.get("code"), str)
    ):
        raise InvalidRequest(f"{where}.reason", "must be a Coding with system and code")
    if coding["system"] != OVERRIDE_SYSTEM or coding["code"] not in OVERRIDE_CODES:
        raise InvalidRequest(f"{where}.reason", "must be one of the card's overrideReasons")
    return coding["code"]


def items(body: object, issued: Callable[[str], bool]) -> list[dict]:
    """Validated feedback, reduced to what we keep; ``issued(card)`` says whether we issued it."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        raise InvalidRequest("feedback", "must be a non-empty array")
    if len(body["feedback"]) > MAX_ITEMS:
        raise InvalidRequest("feedback", f"at most {MAX_ITEMS} items per request")
    check_storable(body)
    kept = []
    for i, item in enumerate(body["feedback"]):
        where = f"feedback[{i}]"
        if not isinstance(item, dict):
            raise InvalidRequest(where, "must be an object")
        card = item.get("card")
        if not isinstance(card, str) or not issued(card):
            raise InvalidRequest(f"{where}.card", "must be the uuid of a card this service issued")
        outcome = item.get("outcome")
        if outcome not in OUTCOMES:
            raise InvalidRequest(f"{where}.outcome", "must be accepted or overridden")
        timestamp = _instant(item.get("outcomeTimestamp"), f"{where}.outcomeTimestamp")
        accepted, code = (_accepted(item, where), None) if outcome == "accepted" else (0, _override(item, where))
        kept.append(
            {
                "card": card.lower(),
                "outcome": outcome,
                "accepted": accepted,
                "system": OVERRIDE_SYSTEM if code else None,
                "code": code,
                "timestamp": timestamp,
            }
        )
    return kept
