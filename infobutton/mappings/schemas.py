"""The admin API's inputs as pydantic models: checked by type at the edge, and the source of the
OpenAPI schemas (``mappings.openapi``).

A mapping rule is the exception: ``MappingInput`` only describes it for the OpenAPI document
(its limits are ``validation``'s constants); the API checks a rule, as every other way in does,
with ``validation.validate``.

``body`` and ``query`` turn a pydantic ``ValidationError`` into the domain error: a body gives
422 (``ValidationFailed``, one entry per bad field), a query 400 naming the parameter. Values are
never echoed: a message says what was expected, not what came. Meaning (is the code real, does
the topic exist) stays with the services; a model only says what shape each value has.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from ..models import MAX_AGE_YEARS, ROLES, Gender, InvalidRequest, Scope
from .constraints import LIMITS
from .validation import MAX_CODES, MAX_PRIORITY, MAX_REASON_LENGTH, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def _plain_text(value: object) -> object:
    """NUL cannot be stored (PostgreSQL text) and a lone surrogate cannot be written as UTF-8:
    refuse both here rather than fail later."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul", "must not contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise PydanticCustomError("unicode", "must be valid Unicode text") from None
    return value


def _blank_is_none(value: object) -> object:
    """An empty string means 'not given' (forms and hand-written JSON send it)."""
    return None if isinstance(value, str) and not value.strip() else value


def _blank_is_zero(value: object) -> object:
    return 0 if isinstance(value, str) and not value.strip() else value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _upper_codes(value: object) -> object:
    """A context limit's codes as sent: null is none, and case does not matter (``pat`` is PAT);
    the service sorts them and drops repeats."""
    return _codes(value, str.upper)


def _lower_codes(value: object) -> object:
    return _codes(value, str.lower)  # language tags: EN is en


def _codes(value: object, case) -> object:
    if value is None:
        return []
    if isinstance(value, list):
        return [case(item.strip()) if isinstance(item, str) else item for item in value]
    return value


Text = Annotated[str, BeforeValidator(_plain_text)]
# The context limits (``constraints.LIMITS``): each a list of codes from its HL7 or MeSH list
# (repeats allowed, and dropped; at most MAX_CODES items).
_AUDIENCES, _TASKS, _SETTINGS, _LANGUAGES, _AGE_GROUPS = (tuple(limit.choices) for limit in LIMITS)
Audiences = Annotated[list[Literal[_AUDIENCES]], BeforeValidator(_upper_codes)]  # type: ignore[valid-type]
Tasks = Annotated[list[Literal[_TASKS]], BeforeValidator(_upper_codes)]  # type: ignore[valid-type]
Settings = Annotated[list[Literal[_SETTINGS]], BeforeValidator(_upper_codes)]  # type: ignore[valid-type]
Languages = Annotated[list[Literal[_LANGUAGES]], BeforeValidator(_lower_codes)]  # type: ignore[valid-type]
AgeGroups = Annotated[list[Literal[_AGE_GROUPS]], BeforeValidator(_upper_codes)]  # type: ignore[valid-type]
Age = Annotated[
    Annotated[float, Field(ge=0, le=MAX_AGE_YEARS, allow_inf_nan=False)] | None, BeforeValidator(_blank_is_none)
]


def _limit(what: str):
    return Field([], max_length=MAX_CODES, description=f"Only for these {what}; empty: any")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


# -- bodies ----------------------------------------------------------------------------------


class MappingInput(_Body):
    """A mapping rule as created or changed (``POST /admin/api/mappings``, ``PUT …/{id}``)."""

    code_system: Text = Field(
        description="OID, FHIR URI or name (ICD-10-CM)", examples=["ICD-10-CM", "2.16.840.1.113883.6.96"]
    )
    code: Text = Field(examples=["C91.0"])
    topic_id: Text = Field(description="An active English topic", examples=["leukemia"])
    scope: Literal[tuple(s.value for s in Scope)] = Scope.DESCENDANTS.value  # type: ignore[valid-type]
    priority: Annotated[int, BeforeValidator(_blank_is_zero)] = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
    min_age: Age = Field(None, description="Inclusive, years")
    max_age: Age = Field(None, description="Exclusive, years")
    gender: Annotated[
        Literal[tuple(g.value for g in Gender)] | None,  # type: ignore[valid-type]
        BeforeValidator(_blank_is_none),
        BeforeValidator(_upper),
    ] = None
    reason: Text = Field("", max_length=MAX_REASON_LENGTH)
    audiences: Audiences = _limit("readers (informationRecipient, else performer)")
    tasks: Tasks = _limit("HL7 ActTaskCode tasks (taskContext.c.c)")
    settings: Settings = _limit("HL7 ActEncounterCode care settings (encounter.c.c)")
    languages: Languages = _limit("request languages")
    age_groups: AgeGroups = _limit("MeSH age groups (ageGroup.v.c, or the group age.v.v falls in)")
    change_reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log")
    revision: Text | None = Field(None, description="Instead of If-Match")
    id: int | None = None
    code_system_oid: Text | None = None


class TokenInput(_Body):
    """A token to create (``POST /admin/api/tokens``)."""

    name: Text = Field(min_length=1, max_length=80, description="Who holds it (unique)")
    role: Literal[ROLES]  # type: ignore[valid-type]


