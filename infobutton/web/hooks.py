"""Which request hooks the fast path (``web.cached_answers``) may go without.

A hook that runs on the knowledge routes is declared ``@plain_answer_safe`` when, for a plain
answer (GET or HEAD, no Origin, no If-None-Match, not HTML, not over TLS), it adds nothing or
the fast path does what it does itself. The fast path serves only while every such hook of the
app is declared: a hook added without the declaration sends every answer through Flask, so no
hook is ever skipped unnoticed, whatever its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

Hook = TypeVar("Hook", bound=Callable)
_SAFE = "plain_answer_safe"


def plain_answer_safe(hook: Hook) -> Hook:
    """Declare ``hook`` one the fast path may go without (see the module)."""
    setattr(hook, _SAFE, True)
    return hook


def all_safe(hooks: Iterable[Callable]) -> bool:
    """Whether every one of ``hooks`` is declared ``plain_answer_safe``."""
    return all(getattr(hook, _SAFE, False) for hook in hooks)
