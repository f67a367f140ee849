"""The ``curation`` command line."""
