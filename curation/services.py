"""The one place that builds the services: :func:`make_curation` (reader's ``make_reader``).

The HTTP app, every CLI command and the scheduler get their engine, stores and services from
here and nowhere else, so they behave the same by construction (the address policy on every
way into the sources table, the same ranking, the same delivery loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from curation.channels.sealing import seal_for
from curation.channels.service import ChannelService
from curation.clock import utcnow
from curation.curate.collection_service import CollectionService
from curation.curate.insight_service import InsightService
from curation.digest.service import DigestService
from curation.ingest.netpolicy import AddressPolicy
from curation.ingest.pipeline import IngestSummary, ingest, ingest_async
from curation.ingest.sources import SourceService
from curation.mail.deliver import DeliveryPipeline, DeliveryReport
from curation.mail.transport import Transport
from curation.people.keys import KeyCache
from curation.portfolio.service import PortfolioService
from curation.publish.personal import PersonalFeeds
from curation.rank.recommender import Recommender, refresh_model
from curation.settings import Settings, get_settings
from curation.storage.channels import ChannelStore
from curation.storage.collections import CollectionStore
from curation.storage.deliveries import DeliveryStates
from curation.storage.digests import DigestRows
from curation.storage.engine import make_engine
from curation.storage.feeds import Store
from curation.storage.gems import GemStore
from curation.storage.insights import InsightQueries, OpenStore
from curation.storage.items import ItemQueries
from curation.storage.people import PeopleStore
from curation.storage.personal_feeds import PersonalFeedStore
from curation.storage.portfolio import PortfolioStore
from curation.storage.rank_models import RankStore
from curation.storage.teams import TeamStore
from curation.storage.xapi import XapiStore
from curation.teams.service import TeamService
from curation.xapi.service import XapiService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DigestRun:
    built: int
    delivery: DeliveryReport

    def line(self) -> str:
        return f"{self.built} digests built; e-mail: {self.delivery.line()}"


@dataclass(frozen=True, slots=True)
class Curation:
    """Everything a process needs, built once from :class:`Settings`."""

    settings: Settings
    engine: Engine
    policy: AddressPolicy
    store: Store  # sources and the write path of fetched feeds (ingest)
    sources: SourceService  # every way into the sources table, behind the address policy
    people: PeopleStore
    items: ItemQueries
    gems: GemStore
    ranking: RankStore
    recommender: Recommender  # caches the fitted model: one per process
    digests: DigestService
    collections: CollectionService  # curators' collections and their public feeds
    insights: InsightService  # what learners want: aggregates for curators
    opens: OpenStore  # counted opens of items from digest e-mails
    personal_feeds: PersonalFeeds  # each person's private digest feed (Atom, JSON Feed)
    xapi: XapiService  # xAPI statements for a learning record store (outbox, collect, flush)
    channels: ChannelService  # Slack / Teams webhooks and each channel's cadence
    deliveries: DeliveryStates  # read-only delivery states of recorded digests
    portfolio: PortfolioService  # saved items, personal notes, portfolio export / import
    teams: TeamService  # teams, their members and shares (the over-sharing guard)

    # ---- the flow, one call per stage ------------------------------------------------------

    def ingest(self, **kwargs: object) -> IngestSummary:
        """One ingest cycle over the sources that are due (see :func:`ingest`), leaving the
        ranker able to rank what it stored (:meth:`keep_ranking_current`)."""
        summary = ingest(self.store, self.settings, **kwargs)
        self.keep_ranking_current(summary, kwargs.get("now"))  # type: ignore[arg-type]
        return summary

    async def ingest_async(self, **kwargs: object) -> IngestSummary:
        summary = await ingest_async(self.store, self.settings, **kwargs)
        await asyncio.to_thread(self.keep_ranking_current, summary, kwargs.get("now"))
        return summary

    def keep_ranking_current(self, summary: IngestSummary, now: datetime | None = None) -> bool:
        """After an ingest that stored items: fit the model when none exists yet or when the
        items added since the last fit call for it; otherwise the recommender adds new items
        to the fitted model on its next use (no refit). True when it refitted."""
        if not summary.new_items:
            return False
        if self.recommender.ready():
            model = self.recommender.model()
            if model is not None and not model.needs_refit:
                return False
        refitted = self.refit(now)
        log.info("ranking model refitted after %d new items: %s", summary.new_items, refitted)
        return refitted

    def refit(self, now: datetime | None = None) -> bool:
        """Fit the ranking model on the recent window; False when there is nothing to fit."""
        return refresh_model(self.settings, self.ranking, self.gems, now)

    def run_digests(
        self,
        now: datetime | None = None,
        *,
        transport: Transport | None = None,
        person_ids: Sequence[int] | None = None,
    ) -> DigestRun:
        """Build every digest due now (of ``person_ids`` only, when given) and deliver every
        pending one, sending each chunk of digests as soon as it is recorded while the next
        is built. Safe to run again."""
        now = now or utcnow()
        with DeliveryPipeline(self.engine, self.settings, now=now, transport=transport) as send:
            built = self.digests.build_due(now, person_ids=person_ids, on_chunk=send.ready)
        if built:
            filled = sum(1 for view in built if view.item_count)
            log.info("digests: %d built (%d with items)", len(built), filled)
        return DigestRun(len(built), send.report)

    def close(self) -> None:
        self.engine.dispose()


def make_curation(settings: Settings | None = None, *, engine: Engine | None = None) -> Curation:
    """Build the services from ``settings`` (the environment's when None).

    Fails fast on an invalid ``CURATION_FETCH_ALLOW_HOSTS``; connects to nothing until used.
    """
    settings = settings or get_settings()
    policy = AddressPolicy.from_setting(settings.fetch_allow_hosts)
    engine = engine or make_engine(settings.database_url)
    ttl = settings.api_auth_cache_seconds
    store = Store(engine)
    people = PeopleStore(engine, key_cache=KeyCache(ttl) if ttl > 0 else None)
    items = ItemQueries(engine)
    gems = GemStore(engine)
    ranking = RankStore(engine)
    recommender = Recommender(settings, store=ranking, gems=gems, people=people)
    team_store = TeamStore(engine)
    digests = DigestService(
        settings,
        rows=DigestRows(engine),
        people=people,
        items=items,
        gems=gems,
        recommender=recommender,
        teams=team_store,
    )
    return Curation(
        settings=settings,
        engine=engine,
        policy=policy,
        store=store,
        sources=SourceService(store, policy, settings),
        people=people,
        items=items,
        gems=gems,
        ranking=ranking,
        recommender=recommender,
        digests=digests,
        collections=CollectionService(CollectionStore(engine), settings.base_url),
        insights=InsightService(
            settings,
            queries=InsightQueries(engine),
            ranking=ranking,
            recommender=recommender,
            items=items,
        ),
        opens=OpenStore(engine),
        personal_feeds=PersonalFeeds(
            PersonalFeedStore(engine),
            base_url=settings.base_url,
            days=settings.personal_feed_days,
        ),
        xapi=XapiService(settings, XapiStore(engine)),
        channels=ChannelService(ChannelStore(engine, seal_for(settings)), policy),
        deliveries=DeliveryStates(engine),
        portfolio=PortfolioService(
            PortfolioStore(engine),
            items,
            base_url=settings.base_url,
            max_import_bytes=settings.portfolio_max_import_bytes,
            max_import_items=settings.portfolio_max_import_items,
        ),
        teams=TeamService(team_store, weekly_budget=settings.share_weekly_budget),
    )
