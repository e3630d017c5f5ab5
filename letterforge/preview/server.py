"""The preview's web server: a Starlette app served by uvicorn on 127.0.0.1 only.

Routes: ``/`` the page; ``/api/state`` what it shows (JSON); ``POST /api/candidate``
another letter; ``/img/pdf/<rendering>/<n>.png`` and ``/img/docx/...`` page images;
``/api/docx/<rendering>`` the DOCX laid out by LibreOffice (on demand: it takes seconds);
``/events`` server-sent events, one ``revision`` event per change.

Ctrl-C: the event streams end at once (else uvicorn would wait for them), the server
stops, and :func:`serve` raises KeyboardInterrupt for the command to exit 130.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import UsageError
from . import page
from .state import Preview
from .watcher import watch


def make_app(preview: Preview, stopping: threading.Event) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    no_store = {"Cache-Control": "no-store"}

    def index(request: Request) -> Response:
        return HTMLResponse(page.html(preview.year), headers=no_store)

    def state(request: Request) -> Response:
        return JSONResponse(preview.state(), headers=no_store)

    async def candidate(request: Request) -> Response:
        body = await request.json()
        slug = str(body.get("slug", ""))
        await asyncio.to_thread(preview.select, slug)
        return JSONResponse(preview.state(), headers=no_store)

    def image(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        rendering, n = request.path_params["rendering"], request.path_params["n"]
        view = preview.view
        if view is None or view.id != rendering:
            return Response(status_code=404)
        pages = view.pdf_pages if fmt == "pdf" else (view.docx_pages or [])
        if not 1 <= n <= len(pages):
            return Response(status_code=404)
        # a rendering's images never change: its id is in the URL
        return Response(pages[n - 1].png, media_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})

    def docx(request: Request) -> Response:
        view = preview.view
        if view is None or view.id != request.path_params["rendering"]:
            return JSONResponse({"pages": [], "note": "This letter was rendered again: "
                                 "reload."}, headers=no_store)
        pages, note = preview.docx_view(view)
        return JSONResponse({"note": note, "pages": [
            {"src": f"/img/docx/{view.id}/{i + 1}.png", "width": p.width, "height": p.height}
            for i, p in enumerate(pages)]}, headers=no_store)

    async def events(request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            last = -1
            yield "retry: 1000\n\n"
            while not stopping.is_set():
                revision = preview.revision
                if revision != last:
                    last = revision
                    yield f"event: revision\ndata: {json.dumps({'revision': revision})}\n\n"
                await asyncio.sleep(0.1)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    return Starlette(routes=[
        Route("/", index),
        Route("/api/state", state),
        Route("/api/candidate", candidate, methods=["POST"]),
        Route("/api/docx/{rendering:int}", docx),
        Route("/img/{fmt:str}/{rendering:int}/{n:int}.png", image),
        Route("/events", events),
    ])


def bind(port: int | None) -> socket.socket:
    """A listening socket on 127.0.0.1 (never another interface); port 0: a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--port: cannot listen on 127.0.0.1:{port} ({exc.strerror}); "
                         "choose another port or leave --port out for a free one") from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(preview: Preview, port: int | None, on_ready: Callable[[str], None]) -> None:
    """Serve the preview until Ctrl-C (then KeyboardInterrupt is raised)."""
    import uvicorn

    stopping = threading.Event()
    sock = bind(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            stopping.set()  # end the event streams, or shutdown would wait for them
            super().handle_exit(sig, frame)

    def changed(paths: list[Any]) -> None:
        preview.refresh()

    config = uvicorn.Config(make_app(preview, stopping), log_level="warning",
                            lifespan="off", timeout_graceful_shutdown=2)
    server = Server(config)
    watcher = watch(preview.inputs, changed, stopping)
    on_ready(url)
    interrupted = False
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stopping.set()
        sock.close()
        watcher.join(timeout=2)
    # uvicorn re-raises the signal it caught once it has stopped: that is Ctrl-C
    if interrupted or server.should_exit:
        sys.stderr.flush()
        raise KeyboardInterrupt
