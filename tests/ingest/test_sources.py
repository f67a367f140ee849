"""Sources, a newcomer's first hour: a new source is fetched and checked (a web page is searched
for its feed), a feed of empty entries is an error, sources are renamed/paused/resumed,
credentials in URLs never show, refusals say how to allow an address (and localhost is the
loopback), and the list is a page like every other.

API cases run on SQLite and PostgreSQL; every fetch goes to the local feed server (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from curation.errors import FeedCheckFailed, ParseError
from curation.ingest.checks import check_entries
from curation.ingest.discover import feed_links, looks_like_html
from curation.ingest.fetch import GuardedResolver
from curation.ingest.netpolicy import AddressPolicy, mask_credentials
from curation.ingest.records import ParsedEntry, ParsedFeed
from curation.services import make_curation
from curation.storage.feeds import Store
from tests.helpers.api import Api, open_api
from tests.helpers.cli import run
from tests.helpers.feeds import rss
from tests.helpers.feedserver import FeedServer
from tests.helpers.settings import db_url, settings_for

PROBLEM = "application/problem+json"
ENTRIES = [
    {"title": f"Post {n}", "link": f"https://example.org/p{n}", "guid": f"g{n}"} for n in range(3)
]
EMPTY_JSON_FEED = (
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "Hollow",'
    b' "items": [{"id": "1"}, {"id": "2", "date_published": "2026-11-01T08:00:00Z"}]}'
)


def page(*links: str, base: str | None = None) -> bytes:
    head = "".join(links) + (f'<base href="{base}">' if base else "")
    return f"<!doctype html><html><head><title>Blog</title>{head}</head><body>hi</body></html>".encode()


def alt(href: str, kind: str = "application/rss+xml", rel: str = "alternate") -> str:
    return f'<link rel="{rel}" type="{kind}" href="{href}">'


def problem(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


def _url(api: Api) -> str:
    return api.settings.database_url


# ---- 1. a new source is fetched and checked ---------------------------------------------------


def test_a_feed_is_checked_and_takes_its_own_title(api: Api, feed_server: FeedServer) -> None:
    curator = api.person("curator")
    url = feed_server.add("/feed", body=rss("  The\nFeed  ", ENTRIES, link="https://blog.example/"))
    added = api.client.post("/v1/sources", headers=curator.headers, json={"url": url})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["url"] == url and body["title"] == "The Feed"
    assert body["html_url"] == "https://blog.example/"
    assert body["check"] == {"format": "rss20", "entries": 3, "found_on": None, "other_feeds": []}
    assert len(feed_server.hits("/feed")) == 1
    # a title given by hand wins over the feed's
    other = feed_server.add("/other", body=rss("Feed title", ENTRIES))
    mine = api.client.post(
        "/v1/sources", headers=curator.headers, json={"url": other, "title": "Mine"}
    )
    assert mine.json()["title"] == "Mine"
    # a duplicate is a 409 before any fetch
    problem(api.client.post("/v1/sources", headers=curator.headers, json={"url": url}), 409)
    assert len(feed_server.hits("/feed")) == 1


def test_a_web_page_is_searched_for_its_feed_links(api: Api, feed_server: FeedServer) -> None:
    curator = api.person("curator")
    feed_server.add("/blog/feed.xml", body=rss("Blog feed", ENTRIES))
    feed_server.add("/blog/atom.xml", body=rss("Atom", ENTRIES))
    home = feed_server.add(
        "/blog/",
        content_type="text/html; charset=utf-8",
        body=page(
            '<link rel="stylesheet" href="/style.css">',
            alt("/comments.xml", rel="alternate nofollow", kind="text/html"),  # not a feed type
            alt("feed.xml", rel="Alternate"),  # relative to the page
            alt(feed_server.url("/blog/atom.xml"), kind="application/atom+xml; charset=utf-8"),
        ),
    )
    added = api.client.post("/v1/sources", headers=curator.headers, json={"url": home})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["url"] == feed_server.url("/blog/feed.xml") and body["title"] == "Blog feed"
    assert body["check"]["found_on"] == home
    assert body["check"]["other_feeds"] == [feed_server.url("/blog/atom.xml")]
    assert feed_server.hits("/blog/atom.xml") == []  # the others are listed, not fetched
    # the feed a page leads to is a source already: 409
    assert problem(api.client.post("/v1/sources", headers=curator.headers, json={"url": home}), 409)


def test_a_page_whose_first_feed_link_is_broken_gets_the_next(
    api: Api, feed_server: FeedServer
) -> None:
    curator = api.person("curator")
    feed_server.add("/gone.xml", status=404)
    feed_server.add("/feed.json", body=b"{", content_type="application/feed+json")
    feed_server.add("/good.xml", body=rss("Good", ENTRIES))
    home = feed_server.add(
        "/",
        content_type="text/html",
        body=page(
            alt("http://10.1.2.3/feed"),  # refused by the policy: never fetched
            alt("/gone.xml"),
            alt("/feed.json", kind="application/feed+json"),
            alt("/good.xml"),
        ),
    )
    body = api.client.post("/v1/sources", headers=curator.headers, json={"url": home}).json()
    assert body["url"] == feed_server.url("/good.xml")
    assert body["check"]["other_feeds"] == [
        "http://10.1.2.3/feed",
        feed_server.url("/gone.xml"),
        feed_server.url("/feed.json"),
    ]


@pytest.mark.parametrize(
    ("route", "detail"),
    [
        (dict(body=page(), content_type="text/html"), "{url} is a web page with no feed link"),
        (
            dict(body=page(alt("/missing.xml")), content_type="text/html"),
            "{url} is a web page whose feed links do not work: {base}/missing.xml (HTTP 404",
        ),
        (
            dict(body=b"just text", content_type="text/plain"),
            "{url} is not a feed: not well-formed XML",
        ),
        (dict(status=500), "{url} could not be fetched: HTTP 500"),
        (
            dict(body=EMPTY_JSON_FEED, content_type="application/feed+json"),
            "{url} is not a feed: none of its 2 entries has a title, a link or content",
        ),
    ],
    ids=["page without links", "page with broken links", "not a feed", "HTTP 500", "empty items"],
)
def test_what_is_not_a_feed_is_refused_saying_why(
    api: Api, feed_server: FeedServer, route: dict, detail: str
) -> None:
    curator = api.person("curator")
    url = feed_server.add("/x", **route)
    answer = api.client.post("/v1/sources", headers=curator.headers, json={"url": url})
    body = problem(answer, 422)
    base = f"http://127.0.0.1:{feed_server.port}"
    assert body["detail"].startswith(detail.format(url=url, base=base)), body["detail"]
    assert api.client.get("/v1/sources", headers=curator.headers).json()["items"] == []


def test_the_whole_check_is_bounded_by_the_fetch_time_limit(
    any_store: Store, feed_server: FeedServer
) -> None:
    # each fetch is within the limit, the page and its two feed links together are not
    feed_server.add("/slow-gone.xml", status=404, delay=0.6)
    feed_server.add("/slow.xml", body=rss("Slow", ENTRIES), delay=0.6)
    home = feed_server.add(
        "/", content_type="text/html", body=page(alt("/slow-gone.xml"), alt("/slow.xml"))
    )
    url = db_url(any_store)
    with open_api(url, fetch_total_timeout=1.0) as api:
        curator = api.person("curator")
        answer = api.client.post("/v1/sources", headers=curator.headers, json={"url": home})
        assert problem(answer, 422)["detail"] == f"checking {home} took too long (limit 1 s)"
        assert api.store.list_sources() == []


def test_check_false_adds_without_fetching(api: Api, feed_server: FeedServer) -> None:
    curator = api.person("curator")
    url = feed_server.add("/down", status=503)
    added = api.client.post("/v1/sources?check=false", headers=curator.headers, json={"url": url})
    assert added.status_code == 201 and added.json()["check"] is None
    assert feed_server.hits("/down") == []
    # the address policy still applies
    problem(
        api.client.post(
            "/v1/sources?check=false", headers=curator.headers, json={"url": "http://10.0.0.1/"}
        ),
        422,
    )


def test_cli_add_checks_finds_and_refuses(env: dict[str, str], feed_server: FeedServer) -> None:
    run(["db", "upgrade"], env)
    feed_server.add("/feed.xml", body=rss("Found", ENTRIES))
    home = feed_server.add("/", content_type="text/html", body=page(alt("/feed.xml")))
    out = run(["sources", "add", home], env).stdout
    assert f'added source 1: {feed_server.url("/feed.xml")} "Found" (rss20, 3 entries)' in out
    assert f"found on the web page {home}" in out
    bare = feed_server.add("/bare", content_type="text/html", body=page())
    refused = run(["sources", "add", bare], env, check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"error: {bare} is a web page with no feed link"
    down = feed_server.add("/down", status=503)
    unchecked = run(["sources", "add", "--no-check", down], env).stdout
    assert f"added source 2 without a check: {down}" in unchecked
    assert feed_server.hits("/down") == []


def test_feed_links_of_a_page() -> None:
    body = page(
        alt("a.xml"),
        alt("/b.json", kind="application/json"),
        alt("a.xml"),  # a repeat
        alt("c.xml#top", kind="APPLICATION/ATOM+XML"),
        alt("javascript:alert(1)"),
        alt("d.xml", rel="feed"),  # not rel=alternate
        alt("", kind="application/rss+xml"),
        base="https://cdn.example/feeds/",
    )
    assert feed_links(body, "https://blog.example/post/1") == [
        "https://cdn.example/feeds/a.xml",
        "https://cdn.example/b.json",
        "https://cdn.example/feeds/c.xml",
    ]
    assert feed_links(b"", "https://blog.example/") == []
    assert feed_links(b"\x00\xff<<<", "https://blog.example/") == []
    assert looks_like_html(page(), None) and looks_like_html(b"<p>hi", "text/html")
    assert not looks_like_html(rss("t", []), "text/html")  # a feed served as HTML is a feed


# ---- 2. a feed whose entries carry nothing is an error ------------------------------------------


def test_an_invalid_json_feed_is_an_error_and_stores_nothing(
    any_store: Store, feed_server: FeedServer
) -> None:
    settings = settings_for(any_store)
    c = make_curation(settings, engine=any_store.engine)
    url = feed_server.add("/hollow.json", body=EMPTY_JSON_FEED, content_type="application/json")
    source = c.store.add_source(url)
    summary = c.ingest(now=datetime.now(UTC))
    assert [o.status for o in summary.outcomes] == ["error"]
    after = c.store.get_source(source.id)
    assert after.status == "error" and after.item_count == 0
    assert after.last_error == "not a feed: none of its 2 entries has a title, a link or content"
    assert after.etag is None and after.title is None  # nothing of the feed was kept


def test_check_entries() -> None:
    empty = ParsedEntry(guid="x", summary="  ")
    with pytest.raises(ParseError, match="its only entry has no title, link or content"):
        check_entries(ParsedFeed("json11", entries=(empty,)))
    for usable in (
        ParsedEntry(title="t"),
        ParsedEntry(link="https://e.org/"),
        ParsedEntry(content="<p>x</p>"),
        ParsedEntry(summary="s"),
    ):
        feed = ParsedFeed("rss20", entries=(empty, usable))
        assert check_entries(feed) is feed
    assert check_entries(ParsedFeed("rss20")).entries == ()  # no entries yet: a new blog


# ---- 3. rename, recategorise, pause, resume -----------------------------------------------------


def test_patch_renames_recategorises_pauses_and_resumes(api: Api, feed_server: FeedServer) -> None:
    curator = api.person("curator")
    url = feed_server.add("/feed", body=rss("Feed", ENTRIES))
    sid = api.client.post("/v1/sources", headers=curator.headers, json={"url": url}).json()["id"]
    path = f"/v1/sources/{sid}"

    renamed = api.client.patch(path, headers=curator.headers, json={"title": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"
    moved = api.client.patch(path, headers=curator.headers, json={"category": "Tech/Python"})
    assert moved.json()["category"] == "Tech/Python" and moved.json()["title"] == "Renamed"
    assert api.client.patch(path, headers=curator.headers, json={}).json() == moved.json()

    c = make_curation(api.settings, engine=api.engine)
    c.ingest(now=datetime.now(UTC))
    assert len(feed_server.hits("/feed")) == 2  # the check, then the first poll
    paused = api.client.patch(path, headers=curator.headers, json={"active": False}).json()
    assert paused["active"] is False
    later = datetime.now(UTC) + timedelta(days=30)
    assert (
        c.ingest(now=later).outcomes == () and c.ingest(now=later, every_source=True).outcomes == ()
    )
    assert len(feed_server.hits("/feed")) == 2  # a paused source is never polled

    before = datetime.now(UTC)
    resumed = api.client.patch(path, headers=curator.headers, json={"active": True}).json()
    assert resumed["active"] is True
    due_at = datetime.fromisoformat(resumed["next_attempt_at"])
    assert before - timedelta(seconds=1) <= due_at <= datetime.now(UTC)  # due now
    assert [s.id for s in c.store.due_sources(datetime.now(UTC))] == [sid]
    # resuming an active source does not move its next poll
    again = api.client.patch(path, headers=curator.headers, json={"active": True}).json()
    assert again["next_attempt_at"] == resumed["next_attempt_at"]

    cleared = api.client.patch(path, headers=curator.headers, json={"category": ""}).json()
    assert cleared["category"] is None
    problem(api.client.patch(path, headers=curator.headers, json={"url": "https://e.org/"}), 422)
    problem(api.client.patch(path, headers=curator.headers, json={"title": None}), 422)
    problem(api.client.patch(path, headers=curator.headers, json={"active": "maybe"}), 422)
    problem(api.client.patch(path, headers=curator.headers, json={"title": "a\nb"}), 422)
    problem(api.client.patch("/v1/sources/987654", headers=curator.headers, json={}), 404)
    learner = api.person("learner")
    problem(api.client.patch(path, headers=learner.headers, json={"title": "x"}), 403)


def test_cli_set(env: dict[str, str], feed_server: FeedServer) -> None:
    run(["db", "upgrade"], env)
    url = feed_server.add("/feed", body=rss("Feed", ENTRIES))
    run(["sources", "add", url], env)
    out = run(["sources", "set", "1", "--title", "Mine", "--category", "A/B", "--pause"], env)
    assert f"source 1 (paused): {url}" in out.stdout
    assert 'title "Mine", category "A/B"' in out.stdout
    assert "[paused]" in run(["sources", "list"], env).stdout
    resumed = run(["sources", "set", "1", "--resume"], env).stdout
    assert "source 1 (active, next poll " in resumed
    assert "[paused]" not in run(["sources", "list"], env).stdout
    both = run(["sources", "set", "1", "--pause", "--resume"], env, check=False)
    assert both.returncode == 2 and "not allowed with" in both.stderr
    nothing = run(["sources", "set", "1"], env, check=False)
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    missing = run(["sources", "set", "99", "--pause"], env, check=False)
    assert missing.returncode == 1 and "source 99 does not exist" in missing.stderr
    huge = run(["sources", "set", str(2**40), "--pause"], env, check=False)
    assert huge.returncode == 2 and "not a source id" in huge.stderr


def test_the_cli_refuses_a_title_beyond_the_cap_on_add(
    env: dict[str, str], feed_server: FeedServer
) -> None:
    """The domain checks a given title, whichever door it comes by (the API's schema did
    already; `curation sources add --title` stored 10,000 characters)."""
    run(["db", "upgrade"], env)
    url = feed_server.add("/feed", body=rss("Feed", ENTRIES))
    long = run(["sources", "add", url, "--no-check", "--title", "x" * 10_000], env, check=False)
    assert long.returncode != 0 and "title must be at most 500 characters" in long.stderr
    listed = run(["sources", "list"], env).stdout
    assert "0 sources" in listed


# ---- 4. credentials in URLs are used but never shown --------------------------------------------


def test_mask_credentials() -> None:
    assert mask_credentials("https://user:pass@host/feed") == "https://user:***@host/feed"
    assert mask_credentials("https://token@host/feed") == "https://***@host/feed"
    assert mask_credentials("https://host/feed?a=b@c") == "https://host/feed?a=b@c"
    assert mask_credentials("https://u:***@host/") == "https://u:***@host/"
    assert mask_credentials("x 'http://a:p@ss@h:1/' y") == "x 'http://a:***@h:1/' y"
    assert mask_credentials("mail me: a@b.example") == "mail me: a@b.example"


def test_credentials_are_used_for_fetching_and_masked_everywhere(
    api: Api, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    curator = api.person("curator")
    feed_server.add("/private", body=rss("Private", ENTRIES))
    secret_url = feed_server.url("/private").replace("http://", "http://reader:s3cret@")
    shown = feed_server.url("/private").replace("http://", "http://reader:***@")
    with caplog.at_level(logging.DEBUG):
        added = api.client.post("/v1/sources", headers=curator.headers, json={"url": secret_url})
    assert added.status_code == 201, added.text
    assert added.json()["url"] == shown
    basic = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    assert feed_server.hits("/private")[0].headers.get("Authorization") == basic
    sid = added.json()["id"]
    assert api.store.get_source(sid).url == secret_url  # stored as given, for fetching

    c = make_curation(api.settings, engine=api.engine)
    summary = c.ingest(now=datetime.now(UTC))
    assert summary.outcomes[0].status == "ok"
    assert feed_server.hits("/private")[-1].headers.get("Authorization") == basic

    dup = problem(
        api.client.post("/v1/sources", headers=curator.headers, json={"url": secret_url}), 409
    )
    listed = api.client.get("/v1/sources", headers=curator.headers).json()["items"]
    one = api.client.get(f"/v1/sources/{sid}", headers=curator.headers).json()
    exported = api.client.get("/v1/sources/export", headers=curator.headers).text
    # a fetch error that quotes the URL: masked in last_error and in the answer
    api.store.record_failure(
        sid,
        status="error",
        error=f"invalid URL: {secret_url}",
        now=datetime.now(UTC),
        next_attempt_at=None,
    )
    failed = api.client.get(f"/v1/sources/{sid}", headers=curator.headers).json()
    assert api.store.get_source(sid).last_error == f"invalid URL: {shown}"
    assert failed["last_error"] == f"invalid URL: {shown}"
    assert listed[0]["url"] == one["url"] == shown and shown in dup["detail"]
    assert shown in exported
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert shown in logged
    for text in (dup["detail"], str(listed), str(one), exported, str(failed), logged):
        assert "s3cret" not in text

    # the export's masked URL is not imported as a (broken) password
    headers = curator.headers | {"Content-Type": "text/x-opml"}
    api.store.delete_source(sid)
    imported = api.client.post("/v1/sources/import", headers=headers, content=exported).json()
    assert imported["added"] == 0
    assert imported["skipped"][0]["url"] == shown
    assert "credentials were masked on export" in imported["skipped"][0]["reason"]


def test_cli_masks_credentials(env: dict[str, str], feed_server: FeedServer) -> None:
    run(["db", "upgrade"], env)
    feed_server.add("/private", body=rss("Private", ENTRIES))
    secret_url = feed_server.url("/private").replace("http://", "http://reader:s3cret@")
    shown = feed_server.url("/private").replace("http://", "http://reader:***@")
    added = run(["sources", "add", secret_url], env)
    listed = run(["sources", "list"], env)
    exported = run(["sources", "export"], env)
    dup = run(["sources", "add", secret_url], env, check=False)
    assert shown in added.stdout and shown in listed.stdout and shown in exported.stdout
    assert dup.returncode == 1 and shown in dup.stderr
    for proc in (added, listed, exported, dup):
        assert "s3cret" not in proc.stdout + proc.stderr


# ---- 5. refusals say how to allow; localhost is the loopback -----------------------------------


def test_refusals_name_the_setting(any_store: Store) -> None:
    url = db_url(any_store)
    with open_api(url, fetch_allow_hosts="") as api:
        curator = api.person("curator")
        for target, detail in (
            (
                "http://127.0.0.1:9/feed",
                "127.0.0.1 is a loopback address; set CURATION_FETCH_ALLOW_HOSTS=127.0.0.1",
            ),
            (
                "http://localhost:9/feed",
                "localhost is a single-label (internal) host name;"
                " set CURATION_FETCH_ALLOW_HOSTS=127.0.0.1 to allow it",
            ),
            ("http://[::1]:9/", "::1 is a loopback address; set CURATION_FETCH_ALLOW_HOSTS=::1"),
            (
                "http://192.168.1.20/rss",
                "192.168.1.20 is a private address; set CURATION_FETCH_ALLOW_HOSTS=192.168.1.20",
            ),
        ):
            answer = api.client.post("/v1/sources", headers=curator.headers, json={"url": target})
            assert detail in problem(answer, 422)["detail"]
        metadata = api.client.post(
            "/v1/sources", headers=curator.headers, json={"url": "http://169.254.169.254/"}
        )
        assert "CURATION_FETCH_ALLOW_HOSTS" not in problem(metadata, 422)["detail"]
    with open_api(url, fetch_allow_hosts="10.0.0.0/8") as api:
        curator = api.person("curator")
        answer = api.client.post(
            "/v1/sources", headers=curator.headers, json={"url": "http://127.0.0.1/"}
        )
        assert (
            "add 127.0.0.1 to CURATION_FETCH_ALLOW_HOSTS to allow it"
            in problem(answer, 422)["detail"]
        )


@pytest.mark.parametrize("allow", ["127.0.0.1", "::1", "127.0.0.0/8"])
def test_localhost_is_accepted_when_loopback_is_allowed(
    any_store: Store, feed_server: FeedServer, allow: str
) -> None:
    feed_server.add("/feed", body=rss("Local", ENTRIES))
    url = f"http://localhost:{feed_server.port}/feed"
    with open_api(db_url(any_store), fetch_allow_hosts=allow) as api:
        curator = api.person("curator")
        added = api.client.post("/v1/sources", headers=curator.headers, json={"url": url})
        assert added.status_code == 201, added.text
        assert added.json()["title"] == "Local" and len(feed_server.hits("/feed")) == 1


def test_cli_refusal_names_the_setting(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    proc = run(
        ["sources", "add", "http://localhost:9/feed"],
        env | {"CURATION_FETCH_ALLOW_HOSTS": ""},
        check=False,
    )
    assert proc.returncode == 1
    assert "set CURATION_FETCH_ALLOW_HOSTS=127.0.0.1 to allow it" in proc.stderr


def test_localhost_resolves_to_either_loopback_when_one_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connect-time check, with a resolver stub (no lookup): localhost answering both
    loopback addresses passes when only one is allowed; nothing else does."""
    answer = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)),
    ]

    async def resolve(policy: AddressPolicy, host: str) -> list:
        loop = asyncio.get_running_loop()

        async def stub(*args: object, **kwargs: object) -> list:
            return answer

        monkeypatch.setattr(loop, "getaddrinfo", stub)
        return await GuardedResolver(policy).resolve(host, 80, family=socket.AF_UNSPEC)

    for allow in ("127.0.0.1", "::1", "127.0.0.0/8"):
        got = asyncio.run(resolve(AddressPolicy.from_setting(allow), "localhost"))
        assert {r["host"] for r in got} == {"::1", "127.0.0.1"}
    with pytest.raises(OSError, match="refused"):
        asyncio.run(resolve(AddressPolicy.from_setting("127.0.0.1"), "other.example"))
    with pytest.raises(OSError, match="refused"):
        asyncio.run(resolve(AddressPolicy.from_setting("10.0.0.0/8"), "localhost"))
    policy = AddressPolicy.from_setting("127.0.0.1")
    with pytest.raises(Exception, match="10.0.0.1 is a private address"):
        policy.check_ip("10.0.0.1", host="localhost")  # localhost is only ever the loopback


