"""HL7 URL-based Implementation Guide (R4, 2014) parameters → KnowledgeRequest (pure).

Covers §2.1 (the knowledge request parameters), the multiple-instance rule (an index appended to
the parameter name: unsuffixed or 0 first, then 1, 2, …) and the deprecated
``mainSearchCriteria.c.*`` spelling. Unknown parameters are ignored, as the IG requires.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from . import terminology
from .models import AGE_GROUPS, MAX_AGE_YEARS, Criterion, Gender, InvalidRequest, KnowledgeRequest, Recipient

MAX_VALUE_LENGTH = 512
MAX_PARAMETERS = 200
MAX_CRITERIA = 20

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_CRITERION = re.compile(r"^mainSearchCriteria\.(?:v|c)\.(c|cs|dn|ot)(\d*)\Z", re.IGNORECASE)
_SUBTOPIC = re.compile(r"^subtopic\.v\.(c|cs|dn|ot)(\d*)\Z", re.IGNORECASE)

# Parameter names are matched case-insensitively; real clients vary (subtopic, subTopic).
_SINGLE = {
    name.lower(): name
    for name in (
        "informationRecipient",
        "informationRecipient.languageCode.c",
        "performer",
        "performer.languageCode.c",
        "patientPerson.administrativeGenderCode.c",
        "age.v.v",
        "age.v.u",
        "ageGroup.v.c",
        "ageGroup.v.cs",
        "ageGroup.v.dn",
        "taskContext.c.c",
        "encounter.c.c",
        "knowledgeResponseType",
        "callback",
    )
}

# Category schemes the Knowledge Response schema allows (KnowledgeResponse.xsd, categoryType).
ECHO_SCHEMES = {
    "informationRecipient": "informationRecipient",
    "informationRecipient.languageCode.c": "informationRecipient.languageCode.c",
    "performer": "performer",
    "performer.languageCode.c": "performer.languageCode",
    "patientPerson.administrativeGenderCode.c": "patientPerson.administrativeGenderCode.c",
    "ageGroup.v.c": "ageGroup.v.c",
    "ageGroup.v.cs": "ageGroup.v.cs",
    "ageGroup.v.dn": "ageGroup.v.dn",
    "taskContext.c.c": "taskContext.c.c",
    "encounter.c.c": "encounter.c.c",
}

_LANGUAGES = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "es": "es",
    "spa": "es",
    "sp": "es",
    "esp": "es",
    "spanish": "es",
    "espanol": "es",
}
_LANGUAGE_SHAPE = re.compile(r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*\Z")

# UCUM age units (IG §2.1.3 age.v.u; UCUM is case-sensitive: "A" is the ampere) → years, as
# (multiplier, divisor): one correctly rounded division (5 mo is 5/12, not 5 × 0.0833…), so an age
# in months or days lands on the same side of a rule's boundary as the same age in years.
_AGE_UNITS = {
    "a": (1, 1),
    "mo": (1, 12),
    "wk": (7, 365.25),
    "d": (1, 365.25),
    "h": (1, 365.25 * 24),
    "min": (1, 365.25 * 24 * 60),
}


def language(value: str, parameter: str = "informationRecipient.languageCode.c") -> str:
    """en or es from the spellings real clients send (en, EN, es-US, spa, sp); others fall
    back to English, which every topic has; a malformed tag is an error."""
    if not _LANGUAGE_SHAPE.match(value.strip()):
        raise InvalidRequest(parameter, f"not a language code: {value!r}; use en or es")
    primary = re.split(r"[-_]", value.strip().lower())[0]
    return _LANGUAGES.get(primary, "en")


def _recipient(value: str, parameter: str) -> Recipient:
    try:
        return Recipient(value.strip().upper())
    except ValueError:
        raise InvalidRequest(parameter, f"must be PAT, PROV or PAYOR, not {value!r}") from None


def _gender(value: str) -> Gender:
    text = value.strip().upper()
    text = {"FEMALE": "F", "MALE": "M", "U": "UN", "UNK": "UN"}.get(text, text)
    try:
        return Gender(text)
    except ValueError:
        raise InvalidRequest("patientPerson.administrativeGenderCode.c", f"must be F, M or UN, not {value!r}") from None


def age_in_years(value: str, unit: str | None) -> float:
    """age.v.v in the UCUM unit age.v.u (default a) as years."""
    try:
        number = float(value.strip())
    except ValueError:
        raise InvalidRequest("age.v.v", f"must be a number, not {value!r}") from None
    if number != number or number < 0:
        raise InvalidRequest("age.v.v", f"must be a non-negative number, not {value!r}")
    factor = _AGE_UNITS.get((unit or "a").strip())
    if factor is None:
        raise InvalidRequest("age.v.u", f"must be a UCUM unit of a, mo, wk, d, h or min, not {unit!r}")
    multiplier, divisor = factor
    years = number * multiplier / divisor
    if years > MAX_AGE_YEARS:
        raise InvalidRequest("age.v.v", f"{value} {unit or 'a'} is older than {MAX_AGE_YEARS} years")
    return years


def _code(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _criteria(found: dict[int, dict[str, str]]) -> tuple[Criterion, ...]:
    criteria = []
    for index in sorted(found):
        fields = found[index]
        suffix = str(index) if index else ""
        raw, system_text = fields.get("c"), fields.get("cs")
        dn, ot = fields.get("dn"), fields.get("ot")
        if raw and not system_text:
            raise InvalidRequest(
                f"mainSearchCriteria.v.cs{suffix}",
                f"a code system is required with mainSearchCriteria.v.c{suffix}={raw!r}",
            )
        if system_text and not raw and not (dn or ot):
            raise InvalidRequest(f"mainSearchCriteria.v.c{suffix}", "a code is required with its code system")
        code = None
        if raw and system_text:  # a code without its system was refused above
            system = terminology.code_system(system_text, f"mainSearchCriteria.v.cs{suffix}")
            code = terminology.make_code(system, raw)
        if code or dn or ot:
            criteria.append(Criterion(code=code, raw_code=raw, display_name=dn, original_text=ot))
    return tuple(criteria)


def parse(pairs: Iterable[tuple[str, str]]) -> KnowledgeRequest:
    """Parse (name, value) pairs, as a MultiDict yields them, into a KnowledgeRequest."""
    found: dict[int, dict[str, str]] = {}
    single: dict[str, str] = {}
    subtopics: list[str] = []
    echo: list[tuple[str, str]] = []
    count = 0
    for name, value in pairs:
        count += 1
        label = name[:80] or "(a parameter with no name)"  # what a problem names
        if count > MAX_PARAMETERS:
            raise InvalidRequest("request", f"more than {MAX_PARAMETERS} parameters", 413)
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidRequest(label, f"value longer than {MAX_VALUE_LENGTH} characters", 413)
        if _CONTROL.search(value):
            raise InvalidRequest(label, "contains control characters")
        value = value.strip()
        if not value:
            continue
        if m := _CRITERION.match(name):
            part, index = m.group(1).lower(), int(m.group(2) or 0)
            if index >= 1000:
                raise InvalidRequest(label, "instance index too large")
            found.setdefault(index, {}).setdefault(part, value)
            if len(found) > MAX_CRITERIA:
                raise InvalidRequest("mainSearchCriteria", f"more than {MAX_CRITERIA} criteria", 413)
            echo.append((f"mainSearchCriteria.v.{part}", value))
            continue
        if m := _SUBTOPIC.match(name):
            part = m.group(1).lower()
            if part in ("c", "ot", "dn"):
                subtopics.append(value)
            echo.append((f"subTopic.v.{part}", value))
            continue
        canonical = _SINGLE.get(name.lower())
        if canonical is None or canonical in single:
            continue
        single[canonical] = value
        if canonical in ECHO_SCHEMES:
            echo.append((ECHO_SCHEMES[canonical], value))

    criteria = _criteria(found)
    if not criteria:
        raise InvalidRequest(
            "mainSearchCriteria.v.c",
            "required: send a code with mainSearchCriteria.v.c and mainSearchCriteria.v.cs, "
            "or text in mainSearchCriteria.v.ot",
        )

    lang = "en"
    for parameter in ("informationRecipient.languageCode.c", "performer.languageCode.c"):
        if parameter in single:
            lang = language(single[parameter], parameter)
            break

    age = None
    if "age.v.v" in single:
        age = age_in_years(single["age.v.v"], single.get("age.v.u"))
    elif "age.v.u" in single:
        raise InvalidRequest("age.v.v", "required with age.v.u")

    age_group = single.get("ageGroup.v.c")
    if age_group is not None:
        age_group = age_group.upper()
        if age_group not in AGE_GROUPS:
            raise InvalidRequest("ageGroup.v.c", f"unknown MeSH age group {age_group!r}")

    return KnowledgeRequest(
        criteria=criteria,
        language=lang,
        recipient=_recipient(single["informationRecipient"], "informationRecipient")
        if "informationRecipient" in single
        else None,
        performer=_recipient(single["performer"], "performer") if "performer" in single else None,
        gender=_gender(single["patientPerson.administrativeGenderCode.c"])
        if "patientPerson.administrativeGenderCode.c" in single
        else None,
        age_years=age,
        age_group=age_group,
        # ActTaskCode / ActEncounterCode: any code is accepted (an unknown one is echoed and
        # matches no rule limited to a task or setting), in the codes' upper case.
        task_context=_code(single.get("taskContext.c.c")),
        encounter=_code(single.get("encounter.c.c")),
        subtopics=tuple(subtopics),
        response_type=single.get("knowledgeResponseType"),
        callback=single.get("callback"),
        echo=tuple(echo),
    )


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def query_pairs(request: KnowledgeRequest, language: str, response_type: str = "text/html") -> list[tuple[str, str]]:
    """The inverse of ``parse``: the request's parameters in ``language``, for the links a page
    or a FHIR Bundle carries.

    Rebuilt (not copied from the URL) so a cached answer's links depend only on what the cache key
    holds; instances keep their index suffixes (URL-IG §2.1: unsuffixed, then 1, 2 …).
    """
    pairs: list[tuple[str, str]] = []
    for index, criterion in enumerate(request.criteria):
        suffix = str(index) if index else ""
        if criterion.code is not None:
            pairs.append((f"mainSearchCriteria.v.c{suffix}", criterion.raw_code or criterion.code.value))
            pairs.append((f"mainSearchCriteria.v.cs{suffix}", criterion.code.system.oid))
        if criterion.display_name:
            pairs.append((f"mainSearchCriteria.v.dn{suffix}", criterion.display_name))
        if criterion.original_text:
            pairs.append((f"mainSearchCriteria.v.ot{suffix}", criterion.original_text))
    parameter_of = {scheme: name for name, scheme in ECHO_SCHEMES.items()}
    for scheme, value in request.echo:
        name = parameter_of.get(scheme)
        if name is None and scheme.startswith("subTopic.v."):
            name = scheme
        if name and not name.endswith("languageCode.c"):
            pairs.append((name, value))
    if request.age_years is not None:
        pairs += [("age.v.v", _number(request.age_years)), ("age.v.u", "a")]
    pairs.append(("informationRecipient.languageCode.c", language))
    pairs.append(("knowledgeResponseType", response_type))
    return pairs
