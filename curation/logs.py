"""Where the service's log lines go: stderr, at ``CURATION_LOG_LEVEL``, as text or JSON lines.

Only the edges call :func:`configure_logging` (the CLI, ``curation run``); library code just
logs to its module's logger. JSON lines (``CURATION_LOG_FORMAT=json``) come from
python-json-logger: one object a line with ``time``, ``level``, ``logger``, ``message`` and
any ``extra`` fields a call passes (counts, ids).
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from curation.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_curation_handler"


def configure_logging(settings: Settings) -> logging.Handler:
    """Send every log line at ``settings.log_level`` or above to stderr, once per process."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARK, True)
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
