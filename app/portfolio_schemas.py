"""Bodies of ``/v1/me/saved``, ``/v1/me/notes`` and ``/v1/me/portfolio/import``.

The portfolio's own document (the export and the import's body) is defined once, in
:mod:`curation.portfolio.document`; these are the API's small answers around it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas import ItemOut, Strict, Text


class NoteIn(Strict):
    note: Annotated[Text, Field(min_length=1, max_length=2000, description="Plain text.")]


class NoteOut(BaseModel):
    item_id: int
    note: str = Field(description="Plain text: escape it on output.")
    created_at: datetime
    updated_at: datetime


class SavedItemOut(BaseModel):
    item: ItemOut
    saved_at: datetime
    note: str | None = Field(description="My own note on the item, if I wrote one.")


class SavedPage(BaseModel):
    items: list[SavedItemOut]
    next_cursor: str | None


class ImportReportOut(BaseModel):
    items: int = Field(description="Items in the file.")
    items_found: int = Field(description="Already stored here (same canonical URL).")
    items_created: int = Field(description="Stored from the file (without a source).")
    signals_added: int
    notes_added: int
    notes_kept: int = Field(description="I already had another note on the item here: kept.")
    shares_listed: int = Field(description="Shares in the file: listed, never re-shared.")
