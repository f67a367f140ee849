"""The learner's page over HTTP (no browser): "Save for later" on a digest's items, the Saved
list with a note form and a Remove button, each behind the session's CSRF token, each person
seeing and changing only their own."""

from __future__ import annotations

import html
import re

from curation.clock import utcnow
from tests.helpers.api import Api
from tests.helpers.digests import record_digest
from tests.helpers.web import page_csrf, sign_in


def _saved_section(page: str) -> str:
    found = re.search(r'<section class="card" id="saved">(.*?)</section>', page, re.S)
    assert found, page
    return found.group(1)


def test_save_from_a_digest_then_note_and_remove(web: Api) -> None:
    me, other = web.person(), web.person()
    item_id = web.item(text="worth keeping")
    title = f"Item {item_id}"
    record_digest(web.engine, web.people.get(me.id), [(item_id, title)], day="2026-11-02")
    sign_in(web.client, me.key)

    past = web.client.get("/me/digests/2026-11-02").text
    form = re.search(
        r'<form class="save" method="post" action="/me/saved">(.*?)</form>', past, re.S
    )
    assert form and f'name="item_id" value="{item_id}"' in form.group(1)
    assert 'name="back" value="/me/digests/2026-11-02"' in form.group(1)
    assert "Nothing saved yet" in _saved_section(web.client.get("/me").text)

    # without the CSRF token: refused, nothing saved
    assert web.client.post("/me/saved", data={"item_id": str(item_id)}).status_code == 403
    assert web.client.get("/v1/me/saved").json()["items"] == []  # the session reads the API

    token = page_csrf(web.client, "/me/digests/2026-11-02")
    data = {"csrf": token, "item_id": str(item_id), "back": "/me/digests/2026-11-02"}
    done = web.client.post("/me/saved", data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me/digests/2026-11-02"
    evil = web.client.post(
        "/me/saved", data=data | {"back": "//evil.example/x"}, follow_redirects=False
    )
    assert evil.headers["location"] == "/me"
    saved = web.client.get("/v1/me/saved").json()["items"]
    assert [e["item"]["id"] for e in saved] == [item_id]

    section = _saved_section(web.client.get("/me").text)
    assert html.escape(saved[0]["item"]["title"]) in section and f"/me/notes/{item_id}" in section

    token = page_csrf(web.client, "/me")
    web.client.post(f"/me/notes/{item_id}", data={"csrf": token, "note": "for the Q3 plan"})
    assert "for the Q3 plan" in _saved_section(web.client.get("/me").text)
    assert web.client.get("/v1/me/saved").json()["items"][0]["note"] == "for the Q3 plan"
    web.client.post(f"/me/notes/{item_id}", data={"csrf": token, "note": "  "})  # deletes it
    assert web.client.get("/v1/me/saved").json()["items"][0]["note"] is None

    # the other person sees none of it
    other_client = type(web.client)(web.app)
    sign_in(other_client, other.key)
    assert "Nothing saved yet" in _saved_section(other_client.get("/me").text)
    gone = other_client.post(
        f"/me/saved/{item_id}/remove", data={"csrf": page_csrf(other_client, "/me")}
    )
    assert "not among your saved items" in gone.text
    assert len(web.client.get("/v1/me/saved").json()["items"]) == 1

    web.client.post(f"/me/saved/{item_id}/remove", data={"csrf": token})
    assert web.client.get("/v1/me/saved").json()["items"] == []
    assert "Nothing saved yet" in _saved_section(web.client.get("/me").text)


def test_every_past_digest_is_a_link_away_on_my_page(web: Api) -> None:
    me = web.person()
    record = web.people.get(me.id)
    item_id = web.item()
    # today's digest recorded too: past its digest hour the page would record it itself, so
    # the list does not depend on the time of day the test runs
    today = utcnow().date().isoformat()
    days = [f"2026-{m:02d}-{d:02d}" for m in (9, 10) for d in range(1, 19)][:34] + [today]
    for day in days:
        record_digest(web.engine, record, [(item_id, "story")], day=day)
    sign_in(web.client, me.key)

    listed, url, pages = [], "/me", 0
    while url and pages < 5:
        page = web.client.get(url).text
        listed += re.findall(r'<a href="/me/digests/(\d{4}-\d{2}-\d{2})">', page)
        older = re.search(r'<a href="(/me\?digests_before=[^"#]+)#past">Older digests</a>', page)
        url, pages = (html.unescape(older.group(1)) if older else None), pages + 1
    assert pages == 2 and listed == sorted(days, reverse=True)
    assert web.client.get(f"/me/digests/{days[0]}").status_code == 200  # the oldest, readable
