"""People, their declared interests and mutes, their feedback, and API keys.

The only module that runs SQL for people. Callers get :class:`PersonRecord` dataclasses.
API keys are random 32-byte tokens shown once; only their SHA-256 is stored, and a lookup
compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from curation.errors import Conflict, InvalidInput, NotFound
from curation.storage.engine import param_marker
from curation.storage.tables import Feedback, Interest, Item, Mute, Person, utcnow
from curation.textrules import has_control

P = Person.__table__
INT = Interest.__table__
M = Mute.__table__
F = Feedback.__table__

ROLES = ("learner", "curator", "admin")
SIGNALS = ("useful", "not_useful", "saved", "opened")
_OPPOSITE = {"useful": "not_useful", "not_useful": "useful"}
KEY_PREFIX = "cur_"
MAX_INTERESTS = 50
MAX_PHRASE_CHARS = 100


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: int
    email: str
    name: str
    role: str
    timezone: str
    digest_hour: int
    email_digests: bool
    created_at: datetime
    interests: tuple[tuple[str, float], ...] = ()
    mutes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reaction:
    item_id: int
    signal: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NewPerson:
    email: str
    name: str
    role: str = "learner"
    timezone: str = "UTC"
    digest_hour: int = 7
    interests: Sequence[tuple[str, float]] = field(default_factory=tuple)
    mutes: Sequence[str] = field(default_factory=tuple)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def clean_phrase(phrase: str) -> str:
    if has_control(str(phrase)):
        raise InvalidInput("a phrase cannot contain control characters")
    value = " ".join(str(phrase).split())
    if not value:
        raise InvalidInput("an interest or mute phrase cannot be empty")
    if len(value) > MAX_PHRASE_CHARS:
        raise InvalidInput(f"phrase longer than {MAX_PHRASE_CHARS} characters: {value[:30]}…")
    return value


def check_person_fields(
    *, role: str | None = None, timezone: str | None = None, digest_hour: int | None = None
) -> None:
    if role is not None and role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder
            raise InvalidInput(f"unknown time zone {timezone!r}") from exc
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise InvalidInput("digest_hour must be between 0 and 23")


def _interest_rows(person_id: int, interests: Iterable[tuple[str, float]]) -> list[dict]:
    rows: dict[str, dict] = {}
    for phrase, weight in interests:
        text = clean_phrase(phrase)
        if not 0 < float(weight) <= 10:
            raise InvalidInput(f"weight of {text!r} must be above 0 and at most 10")
        rows[text.lower()] = {"person_id": person_id, "phrase": text, "weight": float(weight)}
    if len(rows) > MAX_INTERESTS:
        raise InvalidInput(f"at most {MAX_INTERESTS} interests")
    return list(rows.values())


def _mute_rows(person_id: int, mutes: Iterable[str]) -> list[dict]:
    rows = {clean_phrase(m).lower(): clean_phrase(m) for m in mutes}
    if len(rows) > MAX_INTERESTS:
        raise InvalidInput(f"at most {MAX_INTERESTS} mutes")
    return [{"person_id": person_id, "phrase": p} for p in rows.values()]


_PERSON_BY_KEY_SQL = (
    "SELECT id, email, name, role, timezone, digest_hour, email_digests, created_at, "
    "api_key_hash FROM person WHERE api_key_hash = {m}"
)
_INTERESTS_SQL = "SELECT phrase, weight FROM interest WHERE person_id = {m} ORDER BY id"
_MUTES_SQL = "SELECT phrase FROM mute WHERE person_id = {m} ORDER BY id"


_PROCESSORS: dict[str, tuple] = {}  # per dialect name


def _result_processors(engine: Engine) -> tuple:
    """The driver-value converters of person.created_at and person.email_digests."""
    found = _PROCESSORS.get(engine.dialect.name)
    if found is None:
        found = _PROCESSORS[engine.dialect.name] = tuple(
            column.type.dialect_impl(engine.dialect).result_processor(engine.dialect, None)
            for column in (P.c.created_at, P.c.email_digests)
        )
    return found


class KeyCache:
    """Who holds which API key, remembered for ``ttl`` seconds (keyed by the key's digest).

    Authenticating is the fixed cost of every API request; this cache saves its queries for a
    client that calls again within ``ttl``. The :class:`PeopleStore` that owns it forgets
    everything on each change it makes (role, key, deletion, interests…), so in one process a
    change is seen at once; a change made by another process (the CLI, another API worker) is
    seen within ``ttl``. Unknown keys are never remembered.
    """

    def __init__(
        self, ttl: float, *, size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, PersonRecord]] = OrderedDict()
        self._lock = threading.Lock()
        # bumped by clear(): a lookup that began before a change must not store what it read
        self.generation = 0

    def get(self, digest: str) -> PersonRecord | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if self.clock() >= entry[0]:
                del self._entries[digest]
                return None
            return entry[1]

    def put(self, digest: str, person: PersonRecord, *, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            self._entries[digest] = (self.clock() + self.ttl, person)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


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
        email = new.email.strip()
        if "@" not in email or len(email) > 320:
            raise InvalidInput("email must be an address like name@example.org")
        api_key = new_api_key()
        with self.engine.begin() as conn:
            try:
                person_id = conn.execute(
                    P.insert()
                    .values(
                        email=email,
                        name=new.name.strip() or email,
                        role=new.role,
                        timezone=new.timezone,
                        digest_hour=new.digest_hour,
                        email_digests=True,
                        api_key_hash=hash_key(api_key),
                        created_at=utcnow(),
                    )
                    .returning(P.c.id)
                ).scalar_one()
            except IntegrityError as exc:
                raise Conflict(f"a person with email {email} already exists") from exc
            rows = _interest_rows(person_id, new.interests)
            if rows:
                conn.execute(INT.insert(), rows)
            mutes = _mute_rows(person_id, new.mutes)
            if mutes:
                conn.execute(M.insert(), mutes)
        return self.get(person_id), api_key

    def get(self, person_id: int) -> PersonRecord:
        people = self._load(P.c.id == person_id)
        if not people:
            raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
        return people[0]

    def list(self, *, after_id: int = 0, limit: int = 50) -> list[PersonRecord]:
        return self._load(P.c.id > after_id, limit=limit)

    def all(self) -> list[PersonRecord]:
        return self._load(None)

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
        if fields:
            with self.engine.begin() as conn:
                try:
                    done = conn.execute(update(P).where(P.c.id == person_id).values(**fields))
                except IntegrityError as exc:
                    raise Conflict("that email belongs to another person") from exc
                if done.rowcount == 0:
                    raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
            self._changed()
        return self.get(person_id)

    def delete(self, person_id: int) -> None:
        with self.engine.begin() as conn:
            if conn.execute(delete(P).where(P.c.id == person_id)).rowcount == 0:
                raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
        self._changed()

    def authenticate(self, api_key: str) -> PersonRecord | None:
        """The person holding ``api_key``, or None. Digests are compared in constant time."""
        digest = hash_key(api_key)
        cache = self.key_cache
        if cache is not None:
            cached = cache.get(digest)
            if cached is not None:
                return cached
            generation = cache.generation
        found = self._load_by_key(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            return None
        if cache is not None:
            cache.put(digest, found[0], generation=generation)
        return found[0]

    def cached_person(self, api_key: str) -> PersonRecord | None:
        """The key's holder if the key cache knows it (no query), else None: then authenticate."""
        if self.key_cache is None:
            return None
        return self.key_cache.get(hash_key(api_key))

    def rotate_key(self, person_id: int) -> str:
        api_key = new_api_key()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(P).where(P.c.id == person_id).values(api_key_hash=hash_key(api_key))
            )
            if done.rowcount == 0:
                raise NotFound(f"person {person_id} does not exist", resource_id=person_id)
        self._changed()
        return api_key

    # ---- interests, mutes ------------------------------------------------------------------

    def set_interests(self, person_id: int, interests: Iterable[tuple[str, float]]) -> PersonRecord:
        rows = _interest_rows(person_id, interests)
        self.get(person_id)
        with self.engine.begin() as conn:
            conn.execute(delete(INT).where(INT.c.person_id == person_id))
            if rows:
                conn.execute(INT.insert(), rows)
        self._changed()
        return self.get(person_id)

    def set_mutes(self, person_id: int, mutes: Iterable[str]) -> PersonRecord:
        rows = _mute_rows(person_id, mutes)
        self.get(person_id)
        with self.engine.begin() as conn:
            conn.execute(delete(M).where(M.c.person_id == person_id))
            if rows:
                conn.execute(M.insert(), rows)
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
            match = (F.c.person_id == person_id) & (F.c.item_id == item_id)
            opposite = _OPPOSITE.get(signal)
            if opposite:
                conn.execute(delete(F).where(match & (F.c.signal == opposite)))
            updated = conn.execute(
                update(F).where(match & (F.c.signal == signal)).values(created_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(
                    F.insert().values(
                        person_id=person_id, item_id=item_id, signal=signal, created_at=now
                    )
                )
        return Reaction(item_id, signal, now)

    def reactions(self, person_ids: Sequence[int] | None = None) -> dict[int, list[Reaction]]:
        """Every person's useful / not_useful reactions, oldest first."""
        query = (
            select(F.c.person_id, F.c.item_id, F.c.signal, F.c.created_at)
            .where(F.c.signal.in_(("useful", "not_useful")))
            .order_by(F.c.created_at)
        )
        if person_ids is not None:
            query = query.where(F.c.person_id.in_(list(person_ids)))
        out: dict[int, list[Reaction]] = {}
        with self.engine.connect() as conn:
            for pid, item_id, signal, at in conn.execute(query):
                out.setdefault(pid, []).append(Reaction(item_id, signal, at))
        return out

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(P)).scalar_one()

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
        query = select(P).order_by(P.c.id)
        if where is not None:
            query = query.where(where)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            interests: dict[int, list[tuple[str, float]]] = {}
            mutes: dict[int, list[str]] = {}
            if ids:
                for pid, phrase, weight in conn.execute(
                    select(INT.c.person_id, INT.c.phrase, INT.c.weight)
                    .where(INT.c.person_id.in_(ids))
                    .order_by(INT.c.id)
                ):
                    interests.setdefault(pid, []).append((phrase, weight))
                for pid, phrase in conn.execute(
                    select(M.c.person_id, M.c.phrase).where(M.c.person_id.in_(ids)).order_by(M.c.id)
                ):
                    mutes.setdefault(pid, []).append(phrase)
        return [
            PersonRecord(
                id=r.id,
                email=r.email,
                name=r.name,
                role=r.role,
                timezone=r.timezone,
                digest_hour=r.digest_hour,
                email_digests=r.email_digests,
                created_at=r.created_at,
                interests=tuple(interests.get(r.id, ())),
                mutes=tuple(mutes.get(r.id, ())),
            )
            for r in rows
        ]
