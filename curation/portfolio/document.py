"""The portfolio's JSON document, version 1: what an export writes and an import reads.

A self-contained, versioned document (``"format": "curation-portfolio", "version": 1``): every
item is named by its URL and title (never by an id of this instance), so another instance can
restore it. Text fields are plain text (no HTML, no control characters). The models below are
the one definition of the format: the export builds them and the import validates against
them, so what one writes the other reads.

Version rules: a reader refuses another ``version`` with a clear error; new optional fields may
be added within version 1 (readers ignore fields they do not know).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from curation.errors import InvalidInput
from curation.textrules import has_control, has_line_break
from curation.vocab import MAX_NAME_CHARS, MAX_URL_CHARS

FORMAT = "curation-portfolio"
VERSION = 1
MAX_PERSONAL_NOTE_CHARS = 2000  # a person's own note on an item
MAX_SUMMARY_CHARS = 500  # the item's text, as exported (a reminder, not the article)
MAX_TITLE_CHARS = 1000
MAX_SIGNALS_PER_ITEM = 4
MAX_SHARES_PER_ITEM = 200


def _text(value: str) -> str:
    if has_control(value):
        raise ValueError("must not contain control characters")
    return value


def _line(value: str) -> str:
    _text(value)
    if has_line_break(value):
        raise ValueError("must be a single line")
    return value


Text = Annotated[str, AfterValidator(_text)]
Line = Annotated[str, AfterValidator(_line)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SignalDoc(_Model):
    signal: Literal["saved", "useful"]
    at: AwareDatetime


class ShareDoc(_Model):
    team: Annotated[Line, Field(max_length=MAX_NAME_CHARS)]
    note: Annotated[Text, Field(max_length=MAX_PERSONAL_NOTE_CHARS)] | None = None
    at: AwareDatetime


class SourceDoc(_Model):
    title: Annotated[Line, Field(max_length=MAX_TITLE_CHARS)] | None = None
    url: Annotated[Line, Field(max_length=MAX_URL_CHARS)] | None = None


class ItemDoc(_Model):
    url: Annotated[Line, Field(max_length=MAX_URL_CHARS)] | None = None
    title: Annotated[Line, Field(min_length=1, max_length=MAX_TITLE_CHARS)]
    summary: Annotated[Text, Field(max_length=MAX_SUMMARY_CHARS + 1)] | None = None
    author: Annotated[Line, Field(max_length=MAX_NAME_CHARS)] | None = None
    published_at: AwareDatetime | None = None
    source: SourceDoc | None = None
    signals: Annotated[list[SignalDoc], Field(max_length=MAX_SIGNALS_PER_ITEM)] = []
    note: Annotated[Text, Field(max_length=MAX_PERSONAL_NOTE_CHARS)] | None = None
    note_at: AwareDatetime | None = None
    shares: Annotated[list[ShareDoc], Field(max_length=MAX_SHARES_PER_ITEM)] = []


class PersonDoc(_Model):
    name: Annotated[Line, Field(max_length=MAX_NAME_CHARS)]
    email: Annotated[Line, Field(max_length=320)] | None = None


class PortfolioDoc(_Model):
    format: Literal["curation-portfolio"] = FORMAT
    version: Literal[1] = VERSION
    exported_at: AwareDatetime
    source: Annotated[Line, Field(max_length=MAX_URL_CHARS)] | None = None  # the instance
    person: PersonDoc
    items: list[ItemDoc]

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")


def read(raw: bytes, *, max_items: int) -> PortfolioDoc:
    """The document in ``raw`` (UTF-8 JSON), checked; :class:`InvalidInput` saying what is
    wrong (not JSON, not a portfolio, another version, too many items, a bad field)."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"not a JSON document: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f'not a portfolio export: expected "format": "{FORMAT}"')
    if data.get("version") != VERSION:
        raise InvalidInput(
            f"portfolio version {data.get('version')!r} is not one this service reads "
            f"(it reads version {VERSION})"
        )
    items = data.get("items")
    if isinstance(items, list) and len(items) > max_items:
        raise InvalidInput(
            f"the portfolio has {len(items)} items; at most {max_items} can be imported at once"
        )
    try:
        return PortfolioDoc.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        more = exc.error_count() - 5
        raise InvalidInput(
            f"the portfolio is not valid: {problems}" + (f" (and {more} more)" if more > 0 else "")
        ) from exc
