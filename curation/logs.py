"""Where the service's log lines go: stderr, at ``CURATION_LOG_LEVEL``, as text or JSON lines.

Only the edges call :func:`configure_logging` (the CLI, ``curation run``); library code just
logs to its module's logger. JSON lines (``CURATION_LOG_FORMAT=json``) come from
python-json-logger: one object a line with ``time``, ``level``, ``logger``, ``message`` and
any ``extra`` fields a call passes (counts, ids).

Every line logged while the API answers a request carries that request's id (``request_id``,
the ``X-Request-ID`` the client sees): the edge sets it with :func:`set_request_id` and a filter
on our handler adds it to each record (in text lines as ``[request_id=…]``).
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from curation.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_curation_handler"
_REQUEST_ID: ContextVar[str | None] = ContextVar("curation_request_id", default=None)


def set_request_id(request_id: str | None) -> None:
    """The id of the request being answered in this context (each request runs in its own)."""
    _REQUEST_ID.set(request_id)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records logged while a request is answered (lets all through)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = _REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [request_id={request_id}]" if request_id else line


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
        handler.setFormatter(_TextFormatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
