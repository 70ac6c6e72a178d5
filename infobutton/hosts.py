"""Which host a URL names, and whether it is MedlinePlus: the one test every surface uses before
crediting MedlinePlus or NLM with anything (content import, upstream answers, attribution)."""

from __future__ import annotations

from urllib.parse import urlsplit


def host(url: str) -> str:
    """The host a URL points to, lower case, without a leading www; "" when it has none or the
    URL is malformed (an unclosed IPv6 bracket makes ``urlsplit`` raise)."""
    try:
        name = urlsplit(url or "").hostname or ""
    except ValueError:
        return ""
    return name.removeprefix("www.")


def on_medlineplus(url: str) -> bool:
    """Whether a URL is on medlineplus.gov (or a subdomain), not on a look-alike host."""
    name = host(url)
    return name == "medlineplus.gov" or name.endswith(".medlineplus.gov")
