"""SQL for signing in to the web pages: one-time sign-in links (table ``sign_in_link``: issue
one, redeem it once) and the sessions of signed-in browsers (table ``web_session``).

Only a SHA-256 of a link's token is stored. Redeeming is one conditional ``UPDATE`` (unused and
not expired, then marked used), so two clicks racing on one link sign in at most once, on
either database. A session is found by its token's hash while it has neither ended (sign-out)
nor expired. Links and sessions over for a day are deleted when new ones are made.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from curation.storage.marks import PEOPLE, bump
from curation.storage.tables import Person, SignInLink, WebSession

L = SignInLink.__table__
P = Person.__table__
S = WebSession.__table__
KEEP_EXPIRED = timedelta(days=1)


class SignInStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def person_id_by_email(self, email: str) -> int | None:
        """The person with this address, compared without regard to case; None if nobody."""
        query = select(P.c.id).where(func.lower(P.c.email) == email.strip().lower()).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def issue(self, person_id: int, token_hash: str, *, now: datetime, expires_at: datetime) -> int:
        """Record a new link for ``person_id``; returns its id."""
        with self.engine.begin() as conn:
            conn.execute(L.delete().where(L.c.expires_at < now - KEEP_EXPIRED))
            return conn.execute(
                L.insert()
                .values(
                    token_hash=token_hash,
                    person_id=person_id,
                    created_at=now,
                    expires_at=expires_at,
                )
                .returning(L.c.id)
            ).scalar_one()

    def redeem(self, token_hash: str, *, now: datetime) -> int | None:
        """Mark the link used and return its person's id; None when no unused, unexpired link
        has this hash (never found, already used, or expired)."""
        with self.engine.begin() as conn:
            return conn.execute(
                L.update()
                .where(L.c.token_hash == token_hash, L.c.used_at.is_(None), L.c.expires_at > now)
                .values(used_at=now)
                .returning(L.c.person_id)
            ).scalar()

    def state(self, token_hash: str) -> tuple[datetime, datetime | None] | None:
        """``(expires_at, used_at)`` of a link (for tests and messages); None if unknown."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(L.c.expires_at, L.c.used_at).where(L.c.token_hash == token_hash)
            ).first()
        return None if row is None else (row.expires_at, row.used_at)

    # ---- sessions of the web pages -----------------------------------------------------------

    def start_session(
        self, person_id: int, token_hash: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Record a signed-in browser (sessions over for a day are deleted on the way)."""
        with self.engine.begin() as conn:
            conn.execute(S.delete().where(S.c.expires_at < now - KEEP_EXPIRED))
            conn.execute(
                S.delete().where(S.c.ended_at.is_not(None), S.c.ended_at < now - KEEP_EXPIRED)
            )
            conn.execute(
                S.insert().values(
                    token_hash=token_hash,
                    person_id=person_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def session_person_id(self, token_hash: str, *, now: datetime) -> int | None:
        """The person of a session that has neither ended nor expired; None otherwise."""
        found = self.live_session(token_hash, now=now)
        return found[0] if found else None

    def live_session(self, token_hash: str, *, now: datetime) -> tuple[int, datetime] | None:
        """(person id, expiry) of a session that has neither ended nor expired; else None."""
        query = select(S.c.person_id, S.c.expires_at).where(
            S.c.token_hash == token_hash, S.c.ended_at.is_(None), S.c.expires_at > now
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], row[1]) if row else None

    def end_session(self, token_hash: str, *, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                S.update()
                .where(S.c.token_hash == token_hash, S.c.ended_at.is_(None))
                .values(ended_at=now)
            )
            bump(conn, PEOPLE)  # other processes forget the session they remember
