"""The periodic work as jobs on PostgreSQL, run by any number of ``curation worker`` processes.

PostgreSQL is the queue (procrastinate): no broker to run. A *round* of work
(:mod:`curation.jobs.schedule`) is enqueued every minute by whichever worker's periodic deferrer
gets there first (procrastinate keeps one job per minute), or on demand by
``curation jobs enqueue``; it splits the work into jobs (:mod:`curation.jobs.tasks`):

- ingest, one job per shard of sources (source id modulo ``CURATION_JOBS_INGEST_SHARDS``);
- refit of the ranking model, after an ingest stored new items (at most one waiting);
- digest building, one job per range of ``CURATION_JOBS_PEOPLE_PER_CHUNK`` person ids;
- delivery, ``CURATION_JOBS_DELIVERY_LANES`` jobs per channel (e-mail today) that share the
  due messages, after digests were built.

Each job carries a *queueing lock* (at most one copy of it waiting) and a *lock* (never two
copies running at once), so any number of schedulers enqueue each piece of work once. A job
whose worker died (no heartbeat for ``CURATION_WORKER_STALLED_SECONDS``) is put back in the
queue by the surviving workers (:mod:`curation.jobs.recovery`); running a job twice is
harmless because the database's unique constraints and the delivery claims decide what is
recorded and sent (:mod:`curation.digest.service`, :mod:`curation.mail.deliver`).

The embedded default (SQLite, ``curation run``) runs the same work in-process
(:mod:`curation.scheduler`), with no queue.
"""
