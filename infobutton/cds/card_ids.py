"""Card uuids that say we issued them: half random, half an HMAC of that half, in UUID version 8
form. Feedback (§Feedback) names a card by uuid; one we did not issue is refused without
storing anything, so made-up ids cannot fill the feedback table. Pure given the key."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid


class CardIds:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(b"infobutton cds card id\0" + secret.encode()).digest()

    def _mac(self, head: bytes) -> bytes:
        mac = bytearray(hmac.new(self._key, head, hashlib.sha256).digest()[:8])
        mac[0] = (mac[0] & 0x3F) | 0x80  # RFC 9562 variant bits
        return bytes(mac)

    def new(self) -> str:
        head = bytearray(os.urandom(8))
        head[6] = (head[6] & 0x0F) | 0x80  # version 8: custom
        return str(uuid.UUID(bytes=bytes(head) + self._mac(bytes(head))))

    def issued(self, value: str) -> bool:
        try:
            raw = uuid.UUID(value).bytes
        except (ValueError, TypeError, AttributeError):
            return False
        return hmac.compare_digest(raw[8:], self._mac(raw[:8]))
