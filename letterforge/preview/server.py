"""The preview's web server: a Starlette app served by uvicorn on 127.0.0.1 only.

Routes: ``/`` the page; ``/api/state`` what it shows (JSON); ``POST /api/candidate``
another letter; ``/img/pdf/<rendering>/<n>.png`` and ``/img/docx/...`` page images;
``POST /api/docx/<rendering>`` the DOCX laid out by LibreOffice (on demand: it takes
seconds); ``/events`` server-sent events, one ``revision`` event per change.

It is a web server on the person's machine, and any web page they visit can send it
requests: so it answers only requests addressed to the name it was started on
(``127.0.0.1:PORT`` or ``localhost:PORT``: a DNS-rebinding page's ``Host`` is its own
name); a request that changes something or starts LibreOffice must be a POST from the
page itself: JSON, the page's own ``Origin`` when the browser sends one, and the
per-session token the page carries (a cross-site form or ``text/plain`` POST has none,
and a custom header cannot be sent cross-site without a preflight the server never
allows); nothing changes state on GET. A request it cannot read gets 400 and a line;
a connection that sends nothing is closed after a few seconds.

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

#: How long a connection may stay open without sending a request (seconds).
IDLE_TIMEOUT = 5


def _refused(status: int, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def make_app(preview: Preview, stopping: threading.Event, port: int = 0,
             token: str | None = None) -> Any:
    import secrets

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    no_store = {"Cache-Control": "no-store"}
    token = token or secrets.token_urlsafe(32)
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    origins = {f"http://{h}" for h in hosts}

    def foreign(request: Request) -> Response | None:
        """Why a request is refused: another Host (DNS rebinding), or a write that is not
        the page's own (see the module); None when it is served."""
        if request.headers.get("host", "").lower() not in hosts:
            return _refused(421, "this preview answers only to "
                            f"http://127.0.0.1:{port}/ and http://localhost:{port}/")
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin.lower() not in origins:
                return _refused(403, "a request from another site")
            if request.headers.get("x-letterforge-token") != token:
                return _refused(403, "the request does not come from the preview's page")
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return _refused(415, "send JSON (Content-Type: application/json)")
        return None

    def index(request: Request) -> Response:
        return HTMLResponse(page.html(preview.year, token), headers=no_store)

    def state(request: Request) -> Response:
        return JSONResponse(preview.state(), headers=no_store)

    async def candidate(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _refused(400, "the body is not JSON: send {\"slug\": \"...\"}")
        slug = body.get("slug") if isinstance(body, dict) else None
        if not isinstance(slug, str) or slug not in {c.slug for c in preview.candidates}:
            return _refused(400, "no such letter: send the slug of one of this year's "
                            "candidates")
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

    async def docx(request: Request) -> Response:
        view = preview.view
        if view is None or view.id != request.path_params["rendering"]:
            return JSONResponse({"pages": [], "note": "This letter was rendered again: "
                                 "reload."}, headers=no_store)
        pages, note = await asyncio.to_thread(preview.docx_view, view)
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

    class Guard:
        """Refuses a foreign request before any route sees it (see :func:`foreign`)."""

        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                refused = foreign(Request(scope))
                if refused is not None:
                    await refused(scope, receive, send)
                    return
            await self.app(scope, receive, send)

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/state", state),
        Route("/api/candidate", candidate, methods=["POST"]),
        Route("/api/docx/{rendering:int}", docx, methods=["POST"]),
        Route("/img/{fmt:str}/{rendering:int}/{n:int}.png", image),
        Route("/events", events),
    ])
    return Guard(app)


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


def idle_protocol() -> type:
    """uvicorn's HTTP/1.1 protocol, with a connection that sends nothing closed after
    IDLE_TIMEOUT: uvicorn's keep-alive timer, which it starts only after a response,
    started as the connection opens too. (uvicorn has no public setting for it; its
    ``timeout_keep_alive`` is the same timer. tests/unit/test_preview.py holds a real
    server to it.)"""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                IDLE_TIMEOUT, self.timeout_keep_alive_handler)

    return Protocol


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

    config = uvicorn.Config(make_app(preview, stopping, sock.getsockname()[1]),
                            log_level="warning", lifespan="off", timeout_graceful_shutdown=2,
                            timeout_keep_alive=IDLE_TIMEOUT, http=idle_protocol())
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
