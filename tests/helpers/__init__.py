"""What the tests share and that is not a fixture: local servers (HTTP feeds, SMTP), builders of
settings, stored items, people and digests, the command line as a subprocess, and paths.

Fixtures live in ``tests/conftest.py``; no test module imports another test module.
"""
