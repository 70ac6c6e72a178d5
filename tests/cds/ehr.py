"""A test EHR (CDS client): an ES384 key pair, its JWKS served by a real server on 127.0.0.1, and
CDS Hooks JWTs signed with it (test helper)."""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from http.server import BaseHTTPRequestHandler

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ..local_server import LocalServer

ISS = "https://ehr.example.org"
KID = "ehr-key-1"


@cache
def private_key(name: str = "ehr") -> ec.EllipticCurvePrivateKey:
    """One key pair per name for the whole run (generating keys is the slow part)."""
    return ec.generate_private_key(ec.SECP384R1())


def jwk(name: str = "ehr", kid: str = KID) -> dict:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key(name).public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "ES384"}


def token(
    aud: str,
    *,
    iss: str = ISS,
    key: str = "ehr",
    kid: str = KID,
    jku: str | None = None,
    lifetime: int = 300,
    jti: str | None = None,
    drop: tuple[str, ...] = (),
    alg: str = "ES384",
    claims: dict | None = None,
    headers: dict | None = None,
) -> str:
    """``claims`` and ``headers`` replace or add values as given, of any JSON type."""
    now = int(time.time())
    body = {"iss": iss, "aud": aud, "exp": now + lifetime, "iat": now, "jti": jti or str(uuid.uuid4())}
    for name in drop:
        body.pop(name)
    body.update(claims or {})
    head = {"alg": alg, "kid": kid, "typ": "JWT", **({"jku": jku} if jku else {}), **(headers or {})}
    return sign(head, body, key)


def sign(header: dict, claims: dict, key: str = "ehr") -> str:
    """A JWS signed as ``header["alg"]`` says (ES384, or none) over exactly these JSON values:
    ``jwt.encode`` refuses some wrong types (a numeric iss, a list kid) before signing."""
    encode = jwt.utils.base64url_encode
    signing_input = encode(json.dumps(header).encode()) + b"." + encode(json.dumps(claims).encode())
    if header.get("alg") == "none":
        return signing_input.decode() + "."
    algorithm = jwt.algorithms.get_default_algorithms()[header["alg"]]
    return (signing_input + b"." + encode(algorithm.sign(signing_input, private_key(key)))).decode()


class JwksServer(LocalServer):
    """GET /jwks.json → the test EHR's JWKS (``keys`` may be changed by the test)."""

    def __init__(self):
        self.keys = [jwk()]
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.hits += 1
                data = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/jwks.json"


def issuers(jwks_url: str | None = None, fhir_servers: list[str] | None = None, **extra) -> str:
    """INFOBUTTON_CDS_ISSUERS for the test EHR."""
    entry = {"fhir_servers": fhir_servers or [], **extra}
    if jwks_url:
        entry["jwks_url"] = jwks_url
    if not (jwks_url or "keys" in extra or "jku" in extra):
        entry["keys"] = {"keys": [jwk()]}
    return json.dumps({ISS: entry})
