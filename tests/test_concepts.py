"""Automatic concept matching (pure): whole topic names in terminology text, never single words.

The topics are real MedlinePlus titles (../shared/medlineplus/topic-index-2026-10.tsv); the texts are
real ICD-10-CM titles, so each row is a case a clinician would judge.
"""

import pytest

from infobutton.concepts import ConceptIndex, Text, names_of, stem
from infobutton.models import Topic

TITLES = [
    "Leukemia",
    "Acute Lymphocytic Leukemia",
    "Acute Myeloid Leukemia",
    "Chronic Myeloid Leukemia",
    "Chronic Lymphocytic Leukemia",
    "Diabetes Type 1",
    "Diabetes Type 2",
    "Diabetes Insipidus",
    "High Blood Pressure",
    "Pulmonary Hypertension",
    "Breast Cancer",
    "Colorectal Cancer",
    "Liver Cancer",
    "Bile Duct Cancer",
    "Chickenpox",
    "Whooping Cough",
    "Hepatitis A",
    "Hepatitis C",
    "Hodgkin Lymphoma",
    "Lymphoma",
    "Measles",
    "Rubella",
    "Myositis",
    "Alcohol Use Disorder (AUD)",
    "Enlarged Prostate (BPH)",
    "COVID-19 (Coronavirus Disease 2019)",
    "C. diff Infections",
    "Chronic Kidney Disease",
    "Heart Failure",
    "Depression",
    "Melanoma",
    "Psoriasis",
    "Psoriatic Arthritis",
    "HIV",
    "Alzheimer's Disease",
]


def make(title, **extra):
    slug = "".join(ch for ch in title.lower() if ch.isalnum())
    return Topic(
        id=slug, title=title, url=f"https://medlineplus.gov/{slug}.html", language="en", source="index", **extra
    )


TOPICS = [make(t) for t in TITLES]
TOPICS.append(make("Acute Lymphocytic Leukemia Alias", also_called=("ALL",)))
INDEX = ConceptIndex(TOPICS)


def found(text):
    return [m.topic_id for m in INDEX.match(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # whole concepts, in the words ICD-10-CM uses
        ("Type 2 diabetes mellitus without complications", ["diabetestype2"]),
        ("Type 1 diabetes mellitus with hyperglycemia", ["diabetestype1"]),
        ("Essential (primary) hypertension", ["highbloodpressure"]),
        ("Malignant neoplasm of unspecified site of right female breast", ["breastcancer"]),
        ("Malignant neoplasm of colon, unspecified", ["colorectalcancer"]),
        ("Varicella without complication", ["chickenpox"]),
        ("Whooping cough due to Bordetella pertussis without pneumonia", ["whoopingcough"]),
        ("Enterocolitis due to Clostridioides difficile, not specified as recurrent", ["cdiffinfections"]),
        ("Benign prostatic hyperplasia without lower urinary tract symptoms", ["enlargedprostatebph"]),
        ("COVID-19", ["covid19coronavirusdisease2019"]),
        ("Alzheimer's disease, unspecified", ["alzheimersdisease"]),
        ("Human immunodeficiency virus [HIV] disease", ["hiv"]),
        ("Acute hepatitis A without hepatic coma", ["hepatitisa"]),
        ("Acute hepatitis C", ["hepatitisc"]),
        ("Hodgkin lymphoma, unspecified", ["hodgkinlymphoma"]),
        ("Non-Hodgkin lymphoma, unspecified", ["lymphoma"]),
        # the most specific concept hides the one it contains
        ("Primary pulmonary hypertension", ["pulmonaryhypertension"]),
        ("Acute myeloblastic leukemia, not having achieved remission", ["acutemyeloidleukemia"]),
        ("Arthropathic psoriasis, unspecified", ["psoriaticarthritis"]),
        # modifiers never count alone; a single shared word is no evidence
        ("Acute upper respiratory infection, unspecified", []),
        ("Chronic obstructive pulmonary disease, unspecified", []),
        ("Other chronic pain", []),
        # abbreviations only in upper case, and only where the text also has lower case
        ("Triplet, all born outside hospital", []),
        ("ALL OTHER CONDITIONS", []),
        # masked words do not describe the patient's condition
        ("Hypertensive heart disease without heart failure", ["highbloodpressure"]),
        ("Unspecified malignant neoplasm of skin of breast", []),
        ("Secondary malignant neoplasm of liver and intrahepatic bile duct", []),
        ("Benign neoplasm of right breast", []),
        ("Atypical chronic myeloid leukemia, BCR/ABL-negative", []),  # not CML: no Philadelphia chromosome
        # false friends: the words of a topic's name, meaning another disease
        ("Rubella [German measles]", ["rubella"]),
        ("Myositis ossificans traumatica, right thigh", []),
        ("Neonatal cerebral depression", []),
        # about someone else's disease, or none
        ("Family history of malignant neoplasm of breast", []),
        ("Encounter for screening for malignant neoplasm of colon", []),
        ("Genetic susceptibility to malignant neoplasm of breast", []),
        ("Contact with and (suspected) exposure to varicella", []),
    ],
)
def test_icd10cm_titles(text, expected):
    assert found(text) == expected


