"""One-time sign-in links (curation.people.signin over curation.storage.signin), on SQLite and
PostgreSQL: only a hash is stored, a link works once and only before it expires, an unknown
address gets nothing, and the link goes out through the real mail transport."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from curation.errors import Unauthenticated
from curation.mail.errors import InvalidLink
from curation.mail.transport import OutboxTransport
from curation.people.keys import KeyCache
from curation.people.records import NewPerson
from curation.people.signin import SignIn, token_hash
from curation.storage.feeds import Store
from curation.storage.people import PeopleStore
from curation.storage.signin import SignInStore
from tests.helpers.settings import settings_for
from tests.helpers.web import link_in

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture
def service(any_store: Store, tmp_path: Path) -> SignIn:
    settings = settings_for(any_store, outbox_dir=str(tmp_path / "outbox"))
    return SignIn(SignInStore(any_store.engine), PeopleStore(any_store.engine), settings)


def _person(service: SignIn, email: str = "Ada@Example.org") -> int:
    record, _ = service.people.create(NewPerson(email=email, name="Ada"))
    return record.id


def _cached_service(any_store: Store, tmp_path: Path) -> tuple[SignIn, list[float]]:
    """A sign-in service over a people store with the key cache (as ``make_curation`` builds
    it), on a clock the test moves (``clock[0]``, seconds)."""
    clock = [0.0]
    cache = KeyCache(5, clock=lambda: clock[0])
    settings = settings_for(any_store, outbox_dir=str(tmp_path / "outbox"))
    people = PeopleStore(any_store.engine, key_cache=cache)
    return SignIn(SignInStore(any_store.engine), people, settings), clock


def test_a_link_works_once(service: SignIn) -> None:
    person_id = _person(service)
    person, token = service.issue("ada@example.org", now=NOW)  # case does not matter
    assert person.id == person_id
    assert service.store.state(token_hash(token)) is not None
    assert service.store.state(token) is None  # the token itself is stored nowhere
    assert service.redeem(token, now=NOW + timedelta(minutes=1)).id == person_id
    with pytest.raises(InvalidLink):
        service.redeem(token, now=NOW + timedelta(minutes=2))


def test_a_link_expires(service: SignIn) -> None:
    _person(service)
    _, token = service.issue("ada@example.org", now=NOW)
    late = NOW + timedelta(minutes=service.settings.web_sign_in_link_minutes)
    with pytest.raises(InvalidLink):
        service.redeem(token, now=late)
    _, fresh = service.issue("ada@example.org", now=NOW)
    assert service.redeem(fresh, now=late - timedelta(seconds=1)).email == "Ada@Example.org"


def test_forged_and_malformed_tokens_are_refused_alike(service: SignIn) -> None:
    _person(service)
    for token in ("", "x" * 43, "not a token", "a" * 500):
        with pytest.raises(InvalidLink) as refused:
            service.redeem(token, now=NOW)
        assert "not valid" in refused.value.detail


def test_an_unknown_address_gets_no_link_and_no_mail(service: SignIn, tmp_path: Path) -> None:
    _person(service)
    outbox = OutboxTransport(tmp_path / "outbox")
    assert service.mail_link("nobody@example.org", now=NOW, transport=outbox) is False
    assert not (tmp_path / "outbox").exists()


def test_the_mailed_link_signs_in_its_person(service: SignIn, tmp_path: Path) -> None:
    person_id = _person(service)
    assert service.mail_link("ada@example.org", now=NOW) is True  # the settings' outbox
    (mail,) = (tmp_path / "outbox").glob("sign-in-*.eml")
    message = BytesParser(policy=policy.default).parsebytes(mail.read_bytes())
    assert message["To"] == "Ada@Example.org"
    link = link_in(message)
    assert link.startswith(service.settings.base_url + "/sign-in/link?token=")
    token = link.split("token=")[1]
    assert hashlib.sha256(token.encode()).hexdigest() == token_hash(token)
    assert service.redeem(token, now=NOW).id == person_id


def test_api_key_sign_in(service: SignIn) -> None:
    _, key = service.people.create(NewPerson(email="k@example.org", name="K", role="curator"))
    assert service.with_api_key(key).role == "curator"
    with pytest.raises(Unauthenticated):
        service.with_api_key("wrong")
    with pytest.raises(Unauthenticated):
        service.with_api_key("  ")


def test_a_session_lasts_until_sign_out_or_expiry(service: SignIn) -> None:
    person_id = _person(service)
    person = service.people.get(person_id)
    token = service.start_session(person, now=NOW)
    assert service.store.session_person_id(token, now=NOW) is None  # only the hash is stored
    assert service.session_person(token, now=NOW).id == person_id
    hours = timedelta(hours=service.settings.web_session_hours)
    assert service.session_person(token, now=NOW + hours - timedelta(seconds=1)) is not None
    assert service.session_person(token, now=NOW + hours) is None  # expired
    other = service.start_session(person, now=NOW)
    service.end_session(other, now=NOW)
    assert service.session_person(other, now=NOW) is None  # signed out
    assert service.session_person(token, now=NOW) is not None  # another browser's goes on
    assert service.session_person("forged", now=NOW) is None
    service.people.delete(person_id)
    assert service.session_person(token, now=NOW) is None


def test_a_remembered_session_follows_sign_out_expiry_and_changes(
    any_store: Store, tmp_path: Path
) -> None:
    """With the key cache (as ``make_curation`` builds it), a page costs no query for who is
    signed in; a sign-out through this process and a change to the person apply at once, one
    made elsewhere (the row ended by another process) within the cache's seconds, and a
    remembered session never outlives its expiry."""
    service, clock = _cached_service(any_store, tmp_path)
    settings = service.settings
    person = service.people.get(_person(service))
    token = service.start_session(person, now=NOW)
    assert service.session_person(token, now=NOW).name == "Ada"
    # ended by another process: this one still knows the session until the cache forgets it
    service.store.end_session(token_hash(token), now=NOW)
    assert service.session_person(token, now=NOW) is not None
    clock[0] += 6
    assert service.session_person(token, now=NOW) is None
    # a change to the person through this process: seen at once
    other = service.start_session(person, now=NOW)
    assert service.session_person(other, now=NOW).name == "Ada"
    service.people.update(person.id, name="Ada L.")
    assert service.session_person(other, now=NOW).name == "Ada L."
    # a remembered session past its expiry is refused, cache or not
    hours = timedelta(hours=settings.web_session_hours)
    assert service.session_person(other, now=NOW + hours) is None
    # sign-out through this process: at once
    service.end_session(other, now=NOW)
    assert service.session_person(other, now=NOW) is None


def test_a_known_session_is_answered_from_memory_only_while_the_cache_stands(
    any_store: Store, tmp_path: Path
) -> None:
    """What a page asks on the event loop before going to a thread: the session's person when
    the key cache holds it and its mark was read within the check, else None (never a query)."""
    service, clock = _cached_service(any_store, tmp_path)
    settings = service.settings
    person = service.people.get(_person(service))
    token = service.start_session(person, now=NOW)
    assert service.known_session_person(token, now=NOW) is None  # not looked up yet
    assert service.session_person(token, now=NOW).id == person.id
    assert service.known_session_person(token, now=NOW).id == person.id
    hours = timedelta(hours=settings.web_session_hours)
    assert service.known_session_person(token, now=NOW + hours) is None  # expired
    assert service.known_session_person("forged", now=NOW) is None
    clock[0] += 5  # the mark is due to be read again: memory alone no longer answers
    assert service.known_session_person(token, now=NOW) is None
    assert service.session_person(token, now=NOW).id == person.id  # reads it; nothing moved
    assert service.known_session_person(token, now=NOW).id == person.id
    service.end_session(token, now=NOW)  # signed out through this process: forgotten at once
    assert service.known_session_person(token, now=NOW) is None
    uncached = SignIn(SignInStore(any_store.engine), PeopleStore(any_store.engine), settings)
    other = uncached.start_session(person, now=NOW)
    assert uncached.session_person(other, now=NOW).id == person.id
    assert uncached.known_session_person(other, now=NOW) is None  # no cache: always a thread
