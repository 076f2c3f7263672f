"""The chat widget's bundle (`GET /widget/advisor.js`) and the demo page (`GET /`), from web/.

The bundle is built by `make web` (npm + esbuild into web/dist/, never committed); until then
its route answers 503 saying so.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from advisor.errors import BackendUnavailable

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
BUNDLE = WEB_DIR / "dist" / "advisor.js"
DEMO_PAGE = WEB_DIR / "demo.html"
FRESH = {"Cache-Control": "no-cache"}  # revalidated on every load: a rebuild shows at once

router = APIRouter(include_in_schema=False)


@router.get("/widget/advisor.js")
async def widget_bundle() -> FileResponse:
    """The widget's script: defines `<advisor-chat>`; 503 until `make web` has built it."""
    if not BUNDLE.is_file():
        raise BackendUnavailable("the chat widget is not built: run make web")
    return FileResponse(BUNDLE, media_type="application/javascript", headers=FRESH)


@router.get("/")
async def demo_page() -> FileResponse:
    """The demo page: pick a seeded customer (development profile) or paste a token, chat."""
    return FileResponse(DEMO_PAGE, media_type="text/html", headers=FRESH)
