"""Where things are: the repository, the fixture feeds beside the tests, and the optional shared
corpus next to the checkout (``../shared/data``; absent on a clean CI checkout)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"
SHARED_FEEDS = SHARED_DATA / "feeds"
