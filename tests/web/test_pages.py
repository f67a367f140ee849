"""The web pages over HTTP (no browser): roles, the session cookie, CSRF, escaping, headers."""

from __future__ import annotations

import re

from tests.helpers.api import Api
from tests.helpers.store import clean_item
from tests.helpers.web import csrf_of, page_csrf, sign_in

WORKSPACE = (
    "/workspace/sources",
    "/workspace/items",
    "/workspace/gems",
    "/workspace/collections",
    "/workspace/insights",
)


def test_front_door_is_html_with_sign_in_forms_docs_link_and_a_strict_csp(web: Api) -> None:
    answer = web.client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in answer.text
    assert 'action="/sign-in/email"' in answer.text and 'action="/sign-in/key"' in answer.text
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script" not in answer.text  # no inline script anywhere
    css = web.client.get("/static/web/style.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_signing_in_sets_an_httponly_samesite_cookie_with_an_expiry(web: Api) -> None:
    curator = web.person("curator")
    token = page_csrf(web.client)
    answer = web.client.post(
        "/sign-in/key", data={"csrf": token, "api_key": curator.key}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workspace/sources"
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("curation_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert f"max-age={web.settings.web_session_hours * 3600}" in cookie
    assert web.client.get("/workspace/sources").status_code == 200


def test_a_wrong_api_key_does_not_sign_in(web: Api) -> None:
    token = page_csrf(web.client)
    answer = web.client.post("/sign-in/key", data={"csrf": token, "api_key": "nope"})
    assert "that API key is not valid" in answer.text
    assert web.client.get("/me", follow_redirects=False).status_code == 303


def test_signed_out_visitors_are_sent_to_the_front_door(web: Api) -> None:
    for path in ("/me", *WORKSPACE, "/workspace/people"):
        answer = web.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/"


def test_a_learner_gets_their_page_and_403_on_every_curator_page(web: Api) -> None:
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    assert web.client.get("/me").status_code == 200
    for path in (*WORKSPACE, "/workspace/people", "/workspace/items/1"):
        answer = web.client.get(path)
        assert answer.status_code == 403, path
        assert "needs the curator role" in answer.text or "needs the admin role" in answer.text
    # and a form posted to a curator page, even with a valid CSRF token, changes nothing
    token = page_csrf(web.client, "/me")
    answer = web.client.post(
        "/workspace/sources", data={"csrf": token, "url": "http://127.0.0.1:9/x.xml"}
    )
    assert answer.status_code == 403
    assert web.store.list_sources() == []


def test_a_curator_is_refused_the_people_page_an_admin_is_not(web: Api) -> None:
    sign_in(web.client, web.person("curator").key)
    assert web.client.get("/workspace/people").status_code == 403
    web.client.cookies.clear()
    sign_in(web.client, web.person("admin").key)
    assert web.client.get("/workspace/people").status_code == 200


def test_a_post_without_the_session_csrf_token_is_refused_and_changes_nothing(web: Api) -> None:
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    missing = web.client.post("/me/interests", data={"interests": "python testing"})
    forged = web.client.post("/me/interests", data={"interests": "x", "csrf": "forged-token"})
    assert missing.status_code == 403 and forged.status_code == 403
    assert web.people.get(learner.id).interests == ()
    token = page_csrf(web.client, "/me")
    done = web.client.post(
        "/me/interests", data={"interests": "python testing:2\nsql", "csrf": token}
    )
    assert done.status_code == 200  # redirected to /me
    assert web.people.get(learner.id).interests == (("python testing", 2.0), ("sql", 1.0))


def test_another_sessions_csrf_token_is_refused(web: Api) -> None:
    from fastapi.testclient import TestClient

    other = TestClient(web.app)
    other_token = page_csrf(other)
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    answer = web.client.post("/me/mutes", data={"mutes": "crypto", "csrf": other_token})
    assert answer.status_code == 403
    assert web.people.get(learner.id).mutes == ()


def test_sign_out_ends_the_session_and_needs_the_csrf_token(web: Api) -> None:
    from fastapi.testclient import TestClient

    sign_in(web.client, web.person("curator").key)
    assert web.client.post("/sign-out").status_code == 403  # no token: still signed in
    assert web.client.get("/workspace/sources").status_code == 200
    copy = TestClient(web.app)  # a copy of the cookie, taken before signing out
    copy.cookies.set("curation_session", web.client.cookies["curation_session"])
    assert copy.get("/workspace/sources").status_code == 200
    token = page_csrf(web.client, "/workspace/sources")
    assert (
        web.client.post("/sign-out", data={"csrf": token}, follow_redirects=False).status_code
        == 303
    )
    assert web.client.get("/workspace/sources", follow_redirects=False).status_code == 303
    assert copy.get("/workspace/sources", follow_redirects=False).status_code == 303  # ended


def test_a_session_dies_with_its_person(web: Api) -> None:
    curator = web.person("curator")
    sign_in(web.client, curator.key)
    web.people.delete(curator.id)
    assert web.client.get("/workspace/sources", follow_redirects=False).status_code == 303


def test_a_changed_role_applies_to_a_running_session(web: Api) -> None:
    curator = web.person("curator")
    sign_in(web.client, curator.key)
    web.people.update(curator.id, role="learner")
    assert web.client.get("/workspace/sources").status_code == 403


def test_feed_text_is_escaped_and_item_html_goes_through_the_sanitiser(web: Api) -> None:
    source = web.source(title="<b>Src</b>")
    # stored as it is (as if something had got past ingest): the page sanitises again
    item = clean_item("hostile", title="<script>alert(1)</script> Title")._replace(
        content_html='<p>ok</p><script>alert(2)</script><img src="x" onerror="alert(3)">'
    )
    (item_id,) = web.items(source, [item])
    sign_in(web.client, web.person("curator").key)
    page = web.client.get(f"/workspace/items/{item_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Title" in page
    assert "<script" not in page
    assert "onerror" not in page
    assert "<p>ok</p>" in page
    listing = web.client.get("/workspace/sources").text
    assert "&lt;b&gt;Src&lt;/b&gt;" in listing


def test_the_learner_page_shows_only_their_own_interests(web: Api) -> None:
    mine = web.person("learner", interests=[("python testing", 1.0)])
    web.person("learner", interests=[("secret other interest", 1.0)])
    sign_in(web.client, mine.key)
    page = web.client.get("/me").text
    assert "python testing" in page
    assert "secret other interest" not in page


def test_admin_adds_a_person_sees_the_key_once_and_cannot_delete_themselves(web: Api) -> None:
    admin = web.person("admin")
    sign_in(web.client, admin.key)
    token = page_csrf(web.client, "/workspace/people")
    added = web.client.post(
        "/workspace/people",
        data={"csrf": token, "email": "new@example.org", "name": "New", "role": "curator"},
    )
    assert added.status_code == 200
    key = re.search(r'id="new-key".*?<code>([^<]+)</code>', added.text, re.S).group(1)
    assert web.people.authenticate(key).role == "curator"
    assert key not in web.client.get("/workspace/people").text  # shown once
    token = csrf_of(added.text)
    page = web.client.post(
        f"/workspace/people/{admin.id}", data={"csrf": token, "action": "delete"}
    ).text  # the redirect's page says why
    assert "you cannot delete yourself" in page
    assert web.people.get(admin.id).role == "admin"


def test_unknown_ids_are_an_html_404_page(web: Api) -> None:
    sign_in(web.client, web.person("curator").key)
    answer = web.client.get("/workspace/items/999999")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "item 999999 does not exist" in answer.text


def test_the_session_cookie_reads_the_api_with_the_same_roles_and_changes_nothing(
    web: Api,
) -> None:
    learner = web.person("learner")
    sign_in(web.client, learner.key)
    assert web.client.get("/v1/me").json()["id"] == learner.id
    assert web.client.get("/v1/sources").status_code == 403  # a learner's session: refused
    assert web.client.post("/v1/sources", json={"url": "http://127.0.0.1:9/x"}).status_code == 403
    assert web.client.post("/v1/me/api-key").status_code == 401  # a change needs the key
    assert web.people.authenticate(learner.key) is not None

    web.client.cookies.clear()
    curator = web.person("curator")
    sign_in(web.client, curator.key)
    assert web.client.get("/v1/sources").status_code == 200
    item = web.item()
    made = web.client.post("/v1/gems", json={"item_id": item, "note": "n"})
    assert made.status_code == 401 and "Bearer" in made.json()["detail"]
    assert web.gem_store.list().items == []
    web.client.cookies.clear()
    assert web.client.get("/v1/sources").status_code == 401  # no cookie, no key
