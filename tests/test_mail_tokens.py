"""Signed link tokens: round trip, forgery, expiry, wrong action, and the persisted key."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from curation.errors import InvalidInput
from curation.mail.errors import ExpiredLink, InvalidLink
from curation.mail.tokens import load_secret, sign, verify
from curation.settings import Settings
from tests.test_mail_support import NOW, SECRET

FEEDBACK = ("useful", "not_useful")


def test_round_trip_and_url_safe() -> None:
    token = sign(SECRET, "useful", 7, 1234, NOW + timedelta(days=30))
    claim = verify(SECRET, token, now=NOW, actions=FEEDBACK)
    assert (claim.action, claim.person_id, claim.item_id) == ("useful", 7, 1234)
    assert claim.expires_at == NOW + timedelta(days=30)
    assert all(c.isalnum() or c in "._-" for c in token) and len(token) < 60


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace(".7.", ".8.", 1),  # another person
        lambda t: t.replace(".1234.", ".1235.", 1),  # another item
        lambda t: "n" + t[1:],  # the other answer
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: t.rsplit(".", 2)[0] + ".9999999999." + t.rsplit(".", 1)[1],  # the expiry
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
    assert ExpiredLink.status == 400 and issubclass(ExpiredLink, InvalidInput)


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
