"""The test suite, one folder per stage of ``curation`` (``ingest/``, ``storage/``, ``people/``,
``rank/``, ``digest/``, ``mail/``, ``cli/``) and one for the HTTP edge (``api/``); cross-cutting
checks at the top. Shared helpers live in ``helpers/``, fixtures in ``conftest.py`` (and in a
folder's own ``conftest.py`` where only that folder uses them), fixture feeds with their expected
results in ``data/``. No test module imports another."""
