"""Knowledge Response as JSON and JSONP (HL7 Infobutton SOA IG R1, §4.4).

The JSON mirrors the Atom feed element for element (both are made from ``atom.feed``'s tree):
attributes become keys (``xml:lang`` → ``lang``), text goes in ``_value``, and ``category``,
``entry`` and ``link`` are always arrays, so MedlinePlus Connect clients'
``feed.entry[0].title._value`` keeps working.
"""

from __future__ import annotations

import re

from ..models import InvalidRequest
from . import safe_json
from .atom import Node

ALWAYS_ARRAYS = {"category", "entry", "link"}
# The function a JSONP answer calls when the request names none: ``None``, as MedlinePlus Connect
# answers, because clients in the field unwrap exactly that by string replacement
# (``str_replace('None(', '')``, then ``'});'`` → ``'}'``).
DEFAULT_CALLBACK = "None"
# One plain JavaScript identifier: no dots, so a callback can never name a method of an object
# on a page of this origin (same-origin method execution).
CALLBACK = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}\Z")


def to_dict(element: Node) -> dict:
    node: dict = dict(element.attrs)
    text = element.text
    if text and not element.children and text.strip():
        node["_value"] = text
    for child in element.children:
        name = child.tag
        child_node = to_dict(child)
        if name in ALWAYS_ARRAYS:
            node.setdefault(name, []).append(child_node)
        elif name in node:
            existing = node[name]
            node[name] = existing + [child_node] if isinstance(existing, list) else [existing, child_node]
        else:
            node[name] = child_node
    return node


def document(feed: Node) -> dict:
    body = to_dict(feed)
    for name in ALWAYS_ARRAYS - {"link"}:
        body.setdefault(name, [])
    return {"feed": body}


def serialise(feed: Node) -> bytes:
    # <, >, & and U+2028/2029 escaped (render.safe_json): request values echoed in categories
    # can never open markup or end a JavaScript line (JSONP).
    return safe_json.dumps(document(feed))


def check_callback(callback: str | None) -> str:
    """The JSONP function to call: ``DEFAULT_CALLBACK`` when none is sent; otherwise it must be
    one plain JavaScript identifier, and a bad one is never echoed."""
    if not callback:
        return DEFAULT_CALLBACK
    if not CALLBACK.match(callback):
        raise InvalidRequest("callback", "must be a JavaScript identifier such as handleResponse")
    return callback


def serialise_jsonp(feed: Node, callback: str, guard: bool = True) -> bytes:
    """``callback(<JSON>);``. With ``guard``, prefixed ``/**/``: a body that starts with a
    comment cannot be sniffed as another content type (Rosetta Flash, CVE-2014-4671); without it
    (MedlinePlus Connect's /service), clients that strip ``name(`` … ``);`` keep working."""
    return (b"/**/" if guard else b"") + callback.encode() + b"(" + serialise(feed) + b");"
