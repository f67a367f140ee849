"""Operations: liveness and Prometheus metrics (both without authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from curation.metrics import ServiceMetrics

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
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
