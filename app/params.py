"""Query parameters every paged list shares: how many rows (``limit``, each list its own
default) and where to go on (``cursor``: the ``next_cursor`` of the previous page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from curation.paging import MAX_LIMIT

PageLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=100)]
