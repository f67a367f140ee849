"""Signed link tokens: round trip, forgery, expiry, wrong action, and the persisted key."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from app.problems import status_of
from curation.errors import InvalidInput
from curation.mail import tokens
from curation.mail.errors import ExpiredLink, InvalidLink
from curation.mail.tokens import held_by, load_secret, verify
from curation.settings import Settings
from tests.helpers.digests import NOW, SECRET

FEEDBACK = ("useful", "not_useful")
CREATED = NOW - timedelta(days=100, microseconds=123_456)  # when person 7 was created


def sign(secret, action, person_id, item_id, expires_at, *, created=CREATED):  # noqa: ANN001, ANN201
    """The module's ``sign`` for a person 7 created at ``CREATED`` unless told otherwise."""
    return tokens.sign(secret, action, person_id, item_id, expires_at, person_created_at=created)


def test_round_trip_and_url_safe() -> None:
    token = sign(SECRET, "useful", 7, 1234, NOW + timedelta(days=30))
    claim = verify(SECRET, token, now=NOW, actions=FEEDBACK)
    assert (claim.action, claim.person_id, claim.item_id) == ("useful", 7, 1234)
    assert claim.expires_at == NOW + timedelta(days=30)
    assert held_by(SECRET, claim, CREATED)
    assert all(c.isalnum() or c in "._-" for c in token) and len(token) < 60


def _field(token: str, index: int, value: str) -> str:
    fields = token.split(".")
    fields[index] = value
    return ".".join(fields)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace(".7.", ".8.", 1),  # another person
        lambda t: t.replace(".1234.", ".1235.", 1),  # another item
        lambda t: "n" + t[1:],  # the other answer
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: _field(t, 3, "9999999999"),  # the expiry
        lambda t: _field(t, 4, sign(SECRET, "useful", 7, 1234, NOW, created=NOW).split(".")[4]),
    ],
)
def test_forged_tokens_are_refused(tamper) -> None:
    token = sign(SECRET, "useful", 7, 1234, NOW + timedelta(days=30))
    with pytest.raises(InvalidLink) as err:
        verify(SECRET, tamper(token), now=NOW, actions=FEEDBACK)
    assert not isinstance(err.value, ExpiredLink)


def test_another_key_and_garbage_are_refused() -> None:
    token = sign(SECRET, "useful", 7, 1, NOW + timedelta(days=1))
    with pytest.raises(InvalidLink):
        verify("another-secret-key-0123456789", token, now=NOW, actions=FEEDBACK)
    for junk in ["", "x", "u.1.2.3", token + ".x", token * 3, "u.1.2.3." + "A" * 22 + "\n"]:
        with pytest.raises(InvalidLink):
            verify(SECRET, junk, now=NOW, actions=FEEDBACK)


def test_expired_token_says_so() -> None:
    token = sign(SECRET, "not_useful", 7, 1, NOW + timedelta(days=1))
    assert verify(SECRET, token, now=NOW + timedelta(hours=23), actions=FEEDBACK)
    with pytest.raises(ExpiredLink, match="expired"):
        verify(SECRET, token, now=NOW + timedelta(days=1), actions=FEEDBACK)
    assert status_of(ExpiredLink("x")) == (400, "Expired link") and issubclass(
        ExpiredLink, InvalidInput
    )


def test_a_token_only_works_for_its_action() -> None:
    unsubscribe = sign(SECRET, "unsubscribe", 7, 0, NOW + timedelta(days=1))
    with pytest.raises(InvalidLink, match="unsubscribe"):
        verify(SECRET, unsubscribe, now=NOW, actions=FEEDBACK)
    useful = sign(SECRET, "useful", 7, 3, NOW + timedelta(days=1))
    with pytest.raises(InvalidLink):
        verify(SECRET, useful, now=NOW, actions=("unsubscribe",))


def test_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "curation.secret"
    settings = Settings(secret_key_file=str(path))
    first = load_secret(settings)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(Settings(secret_key_file=str(path))) == first  # after a "restart"
    assert len(first) >= 32
    assert [p.name for p in path.parent.iterdir()] == ["curation.secret"]  # no temp files left


def test_configured_secret_wins_and_must_be_long(tmp_path: Path) -> None:
    path = tmp_path / "curation.secret"
    assert load_secret(Settings(secret_key=SECRET, secret_key_file=str(path))) == SECRET
    assert not path.exists()
    with pytest.raises(InvalidInput, match="at least"):
        load_secret(Settings(secret_key="short", secret_key_file=str(path)))


def test_a_token_names_the_person_not_just_the_id() -> None:
    """Person 7 deleted and another person 7 created: the first one's links are not theirs."""
    token = sign(SECRET, "unsubscribe", 7, 0, NOW + timedelta(days=365))
    claim = verify(SECRET, token, now=NOW, actions=("unsubscribe",))
    assert held_by(SECRET, claim, CREATED)
    assert held_by(SECRET, claim, CREATED.replace(tzinfo=None))  # naive is UTC
    for later in (CREATED + timedelta(microseconds=1), NOW, NOW + timedelta(days=1)):
        assert not held_by(SECRET, claim, later)
    # the tag is keyed: with another key the same person gets another one
    assert tokens.holder_tag(SECRET, 7, CREATED) != tokens.holder_tag(SECRET * 2, 7, CREATED)
    assert tokens.holder_tag(SECRET, 7, CREATED) != tokens.holder_tag(SECRET, 8, CREATED)


def test_first_format_tokens_are_refused_with_a_hint() -> None:
    """Links of the first format name only an id: whoever holds it now may not be the one
    they were mailed to, so they are refused (the next digest brings working links)."""
    body = f"x.7.0.{int((NOW + timedelta(days=300)).timestamp())}"
    old = f"{body}.{tokens._signature(SECRET, body)}"
    with pytest.raises(InvalidLink, match="older e-mail"):
        verify(SECRET, old, now=NOW, actions=("unsubscribe",))
