"""A person's portfolio: the items they saved or found useful, their own notes on them, and
what they shared with their teams -- theirs to keep, export and take to another instance.

- :mod:`.records` -- the records that cross its lines;
- :mod:`.document` -- the versioned JSON document (format ``curation-portfolio``, version 1);
- :mod:`.export` -- the document, an Atom feed and xAPI statements, from the stored entries (pure);
- :mod:`.restore` -- an imported document turned into what the store restores (pure);
- :mod:`.service` -- saved items, notes, export and import for the person asking.

SQL is in :mod:`curation.storage.portfolio`; routes in ``app/routes/portfolio.py``.
"""
