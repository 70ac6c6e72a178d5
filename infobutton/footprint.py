"""How many bytes a cached value holds, roughly: what the per-worker caches count against their
byte budgets (``knowledge``, ``usage``, ``content.upstream``). Pure.

Strings and bytes count their real size (``sys.getsizeof``: a non-ASCII character may take four
bytes); tuples, lists, sets, dicts and dataclasses their slots and what they hold. Numbers,
enums, None and booleans count nothing (small and shared). An object reached twice counts twice:
an overestimate, which a budget can afford.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from enum import Enum

OBJECT = 56  # a small object's own header and slots, beside what it refers to


def footprint(value: object) -> int:
    """Approximate bytes ``value`` holds (itself and everything it refers to)."""
    kind: type = type(value)
    if kind is str or kind is bytes:
        return sys.getsizeof(value)
    if value is None or isinstance(value, (bool, int, float, Enum)):
        return 0
    if isinstance(value, (tuple, list, set, frozenset)):
        return sys.getsizeof(value) + sum(map(footprint, value))
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(footprint(k) + footprint(v) for k, v in value.items())
    names = _field_names(kind)
    if names:
        return OBJECT + sum(footprint(getattr(value, name)) for name in names)
    return sys.getsizeof(value)


@functools.cache  # one entry per type it meets: a handful
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names (none for any other type), worked out once per type."""
    return tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()
