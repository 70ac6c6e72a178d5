"""The CDS Hooks sandbox's session (tests/cds/sandbox.py ``play``: discovery, patient-view,
order-select, feedback on every card, each in the sandbox's exact token and request shapes)
against a real ``infobutton serve`` on 127.0.0.1, configured by the sandbox recipe of docs/cds-hooks.md."""

from __future__ import annotations

import pytest

from ..serving import Serving
from . import sandbox

pytestmark = pytest.mark.gunicorn


def test_the_sandbox_gets_cards_and_its_feedback_is_accepted(tmp_path):
    env = {"INFOBUTTON_CDS_ISSUERS": sandbox.issuers(), "INFOBUTTON_CDS_CORS_ORIGINS": sandbox.ORIGIN}
    with Serving(tmp_path, env, workers=2) as served:
        seen = sandbox.play(served.base + "/cds-services")
    assert seen["services"] == ["infobutton-order-select", "infobutton-patient-view"]
    assert seen["patient-view"] == 200 and len(seen["cards"]) == 2, seen
    assert seen["order-select"] == 200
    assert seen["feedback"] == [200] * 4, seen
