"""Operations: liveness and Prometheus metrics (both without authentication)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

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
def metrics(request: Request) -> PlainTextResponse:
    """Request and ingest counters in the Prometheus text format (no personal data)."""
    registry: ServiceMetrics = request.app.state.metrics
    return PlainTextResponse(registry.render(), media_type=ServiceMetrics.CONTENT_TYPE)
