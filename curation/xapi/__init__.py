"""xAPI (ADL's Experience API 1.0.3): what people do with items, as learning records for an LRS.

:mod:`.statements` builds statements (pure), :mod:`.collector` turns new events into queued
statements, :mod:`.client` posts a batch to the LRS, :mod:`.outbox` sends what is due with
backoff, :mod:`.service` runs collect-then-flush (``curation xapi flush`` and the scheduler).
"""
