"""The `curation` command line as a real subprocess, through its installed entry point, and the
service it runs, asked over HTTP on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path


def curation_cmd() -> list[str]:
    exe = shutil.which("curation", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "curation.cli.main"]


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any ``CURATION_*`` setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CURATION_")}
    env.update(values)
    return env


def run(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*curation_cmd(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def add_person(env: dict[str, str], *args: str) -> str:
    """``curation people add ARGS``; returns the new person's API key (printed once)."""
    out = run(["people", "add", *args], env).stdout
    return next(w for w in out.split() if w.startswith("cur_"))


def get_json(url: str, key: str | None = None) -> tuple[int, dict]:
    """GET a JSON document from the running service, with a person's API key when given."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.status, json.loads(r.read())
