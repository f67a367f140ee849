"""The domain stands alone: every module of ``curation`` imports, and the services build, with
the web framework and the web app out of reach. Only ``curation.cli.serve`` (the edge that
serves the app) may import them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT

EDGE = {"curation.cli.serve"}

PROBE = r"""
import importlib, pkgutil, sys

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("fastapi", "starlette", "app"):
            raise ImportError(f"the domain imported {name}")
        return None

sys.meta_path.insert(0, Blocked())
import curation

edge = set(sys.argv[1].split(","))
names = []
for info in pkgutil.walk_packages(curation.__path__, "curation."):
    if info.name in edge:
        continue
    importlib.import_module(info.name)
    names.append(info.name)

from curation.services import make_curation
from curation.settings import Settings

services = make_curation(Settings(database_url="sqlite:///" + sys.argv[2]))
assert services.digests.recommender is services.recommender
assert services.sources.policy is services.policy
services.close()
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("fastapi", "starlette", "app"))
assert not leaked, leaked
print(len(names))
"""


def test_domain_imports_and_builds_without_the_web(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(EDGE), str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 40  # every module of the domain was imported


def test_only_the_serving_edge_imports_the_web_app() -> None:
    offenders = []
    for path in (ROOT / "curation").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        text = path.read_text(encoding="utf-8")
        if module in EDGE:
            assert "from app." in text  # the edge really is where serving happens
            continue
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and stripped.split()[1].split(".")[0] in (
                "fastapi",
                "starlette",
                "app",
            ):
                offenders.append(f"{module}: {stripped}")
    assert offenders == []