def test_abbreviation_as_an_also_called_name_matches_upper_case_only():
    assert "acutelymphocyticleukemiaalias" in found("Acute lymphoblastic leukemia [ALL]")
    assert "acutelymphocyticleukemiaalias" not in found("Acute lymphoblastic leukemia, all sites")


def test_exact_name_comes_first_and_evidence_is_kept():
    matches = INDEX.match("leukemia")
    assert [m.topic_id for m in matches] == ["leukemia"]
    assert matches[0].exact and matches[0].name.text == "Leukemia" and matches[0].name.kind == "title"


def test_names_split_parenthesised_aliases_and_read_mesh_neoplasms_as_cancer():
    topic = make("Alcohol Use Disorder (AUD)", mesh_headings=(("D001", "Breast Neoplasms"),))
    names = {n.text: n for n in names_of(topic)}
    assert set(names) == {"Alcohol Use Disorder", "AUD", "Breast Neoplasms"}
    assert names["AUD"].required == (("aud", True),)
    assert ("cancer", False) in names["Breast Neoplasms"].required
    index = ConceptIndex([topic])
    assert [m.topic_id for m in index.match("Malignant neoplasm of left breast")] == [topic.id]
    assert index.match("Benign neoplasm of left breast") == []  # MeSH "Neoplasms" is never benign here


def test_withdrawn_topics_and_modifier_only_names_are_not_indexed():
    gone = make("Glaucoma", status="withdrawn")
    vague = make("Chronic Disease")
    index = ConceptIndex([gone, vague])
    assert index.match("Primary open-angle glaucoma") == []
    assert index.match("Chronic disease of the liver") == []
    assert len(index) == 0


def test_stem_and_text_reading():
    assert [stem(w) for w in ("Syndromes", "Infections", "Arteries", "abscess", "herpes")] == [
        "syndrome",
        "infection",
        "artery",
        "abscess",
        "herpe",
    ]
    read = Text.read("Malignant neoplasm of colon")
    assert {t.value for t in read.tokens} >= {"malignant", "neoplasm", "colon", "cancer", "colorectal"}


def test_a_mesh_heading_does_not_stand_beside_a_topic_named_by_the_same_words():
    leukemia = make("Leukemia")
    childhood = make("Childhood Leukemia", mesh_headings=(("D007938", "Leukemia"),))
    index = ConceptIndex([leukemia, childhood])
    assert [m.topic_id for m in index.match("Plasma cell leukemia in remission")] == ["leukemia"]


def test_not_the_patients_finds_what_the_case_insensitive_pattern_finds():
    """The faster search (lower-cased ASCII) answers as ``re.IGNORECASE`` does, for every
    ICD-10-CM title and for text that is not ASCII."""
    import re

    from infobutton import terminology
    from infobutton.concepts import NOT_THE_PATIENTS, AnyCase

    reference = re.compile(NOT_THE_PATIENTS.pattern, re.IGNORECASE)
    texts = sorted(terminology.titles()) + [
        "FAMILY HISTORY of diabetes",
        "Pseudo-gout",
        "pseudogout",
        "Encounter For screening",
        "\u017fcreening for diabetes",  # long s: IGNORECASE folds it to s
        "Sj\u00f6gren syndrome, suspected",
        "Sj\u00f6gren syndrome",
        "",
    ]
    assert [bool(NOT_THE_PATIENTS.search(t)) for t in texts] == [bool(reference.search(t)) for t in texts]
    with pytest.raises(ValueError):
        AnyCase("Family history")
