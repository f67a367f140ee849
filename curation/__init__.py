"""curation: personal, explained daily digests from the knowledge flows people follow.

Data flows one way: ``feeds.opml`` → ingest (fetch → parse → clean → dedupe) → store →
rank → digest → deliver (API | email).
"""

__version__ = "0.1.0"
