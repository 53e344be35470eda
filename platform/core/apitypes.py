"""Building blocks shared by every /api/v1 schema: the input base class, the field types that can be
stored and compared safely, the error and pagination shapes.

Input that cannot be stored or compared is refused here, before a handler runs, with a 422 naming the
field (``{"error": {"code": "validation_error", "details": {"errors": [{"loc": [...], ...}]}}}``):

- a NUL character in any text (PostgreSQL refuses it): every schema derived from :class:`ApiSchema`
  checks every field, nested lists and objects included;
- a local wall-clock time (``LocalTime``) given with a UTC offset or as a number: it must be
  ``HH:MM`` or ``HH:MM:SS`` in the doctor's zone;
- a date (``ApiDate``) outside 1900-01-01..2199-12-31, or not written ``YYYY-MM-DD``: nothing the
  clinic does is that far away, and the limits keep every date arithmetic inside Python's range;
- identifiers (``Id``) and page offsets beyond what the database can hold.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2199, 12, 31)
#: the largest primary key a BIGINT column holds
MAX_ID = 2**63 - 1
#: list endpoints answer at most this many items at a time
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
#: offsets past this are refused (a client paging that far wants a filter, not a page)
MAX_OFFSET = 1_000_000

_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_nul(item) for item in value)
    return False


def _refuse_nul(value: Any) -> Any:
    if _contains_nul(value):
        raise PydanticCustomError("nul_character", "Text must not contain NUL (\\u0000) characters.")
    return value


class ApiQuery(Schema):
    """Base of query-parameter schemas (names as written, e.g. ``start_date``): no NUL characters in
    any field."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        return _refuse_nul(value)


class ApiSchema(ApiQuery):
    """Base of every request body: camelCase names (snake_case accepted too) and no NUL characters
    in any field."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _local_time(value: Any) -> dt.time:
    if isinstance(value, dt.time) and value.tzinfo is None:
        return value
    if not isinstance(value, str) or not re.match(_TIME_PATTERN, value):
        raise PydanticCustomError(
            "local_time", "Give a local wall-clock time as HH:MM or HH:MM:SS, without a UTC offset."
        )
    return dt.time.fromisoformat(value)


#: a wall-clock time in the doctor's zone ("09:30"); offsets ("09:30+07:00") and numbers are refused
LocalTime = Annotated[
    dt.time,
    BeforeValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": _TIME_PATTERN, "examples": ["09:30"]}),
]


def _api_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "Give a date as YYYY-MM-DD.")
    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and re.match(_DATE_PATTERN, value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("date_invalid", "This date does not exist.") from None
    else:
        raise PydanticCustomError("date_format", "Give a date as YYYY-MM-DD.")
    if not MIN_DATE <= day <= MAX_DATE:
        raise PydanticCustomError(
            "date_range", "Give a date between {first} and {last}.", {"first": str(MIN_DATE), "last": str(MAX_DATE)}
        )
    return day


def parse_api_date(value: str) -> dt.date | None:
    """``value`` as an ``ApiDate`` would accept it, or None where it would refuse it (for the API edge's
    fast reads, which leave every refusal to the regular route and its error answer)."""
    try:
        return _api_date(value)
    except PydanticCustomError:
        return None


#: a calendar date "YYYY-MM-DD" between MIN_DATE and MAX_DATE
ApiDate = Annotated[
    dt.date,
    BeforeValidator(_api_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DATE_PATTERN, "examples": ["2026-03-14"]}),
]

#: a database identifier
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

#: text without NUL characters (for plain parameters outside an ApiSchema)
Text = Annotated[str, AfterValidator(_refuse_nul)]


# --- answers --------------------------------------------------------------------------------------


class ErrorBody(Schema):
    code: str = Field(..., examples=["validation_error"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(Schema):
    """Every error: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


#: error answers documented on every operation (each handler may answer any of them)
ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


class OutSchema(Schema):
    """Base of answers: camelCase names (routers render with ``by_alias=True``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- pagination -----------------------------------------------------------------------------------


class Pagination(ApiQuery):
    """``limit`` and ``offset`` query parameters of every list."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"items per page (1–{MAX_LIMIT})")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="items to skip")


class PageOut(OutSchema):
    """The one list shape: ``items`` of this page, ``count`` of all matches, and the page asked for.
    Each list names its own subclass with typed ``items``."""

    count: int
    limit: int
    offset: int


def paginate(queryset, page: Pagination, present=lambda row: row) -> dict:
    """``{"items", "count", "limit", "offset"}`` for ``queryset`` (which must be ordered)."""
    count = queryset.count()
    rows = list(queryset[page.offset : page.offset + page.limit]) if page.offset < count else []
    return {"items": [present(row) for row in rows], "count": count, "limit": page.limit, "offset": page.offset}


# --- date ranges ----------------------------------------------------------------------------------


class DateRangeQuery(ApiQuery):
    """``start_date`` and ``end_date``: whole local days, both inclusive (seed 000 and 002)."""

    start_date: ApiDate | None = Field(None, description="first local date (inclusive)")
    end_date: ApiDate | None = Field(None, description="last local date (inclusive)")

    def bounds(self, zone: dt.tzinfo) -> tuple[dt.datetime | None, dt.datetime | None]:
        """``[start, end)`` as aware datetimes in ``zone`` (None where not given)."""
        from django.utils.translation import gettext as _

        from core.errors import InvalidInput

        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise InvalidInput(_("end_date must not be before start_date."), fields=["end_date"], source="query")
        start = dt.datetime.combine(self.start_date, dt.time(0), tzinfo=zone) if self.start_date else None
        end = (
            dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            if self.end_date
            else None
        )
        return start, end
