"""Card uuids carry proof that we issued them; feedback for any other id is refused."""

import uuid

from infobutton.cds.card_ids import CardIds


def test_issued_ids_are_uuids_we_recognise_and_others_are_not():
    ids = CardIds("secret")
    card = ids.new()
    assert uuid.UUID(card).version == 8 and ids.issued(card) and ids.issued(card.upper())
    assert not CardIds("another deployment's secret").issued(card)
    assert not ids.issued(str(uuid.uuid4()))
    assert not ids.issued("not a uuid") and not ids.issued("")
    tampered = card[:-1] + ("0" if card[-1] != "0" else "1")
    assert not ids.issued(tampered)
    assert len({ids.new() for _ in range(100)}) == 100