# ---- 6. the list is a page ---------------------------------------------------------------------


def test_sources_list_is_a_page(api: Api) -> None:
    curator = api.person("curator")
    ids = [api.source(f"http://127.0.0.1:9/{n}.xml", title=f"S{n}") for n in range(5)]
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = api.client.get("/v1/sources", headers=curator.headers, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next_cursor"} and len(body["items"]) <= 2
        seen += [s["id"] for s in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)  # by id, each once
    first = api.client.get("/v1/sources", headers=curator.headers).json()
    assert [s["id"] for s in first["items"]] == sorted(ids) and first["next_cursor"] is None
    assert first["items"][0]["title"] == "S0" and first["items"][0]["item_count"] == 0
    problem(api.client.get("/v1/sources?cursor=forged", headers=curator.headers), 422)
    problem(api.client.get("/v1/sources?limit=101", headers=curator.headers), 422)
    problem(api.client.get("/v1/sources?limit=0", headers=curator.headers), 422)


def test_a_page_counts_items(api: Api) -> None:
    curator = api.person("curator")
    a, b = api.source(title="A"), api.source(title="B")
    api.item("one", source_id=b)
    api.item("two", source_id=b)
    items = api.client.get("/v1/sources", headers=curator.headers).json()["items"]
    assert [(s["id"], s["item_count"]) for s in items] == [(a, 0), (b, 2)]


def test_feed_check_failed_is_an_invalid_input() -> None:
    from app.problems import status_of

    assert status_of(FeedCheckFailed("x")) == (422, "Not a usable feed")
