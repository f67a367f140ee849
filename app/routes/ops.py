"""Operations: health and Prometheus metrics (both without authentication).

``/healthz`` is 503 ``{"status": "unhealthy", "reason": …}`` while the database cannot be served
(its schema is not the code's, and the reason says what to run; or it cannot be reached), 200
``{"status": "ok"}`` otherwise.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from app.deps import DomainProvider
from curation.metrics import ServiceMetrics
from curation.storage.schema import SCHEMA_RETRY_AFTER

router = APIRouter(tags=["ops"])
log = logging.getLogger(__name__)


@router.get(
    "/healthz",
    responses={503: {"description": "Not serving: `reason` says why and what to run"}},
)
async def healthz(request: Request) -> dict[str, str]:
    provider: DomainProvider = request.app.state.domain
    try:
        reason = None if provider.ready else await run_in_threadpool(provider.schema_problem)
    except Exception:  # the database cannot even be asked: not healthy either
        log.warning("health check: the database cannot be reached", exc_info=True)
        reason = "the database cannot be reached (the error is logged)"
    if reason is not None:
        return JSONResponse(  # type: ignore[return-value]
            {"status": "unhealthy", "reason": reason},
            status_code=503,
            headers={"Retry-After": str(SCHEMA_RETRY_AFTER)},
        )
    return {"status": "ok"}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Request and ingest counters in the Prometheus text format (no personal data); under
    several worker processes with ``PROMETHEUS_MULTIPROC_DIR`` set, summed over all of them."""
    registry: ServiceMetrics = request.app.state.metrics
    return Response(registry.render(), media_type=ServiceMetrics.CONTENT_TYPE)
