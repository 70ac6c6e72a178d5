from infobutton.cds.clinical import Subject
from infobutton.models import Code, CodeSystem, Criterion, Topic, TopicMatch
from infobutton.render import cds_cards


def test_summary_stays_under_140_characters():
    criterion = Criterion(code=Code(CodeSystem.ICD10CM, "C91.00"))
    matches = [TopicMatch(Topic(id=f"t{i}", title="A very long health topic title " * 2,
                                url=f"https://medlineplus.gov/t{i}.html", language="en"),
                          criterion, None, 0) for i in range(3)]
    card = cds_cards.card(Subject("Condition", "ALL", (criterion,)), matches, "https://ib.example.org/")
    assert len(card["summary"]) < 140 and card["summary"].endswith("\u2026")
    assert card["links"][-1]["url"].startswith("https://ib.example.org/application?")


def test_markdown_escape():
    assert cds_cards.escape_markdown("*a* [b](c)\n<d> x-ray 1.5") == "\\*a\\* \\[b\\](c) \\<d\\> x-ray 1.5"
