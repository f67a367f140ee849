"""The HTTP edge: a thin FastAPI layer over the :mod:`curation` domain (no SQL, no parsing)."""
