"""The stored form of a digest: the JSON of a :class:`DigestView`, with or without the batch's
shared cache of encoded items."""

from __future__ import annotations

import json
from dataclasses import replace

from curation.digest.view import DigestView, ItemTexts
from tests.helpers.digests import SAMPLE, digest, entry


def test_items_encoded_once_for_a_batch_give_the_same_text() -> None:
    shared = entry(5, 'Shared "item" \u2028 é', url="https://example.org/x")
    views = [
        SAMPLE,
        digest(shared, entry(6, "Other")),
        replace(digest(entry(7, "Only gems"), gems=(shared,)), person_id=8, note="a note"),
        replace(digest(), id=43),  # no entries at all
    ]
    texts: ItemTexts = {}
    for view in views:
        text = view.to_json(texts)
        assert text == view.to_json()
        assert DigestView.from_json(text) == view
        json.loads(text)
    assert len(texts) == 6  # items 1, 2, 3, 5, 6, 7: item 5 encoded once for two digests


def test_a_cached_text_is_only_used_for_the_same_item_object() -> None:
    texts: ItemTexts = {}
    first = digest(entry(1, "Title one"))
    first.to_json(texts)
    renamed = digest(entry(1, "Title two"))  # the same id, another object: encoded anew
    assert "Title two" in renamed.to_json(texts) and "Title one" not in renamed.to_json(texts)
