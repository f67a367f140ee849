"""SQL for people, their interests, mutes and feedback (tables ``person``, ``interest``,
``mute``, ``feedback``). Callers get :class:`~curation.people.records.PersonRecord` objects.

API keys are stored as SHA-256 digests only; a lookup compares digests in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import fields

from sqlalchemy import Engine, Table, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from curation.clock import utcnow
from curation.errors import Conflict, InvalidInput, NotFound
from curation.people.keys import KeyCache, hash_key, new_api_key
from curation.people.records import NewPerson, PersonRecord, Reaction
from curation.people.rules import (
    check_person_fields,
    clean_email,
    clean_interests,
    clean_mutes,
    clean_name,
)
from curation.storage.engine import param_marker
from curation.storage.marks import FEEDBACK, PEOPLE, bump, read_marks
from curation.storage.tables import Feedback, Interest, Item, Mute, Person
from curation.storage.teams import forget_sharer
from curation.vocab import OPPOSITE_SIGNAL, RANKED_SIGNALS, SIGNALS, Signal

person_table = Person.__table__
interest_table = Interest.__table__
mute_table = Mute.__table__
feedback_table = Feedback.__table__

#: the ``person`` columns a :class:`PersonRecord` holds, in its order (the API key hash stays)
_RECORD_COLUMNS = tuple(
    person_table.c[f.name] for f in fields(PersonRecord) if f.name not in ("interests", "mutes")
)


def _interest_rows(person_id: int, interests: Iterable[tuple[str, float]]) -> list[dict]:
    return [
        {"person_id": person_id, "phrase": phrase, "weight": weight}
        for phrase, weight in clean_interests(interests)
    ]


def _mute_rows(person_id: int, mutes: Iterable[str]) -> list[dict]:
    return [{"person_id": person_id, "phrase": phrase} for phrase in clean_mutes(mutes)]


_PERSON_BY_KEY_SQL = (
    "SELECT id, email, name, role, timezone, digest_hour, email_digests, created_at, "
    "api_key_hash FROM person WHERE api_key_hash = {m}"
)
_INTERESTS_SQL = "SELECT phrase, weight FROM interest WHERE person_id = {m} ORDER BY id"
_MUTES_SQL = "SELECT phrase FROM mute WHERE person_id = {m} ORDER BY id"


_PROCESSORS: dict[str, tuple] = {}  # per dialect name
_IN_BATCH = 5000  # ids per IN (...) list: well under SQLite's limit of bound parameters


def _result_processors(engine: Engine) -> tuple:
    """The driver-value converters of person.created_at and person.email_digests."""
    found = _PROCESSORS.get(engine.dialect.name)
    if found is None:
        found = _PROCESSORS[engine.dialect.name] = tuple(
            column.type.dialect_impl(engine.dialect).result_processor(engine.dialect, None)
            for column in (person_table.c.created_at, person_table.c.email_digests)
        )
    return found


class PeopleStore:
    def __init__(self, engine: Engine, *, key_cache: KeyCache | None = None) -> None:
        self.engine = engine
        self.key_cache = key_cache

    def _changed(self) -> None:
        """Called after every write that can change what :meth:`authenticate` returns."""
        if self.key_cache is not None:
            self.key_cache.clear()

    # ---- people ----------------------------------------------------------------------------

    def create(self, new: NewPerson) -> tuple[PersonRecord, str]:
        """Create a person and return it with its API key (the only time the key is shown)."""
        check_person_fields(role=new.role, timezone=new.timezone, digest_hour=new.digest_hour)
        email = clean_email(new.email)
        api_key = new_api_key()
        with self.engine.begin() as conn:
            try:
                person_id = conn.execute(
                    person_table.insert()
                    .values(
                        email=email,
                        name=clean_name(new.name, fallback=email),
                        role=new.role,
                        timezone=new.timezone,
                        digest_hour=new.digest_hour,
                        email_digests=True,
                        api_key_hash=hash_key(api_key),
                        created_at=utcnow(),
                    )
                    .returning(person_table.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a person with email {email} already exists") from exc
            rows = _interest_rows(person_id, new.interests)
            if rows:
                conn.execute(interest_table.insert(), rows)
            mutes = _mute_rows(person_id, new.mutes)
            if mutes:
                conn.execute(mute_table.insert(), mutes)
        return self.get(person_id), api_key

    def get(self, person_id: int) -> PersonRecord:
        people = self._load(person_table.c.id == person_id)
        if not people:
            raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
        return people[0]

    def list(self, *, after_id: int = 0, limit: int = 50) -> list[PersonRecord]:
        return self._load(person_table.c.id > after_id, limit=limit)

    def all(self) -> list[PersonRecord]:
        return self._load(None)

    def many(self, person_ids: Iterable[int]) -> list[PersonRecord]:
        """The people with these ids that exist, by id (one read for a chunk of people)."""
        ids = sorted(set(person_ids))
        out: list[PersonRecord] = []
        for start in range(0, len(ids), _IN_BATCH):
            out.extend(self._load(person_table.c.id.in_(ids[start : start + _IN_BATCH])))
        return out

    def update(self, person_id: int, **fields: object) -> PersonRecord:
        allowed = {"name", "email", "role", "timezone", "digest_hour", "email_digests"}
        unknown = set(fields) - allowed
        if unknown:
            raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
        check_person_fields(
            role=fields.get("role"),  # type: ignore[arg-type]
            timezone=fields.get("timezone"),  # type: ignore[arg-type]
            digest_hour=fields.get("digest_hour"),  # type: ignore[arg-type]
        )
        if fields.get("email") is not None:
            fields["email"] = clean_email(str(fields["email"]))
        if fields.get("name") is not None:
            fields["name"] = clean_name(str(fields["name"]), fallback="")
            if not fields["name"]:
                raise InvalidInput("a name cannot be blank")
        if fields:
            with self.engine.begin() as conn:
                try:
                    done = conn.execute(
                        update(person_table).where(person_table.c.id == person_id).values(**fields)
                    )
                except IntegrityError as exc:
                    raise Conflict("that email belongs to another person") from exc
                if done.rowcount == 0:
                    raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
                bump(conn, PEOPLE)
            self._changed()
        return self.get(person_id)

    def delete(self, person_id: int) -> None:
        """Delete the person and what is theirs; their shares stay for teammates without
        note nor sharer, and past digests carrying them read "a former member"."""
        with self.engine.begin() as conn:
            forget_sharer(conn, person_id)
            if (
                conn.execute(delete(person_table).where(person_table.c.id == person_id)).rowcount
                == 0
            ):
                raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
            bump(conn, PEOPLE)
        self._changed()

    def authenticate(self, api_key: str) -> PersonRecord | None:
        """The person holding ``api_key``, or None. Digests are compared in constant time."""
        digest = hash_key(api_key)
        cache = self.key_cache
        if cache is not None:
            self.check_marks()
            cached = cache.get(digest)
            if cached is not None:
                return cached
            stamp = cache.stamp()
        found = self._load_by_key(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            return None
        if cache is not None:
            cache.put(digest, found[0], stamp=stamp)
        return found[0]

    def check_marks(self) -> None:
        """Read the ``people`` change mark for the key cache unless it was read within its
        ``check`` seconds (a change made by another process is then forgotten)."""
        if self.key_cache is not None:
            self.key_cache.refresh(lambda: read_marks(self.engine).get(PEOPLE, 0))

    def cached_person(self, api_key: str) -> PersonRecord | None:
        """The key's holder if the key cache knows it (no query), else None: then authenticate."""
        if self.key_cache is None:
            return None
        return self.key_cache.get(hash_key(api_key))

    def rotate_key(self, person_id: int) -> str:
        api_key = new_api_key()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(person_table)
                .where(person_table.c.id == person_id)
                .values(api_key_hash=hash_key(api_key))
            )
            if done.rowcount == 0:
                raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
            bump(conn, PEOPLE)
        self._changed()
        return api_key

    # ---- interests, mutes ------------------------------------------------------------------

    def set_interests(self, person_id: int, interests: Iterable[tuple[str, float]]) -> PersonRecord:
        return self._replace(person_id, interest_table, _interest_rows(person_id, interests))

    def set_mutes(self, person_id: int, mutes: Iterable[str]) -> PersonRecord:
        return self._replace(person_id, mute_table, _mute_rows(person_id, mutes))

    def _replace(self, person_id: int, table: Table, rows: list[dict]) -> PersonRecord:
        """Replace the person's rows in ``table`` (interests or mutes) with ``rows``."""
        self.get(person_id)
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.person_id == person_id))
            if rows:
                conn.execute(table.insert(), rows)
            bump(conn, PEOPLE)
        self._changed()
        return self.get(person_id)

    # ---- feedback --------------------------------------------------------------------------

    def record_feedback(self, person_id: int, item_id: int, signal: str) -> Reaction:
        """Record a reaction; useful and not_useful replace each other (latest wins)."""
        if signal not in SIGNALS:
            raise InvalidInput(f"signal must be one of {', '.join(SIGNALS)}")
        now = utcnow()
        with self.engine.begin() as conn:
            if conn.execute(select(Item.id).where(Item.id == item_id)).first() is None:
                raise NotFound(f"item {item_id} does not exist", resource_id=item_id)
            match = (feedback_table.c.person_id == person_id) & (
                feedback_table.c.item_id == item_id
            )
            opposite = OPPOSITE_SIGNAL.get(Signal(signal))
            if opposite:
                conn.execute(
                    delete(feedback_table).where(match & (feedback_table.c.signal == opposite))
                )
            updated = conn.execute(
                update(feedback_table)
                .where(match & (feedback_table.c.signal == signal))
                .values(created_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(
                    feedback_table.insert().values(
                        person_id=person_id, item_id=item_id, signal=signal, created_at=now
                    )
                )
            if signal in RANKED_SIGNALS:
                bump(conn, FEEDBACK)
        return Reaction(item_id, signal, now)

    def reactions(self, person_ids: Sequence[int] | None = None) -> dict[int, list[Reaction]]:
        """Every person's useful / not_useful reactions, oldest first."""
        query = (
            select(
                feedback_table.c.person_id,
                feedback_table.c.item_id,
                feedback_table.c.signal,
                feedback_table.c.created_at,
            )
            .where(feedback_table.c.signal.in_(sorted(RANKED_SIGNALS)))
            .order_by(feedback_table.c.created_at)
        )
        queries = [query]
        if person_ids is not None:
            ids = sorted(set(person_ids))
            queries = [
                query.where(feedback_table.c.person_id.in_(ids[start : start + _IN_BATCH]))
                for start in range(0, len(ids), _IN_BATCH)
            ]
        out: dict[int, list[Reaction]] = {}
        with self.engine.connect() as conn:
            for each in queries:
                for pid, item_id, signal, at in conn.execute(each):
                    out.setdefault(pid, []).append(Reaction(item_id, signal, at))
        return out

    def ids_by_email(self, addresses: Iterable[str]) -> dict[str, int]:
        """Each address (trimmed) -> the id of the person who has it, compared without regard
        to case as at sign-in (the exact spelling wins when two people's differ only by case).
        An address nobody has is a 422 naming every such address, so a caller changes nothing.
        """
        wanted = list(dict.fromkeys(a.strip() for a in addresses if a.strip()))
        lowered = sorted({a.lower() for a in wanted})
        found: dict[str, list[tuple[int, str]]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(lowered), _IN_BATCH):
                query = select(person_table.c.id, person_table.c.email).where(
                    func.lower(person_table.c.email).in_(lowered[start : start + _IN_BATCH])
                )
                for person_id, email in conn.execute(query):
                    found.setdefault(email.lower(), []).append((person_id, email))
        ids: dict[str, int] = {}
        for address in wanted:
            matches = found.get(address.lower(), [])
            exact = [pid for pid, email in matches if email == address]
            if exact or len(matches) == 1:
                ids[address] = exact[0] if exact else matches[0][0]
        unknown = [a for a in wanted if a not in ids]
        if unknown:
            raise InvalidInput(
                f"nobody has the address {', '.join(unknown)}: check it, or add the person first",
                resource_id=unknown[0],
            )
        return ids

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(person_table)).scalar_one()

    def id_range(self) -> tuple[int, int] | None:
        """The lowest and highest person id, or None with nobody (the digest jobs' chunks)."""
        query = select(func.min(person_table.c.id), func.max(person_table.c.id))
        with self.engine.connect() as conn:
            low, high = conn.execute(query).one()
        return None if low is None else (low, high)

    # ---- loading ---------------------------------------------------------------------------

    def _load_by_key(self, digest: str) -> tuple[PersonRecord, str] | None:
        """The holder of a key digest, and the stored digest, in three plain statements.

        Every uncached API request runs this, so it skips SQLAlchemy's statement building
        (a third of the cost of :meth:`_load`); values go through the columns' own result
        processors, so the record is the same one :meth:`get` returns (tested).
        """
        m = param_marker(self.engine)
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(_PERSON_BY_KEY_SQL.format(m=m), (digest,)).first()
            if row is None:
                return None
            interests = conn.exec_driver_sql(_INTERESTS_SQL.format(m=m), (row[0],)).all()
            mutes = conn.exec_driver_sql(_MUTES_SQL.format(m=m), (row[0],)).all()
        created_at, email_digests = row[7], row[6]
        processors = _result_processors(self.engine)
        if processors[0] is not None:
            created_at = processors[0](created_at)
        if processors[1] is not None:
            email_digests = processors[1](email_digests)
        person = PersonRecord(
            id=row[0],
            email=row[1],
            name=row[2],
            role=row[3],
            timezone=row[4],
            digest_hour=row[5],
            email_digests=bool(email_digests),
            created_at=created_at,
            interests=tuple((phrase, weight) for phrase, weight in interests),
            mutes=tuple(phrase for (phrase,) in mutes),
        )
        return person, row[8]

    def _load(self, where, limit: int | None = None) -> list[PersonRecord]:  # noqa: ANN001
        query = select(*_RECORD_COLUMNS).order_by(person_table.c.id)
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            interests: dict[int, list[tuple[str, float]]] = {}
            mutes: dict[int, list[str]] = {}
            # in batches: everyone at once would pass more ids than a statement may bind
            # (PostgreSQL: 65,535 parameters; SQLite: 250,000 by default)
            for start in range(0, len(ids), _IN_BATCH):
                batch = ids[start : start + _IN_BATCH]
                for pid, phrase, weight in conn.execute(
                    select(
                        interest_table.c.person_id, interest_table.c.phrase, interest_table.c.weight
                    )
                    .where(interest_table.c.person_id.in_(batch))
                    .order_by(interest_table.c.id)
                ):
                    interests.setdefault(pid, []).append((phrase, weight))
                for pid, phrase in conn.execute(
                    select(mute_table.c.person_id, mute_table.c.phrase)
                    .where(mute_table.c.person_id.in_(batch))
                    .order_by(mute_table.c.id)
                ):
                    mutes.setdefault(pid, []).append(phrase)
        return [
            PersonRecord(
                **r._mapping,
                interests=tuple(interests.get(r.id, ())),
                mutes=tuple(mutes.get(r.id, ())),
            )
            for r in rows
        ]
