"""The `curation` command line, run as a real subprocess through its installed entry point."""

from __future__ import annotations

from pathlib import Path

from curation.ingest.opml import parse_opml
from tests.helpers.cli import run
from tests.helpers.feeds import rss
from tests.helpers.feedserver import FeedServer
from tests.helpers.paths import ROOT


def test_import_list_export_roundtrip(env: dict[str, str], tmp_path: Path) -> None:
    run(["db", "upgrade"], env)
    out = run(["sources", "import", str(ROOT / "feeds.opml")], env).stdout
    defaults = parse_opml((ROOT / "feeds.opml").read_bytes())
    assert f"imported {len(defaults)} new sources" in out
    again = run(["sources", "import", "--if-empty", str(ROOT / "feeds.opml")], env).stdout
    assert "nothing imported" in again
    listing = run(["sources", "list"], env).stdout
    assert listing.strip().endswith(f"{len(defaults)} sources")
    exported = tmp_path / "out.opml"
    run(["sources", "export", "-o", str(exported)], env)
    back = parse_opml(exported.read_bytes())
    assert {(s.url, s.title, s.category) for s in back} == {
        (s.url, s.title, s.category) for s in defaults
    }


def test_add_and_ingest_prints_summary(env: dict[str, str], feed_server: FeedServer) -> None:
    run(["db", "upgrade"], env)
    good = feed_server.add(
        "/good", body=rss("Good", [{"title": "t", "guid": "g", "link": "https://e.org/1"}])
    )
    bad = feed_server.add("/bad", status=500)
    run(["sources", "add", good], env)
    run(["sources", "add", "--no-check", bad], env)  # a check would refuse its HTTP 500
    dup = run(["sources", "add", good], env, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    out = run(["ingest", "--verbose"], env).stdout
    assert "2 sources: 1 ok, 0 not modified, 1 failed; 1 new items" in out
    assert "HTTP 500" in out
    listing = run(["sources", "list"], env).stdout
    assert "error" in listing and "last error (1×): HTTP 500" in listing


def test_add_refuses_internal_address(env: dict[str, str]) -> None:
    run(["db", "upgrade"], env)
    proc = run(["sources", "add", "http://169.254.169.254/latest/meta-data/"], env, check=False)
    assert proc.returncode == 1 and "refused" in proc.stderr


def test_bad_opml_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    run(["db", "upgrade"], env)
    bad = tmp_path / "bad.opml"
    bad.write_text("<html><body>nope</body></html>")
    proc = run(["sources", "import", str(bad)], env, check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error:")
    assert "Traceback" not in proc.stderr