class SuggestionKey(_Body):
    """Which suggestion to accept or reject."""

    code_system: Text = "ICD-10-CM"
    code: Text = Field(examples=["E11"])
    topic_id: Text = Field(examples=["diabetestype2"])
    reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why (rejections)")
    change_reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log (accept)")


class RestoreInput(_Body):
    reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log")


# -- query parameters ------------------------------------------------------------------------

Limit = Annotated[int, Field(ge=1, le=500, description="Page size")]
Offset = Annotated[int, Field(ge=0, le=10**9, description="Items to skip")]
Days = Annotated[int, Field(ge=1, le=3650, description="Days back, today included")]
MAX_GAPS = 1000  # codes one gap report lists


class TopicsQuery(_Query):
    q: Text = Field("", description="Text in the title, id or also-called names")
    limit: Limit = 50


class MappingsQuery(_Query):
    code_system: Text | None = Field(None, description="OID, URI or name")
    code: Text = Field("", description="Exact code")
    topic_id: Text | None = Field(None, description="Exact topic id")
    q: Text | None = Field(None, description="Text search")
    limit: Limit = 50
    offset: Offset = 0


class ReasonQuery(_Query):
    reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log")


class ImportQuery(_Query):
    dry_run: bool = Field(False, description="true: return the diff without writing")
    mode: Literal["merge", "replace"] = Field(
        "merge", description="merge adds and updates; replace also removes rules the CSV lacks"
    )
    force: bool = Field(
        False,
        description="true: let a replace remove more than 10 mappings or half of them (refused with 409 otherwise)",
    )
    reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log")
    base_version: int | None = Field(
        None,
        ge=0,
        le=10**12,
        description="Write only if the mappings are still at this version (the one a reviewed dry run showed)",
    )


class AuditQuery(_Query):
    mapping_id: int | None = Field(None, ge=1, le=10**12, description="One mapping's history")
    version: int | None = Field(None, ge=1, le=10**12, description="One version's changes")
    limit: Limit = 50
    offset: Offset = 0


class PageQuery(_Query):
    limit: Limit = 50
    offset: Offset = 0


class GapsQuery(_Query):
    days: Days = 30
    include_mapped: bool = Field(False, description="Also codes mapped since")
    limit: Annotated[int, Field(ge=1, le=MAX_GAPS, description="At most this many codes")] = 200


class CoverageQuery(_Query):
    chapter: Annotated[str, Field(pattern=r"^([1-9]|1[0-9]|2[0-2])$")] | None = Field(
        None, description="An ICD-10-CM chapter number: its categories instead of every chapter", examples=["19"]
    )


class SuggestionsQuery(_Query):
    codes: Text | None = Field(None, description="ICD-10-CM codes, comma-separated", examples=["E11.9,C91.00"])
    prefix: Text | None = Field(None, description="Every billable ICD-10-CM code under this prefix", examples=["E11"])
    gaps: bool = Field(False, description="true: the gap report's codes")
    days: Days = 30


class RejectionQuery(_Query):
    code_system: Text = Field("ICD-10-CM", description="OID, URI or name (default ICD-10-CM)")
    code: Text = Field(description="The rejected code")
    topic_id: Text = Field(description="The rejected topic")
    reason: Text = Field("", max_length=MAX_REASON_LENGTH, description="Why, for the audit log")


BODIES: list[type[BaseModel]] = [MappingInput, TokenInput, SuggestionKey, RestoreInput]
QUERIES: list[type[BaseModel]] = [
    TopicsQuery,
    MappingsQuery,
    ReasonQuery,
    ImportQuery,
    AuditQuery,
    PageQuery,
    GapsQuery,
    SuggestionsQuery,
    RejectionQuery,
]


# -- edge checks -----------------------------------------------------------------------------


def _field(error) -> str:
    """The field an error is about; an item of a list is its list (``tasks``, not ``tasks.2``)."""
    return ".".join(str(part) for part in error["loc"] if not isinstance(part, int)) or "body"


def _message(error) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    items = [part for part in error["loc"] if isinstance(part, int)]
    return (f"item {items[0] + 1}: " if items else "") + error["msg"]


def errors_of(exc: ValidationError) -> list[dict]:
    """One ``{"field", "message"}`` per bad value, in the order pydantic found them."""
    return [{"field": _field(e), "message": _message(e)} for e in exc.errors(include_input=False)]


def json_object(data: object) -> dict:
    """``data`` (a parsed JSON body), 400 unless it is an object."""
    if not isinstance(data, dict):
        raise InvalidRequest("body", "send a JSON object with Content-Type: application/json", 400)
    return data


def body(model: type[M], data: object) -> M:
    """``data`` (a parsed JSON body) as ``model``; 400 unless an object, 422 naming each bad field."""
    data = json_object(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(errors_of(exc)) from None


def query(model: type[M], args) -> M:
    """Query parameters (a MultiDict; first value wins, empty means absent) as ``model``; 400
    naming the first bad parameter."""
    given = {k: v for k, v in args.items() if v != ""}
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        first = errors_of(exc)[0]
        raise InvalidRequest(first["field"], first["message"], 400) from None
