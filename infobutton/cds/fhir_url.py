"""Which FHIR server URLs a CDS call may make us read: parse, normalise, compare on path segments.

A ``fhirServer`` comes from the caller. String-prefix matching is bypassed by ``…/fhir/../admin``,
``http://allowed@other/``, ``allowed.example.org.evil.com`` and spellings of the same host
(``0x7f000001``, upper case, an explicit default port), so both the URL and the allow-listed bases
go through ``normalise`` and are compared as (scheme, host, port, path segments). A base is a
directory whether or not it ends in ``/`` (``join``), and a URL built under it is normalised and
compared again before it is fetched. Segments a server might resolve differently from us are
refused, not resolved: ``%2e`` (an encoded dot), ``%25`` (a double encoding such as ``%252e``) and
dot segments with path parameters (``..;``, which Tomcat-style servers read as ``..``). Pure.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}\Z")  # 0x7f000001, 127.1, 0177.0.0.1


class BadUrl(ValueError):
    """Not a URL we would read from; the message says why without echoing it."""


@dataclass(frozen=True)
class FhirUrl:
    scheme: str
    host: str  # lower case, IDNA (A-labels); an IP literal in its canonical form, IPv6 without []
    port: int
    segments: tuple[str, ...]  # path segments, dot segments resolved, unreserved escapes decoded
    slash: bool = field(default=True, compare=False)  # whether the path ends in / (not its identity)

    @property
    def url(self) -> str:
        """The URL we actually request: what was checked is what is fetched."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        path = "/".join(self.segments)
        return f"{self.scheme}://{host}{port}/{path}{'/' if path and self.slash else ''}"

    def join(self, relative: str) -> FhirUrl:
        """``relative`` (``Patient/p1``; no query) under this URL taken as a directory, with or
        without its trailing slash, normalised again; BadUrl unless the result lies under it."""
        joined = normalise(self.url.rstrip("/") + "/" + relative)
        if not joined.under(self):
            raise BadUrl("the path leaves its base")
        return joined

    def under(self, base: FhirUrl) -> bool:
        """Same origin, and ``base``'s path segments are a prefix of ours (a segment boundary)."""
        return (self.scheme, self.host, self.port) == (base.scheme, base.host, base.port) and self.segments[
            : len(base.segments)
        ] == base.segments

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost" or self.host.endswith(".localhost")


def _decode_unreserved(path: str) -> str:
    def one(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED_CHARS else "%" + match.group(1).upper()

    return _UNRESERVED.sub(one, path)


def _segments(path: str) -> tuple[str, ...]:
    """RFC 3986 §5.2.4 on segments; a ``..`` above the root is refused rather than dropped."""
    if "\\" in path or re.search(r"%(2f|5c|00)", path, re.IGNORECASE):
        raise BadUrl("an encoded slash, backslash or NUL in the path")
    if re.search(r"%(2e|25)", path, re.IGNORECASE):
        raise BadUrl("an encoded dot or percent sign in the path")
    out: list[str] = []
    for segment in _decode_unreserved(path).split("/"):
        if ";" in segment and segment.partition(";")[0] in ("", ".", ".."):
            raise BadUrl("a dot segment with path parameters")
        if segment in ("", "."):
            continue
        if segment == "..":
            if not out:
                raise BadUrl("the path climbs above the root")
            out.pop()
            continue
        out.append(segment)
    return tuple(out)


def _host(raw: str) -> str:
    host = unquote(raw).rstrip(".").lower()  # a trailing root dot names the same host
    if not host:
        raise BadUrl("no host")
    if host.startswith("["):
        if not host.endswith("]"):
            raise BadUrl("a malformed IPv6 literal")
        try:
            return ipaddress.IPv6Address(host[1:-1].split("%")[0]).compressed
        except ValueError:
            raise BadUrl("a malformed IPv6 literal") from None
    if _LEGACY_IPV4.match(host):
        try:  # what the resolver would connect to: inet_aton reads the same legacy spellings
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise BadUrl("a malformed IPv4 address") from None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise BadUrl("a host name that is not valid IDNA") from None
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", host):
        raise BadUrl("a host name with characters no DNS name has")
    return host


def normalise(url: str) -> FhirUrl:
    """A fhirServer (or an allow-listed base) as a FhirUrl; BadUrl when it is not a plain
    http(s) URL: no userinfo, no fragment, no query, a host, a valid port."""
    if not isinstance(url, str) or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise BadUrl("spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadUrl("not a URL with a valid port") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise BadUrl("not http or https")
    if "@" in parts.netloc:
        raise BadUrl("user information in the URL")
    if parts.fragment or "#" in url:
        raise BadUrl("a fragment")
    if parts.query or "?" in url:
        raise BadUrl("a query")
    if port == 0:
        raise BadUrl("port 0")
    has_port = port is not None or parts.netloc.endswith(":")
    netloc_host = parts.netloc.rsplit(":", 1)[0] if has_port else parts.netloc
    segments = _segments(parts.path)
    slash = parts.path.endswith("/") or not segments
    return FhirUrl(scheme, _host(netloc_host), port or DEFAULT_PORTS[scheme], segments, slash)


def under_any(url: FhirUrl, bases: tuple[FhirUrl, ...]) -> bool:
    return any(url.under(base) for base in bases)
