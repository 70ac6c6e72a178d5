"""The flat ICD-10-CM tables answer exactly as simple-icd-10-cm does, for every item."""

import pytest
import simple_icd_10_cm as cm

from infobutton import terminology


@pytest.fixture(scope="module")
def table():
    return terminology.icd10cm()


def test_every_item_answers_as_the_library(table):
    names = cm.get_all_codes(with_dots=True)
    assert list(table.all_codes()) == names
    assert len(table) == len(set(names))
    undotted = cm.get_all_codes(with_dots=False)
    for code in (*dict.fromkeys(names), *(c for c in undotted if "." not in c)):
        assert table.is_valid_item(code) and cm.is_valid_item(code), code
        assert table.is_chapter(code) == cm.is_chapter(code), code
        assert table.is_block(code) == cm.is_block(code), code
        assert table.is_leaf(code) == cm.is_leaf(code), code
        assert table.description(code) == cm.get_description(code), code
        assert table.ancestors(code) == cm.get_ancestors(code), code
        assert table.is_code(code) == (not cm.is_chapter(code)), code
        below = tuple(a for a in cm.get_ancestors(code) if not cm.is_chapter(a))
        assert table.ancestors_below_chapter(code) == below, code


@pytest.mark.parametrize("code", ["", "C", "C9", "C91.99", "C9199", "c91.00", "NOPE", "C81-C96X", "XX", "B99.", "99"])
def test_unknown_items_are_unknown_as_in_the_library(table, code):
    assert table.is_valid_item(code) == cm.is_valid_item(code)
    assert table.is_chapter(code) == cm.is_chapter(code)
    assert table.is_block(code) == cm.is_block(code)
    assert table.is_code(code) == (cm.is_valid_item(code) and not cm.is_chapter(code))
    if not cm.is_valid_item(code):
        with pytest.raises(ValueError):
            table.description(code)
        with pytest.raises(ValueError):
            table.ancestors(code)


def test_a_block_that_is_one_category_shares_its_name(table):
    assert table.is_block("B99") and not table.is_leaf("B99")
    assert table.ancestors("B99.8") == ["B99", "B99", "1"]
