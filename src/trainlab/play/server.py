"""The playground's web server: Starlette + uvicorn, one WebSocket per tab.

Safe by default:

- it binds 127.0.0.1 unless told otherwise, and answers only requests whose Host header names
  this server (no DNS rebinding);
- each launch makes a token. The printed URL carries it once: the page at ``/?token=...`` sets a
  cookie for this port and redirects to the same page without it. Without the token (or cookie)
  the page is refused with 403;
- the WebSocket is refused (HTTP 403) unless its Origin is this server and its ``token`` query
  parameter is this launch's token, so no other web page can drive it;
- at most ``LIMITS.sessions`` tabs train at once; a further tab is told so and closed;
- pages are served with a Content-Security-Policy that allows only this server (the page loads
  nothing from anywhere else: no CDN, no fonts).

Training runs in worker threads (``run.Run``); the event loop only relays messages and frames.
"""
from __future__ import annotations

import asyncio
import errno
import json
import secrets
import socket
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Optional
from urllib.parse import urlencode

import torch
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from trainlab.play import state as st
from trainlab.play.session import Session, error

SEND_HZ = 20.0  # how often a tab's sender looks for news from its runs
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'none'")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")


@dataclass
class PlayApp:
    """Everything a launch shares: its token, where it listens, its device, its open sessions."""

    host: str
    port: int
    device: torch.device
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sessions: set = field(default_factory=set)
    limits: st.Limits = st.LIMITS

    @property
    def cookie(self) -> str:
        return f"trainlab_play_{self.port}"

    @property
    def wildcard(self) -> bool:
        """Bound to every address (0.0.0.0, ::): any Host name may reach it, so the Origin must be
        the page's own (same-origin) and the token does the guarding."""
        return self.host in WILDCARD

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.wildcard else self.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def hosts(self) -> list[str]:
        return ["*"] if self.wildcard else sorted({self.host, *LOOPBACK})

    def origin_ok(self, origin: Optional[str], host_header: Optional[str]) -> bool:
        """The WebSocket's Origin is this server as the page reached it."""
        if not origin or not host_header or origin != f"http://{host_header}":
            return False
        return self.wildcard or origin in self.origins()

    def origins(self) -> set[str]:
        out = set()
        for h in self.hosts():
            shown = f"[{h}]" if ":" in h else h
            out.add(f"http://{shown}:{self.port}")
        return out

    def token_ok(self, given: Optional[str]) -> bool:
        return isinstance(given, str) and secrets.compare_digest(given.encode(), self.token.encode())


def _static(name: str) -> bytes:
    return resources.files("trainlab.play").joinpath("static", name).read_bytes()


STATIC_TYPES = {"play.js": "text/javascript", "charts.js": "text/javascript", "play.css": "text/css"}


def build_app(play: PlayApp):
    """The Starlette application of one launch."""
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
               "Cache-Control": "no-store"}

    async def index(request):
        given = request.query_params.get("token")
        if given is not None:
            if not play.token_ok(given):
                return HTMLResponse(REFUSED, status_code=403, headers=headers)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            resp = RedirectResponse("/" + ("?" + urlencode(rest) if rest else ""), status_code=303, headers=headers)
            resp.set_cookie(play.cookie, play.token, httponly=True, samesite="strict", path="/")
            return resp
        if not play.token_ok(request.cookies.get(play.cookie)):
            return HTMLResponse(REFUSED, status_code=403, headers=headers)
        page = _static("index.html").decode("utf-8").replace("{{TOKEN}}", play.token)
        return HTMLResponse(page, headers=headers)

    async def static(request):
        name = request.path_params["name"]
        if name not in STATIC_TYPES:
            return Response("not found", status_code=404, headers=headers)
        return Response(_static(name), media_type=STATIC_TYPES[name], headers=headers)

    async def favicon(request):
        return Response(b"", status_code=204, headers=headers)

    async def ws_endpoint(websocket: WebSocket):
        origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
        if not play.origin_ok(origin, host) or not play.token_ok(websocket.query_params.get("token")):
            await websocket.close(code=1008)  # before accept: the handshake is refused with HTTP 403
            return
        await websocket.accept()
        await _serve_tab(websocket, play)

    routes = [Route("/", index), Route("/static/{name}", static), Route("/favicon.ico", favicon),
              WebSocketRoute("/ws", ws_endpoint)]
    return Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=play.hosts())])


async def _serve_tab(websocket: WebSocket, play: PlayApp) -> None:
    """One accepted tab: a session of its own (at most ``limits.sessions``), its messages handled off
    the event loop, its frames sent as they come; closing the tab closes the session (and its training)."""
    if len(play.sessions) >= play.limits.sessions:
        await websocket.send_json(error(f"too many tabs: at most {play.limits.sessions} train at once; close "
                                        f"another playground tab and reload this one") | {"fatal": True})
        await websocket.close(code=1013)
        return
    session = Session(play.device, play.limits)
    play.sessions.add(session)
    await websocket.send_json(hello())
    sender = asyncio.create_task(_sender(websocket, session))
    try:
        while True:
            text = await websocket.receive_text()
            try:
                msg = json.loads(text)
            except ValueError:
                replies = [error("a message must be JSON")]
            else:
                replies = await asyncio.to_thread(session.handle, msg)
            for r in replies:
                await websocket.send_json(r)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sender.cancel()
        session.close()
        play.sessions.discard(session)


async def _sender(websocket, session: Session) -> None:
    """Send each run's news to the tab, at most ``SEND_HZ`` times a second."""
    cursors: dict[int, dict] = {}
    while True:
        for run in session.runs():
            cur = cursors.setdefault(run.uid, {})
            frame = run.frame(cur)
            if frame is not None:
                await websocket.send_text(json.dumps(frame, allow_nan=False))
        await asyncio.sleep(1.0 / SEND_HZ)


def hello() -> dict[str, Any]:
    """What the page needs to build its controls: defaults, choices, limits and presets."""
    lim = st.LIMITS
    return {"type": "hello", "defaults": st.DEFAULTS, "choices": st.CHOICES,
            "controls": [{"key": c.key, "label": c.label, "config": c.config} for c in st.CONTROLS],
            "limits": {"members": lim.members, "points": lim.points, "layers": lim.layers, "width": lim.width,
                       "steps": lim.steps, "sessions": lim.sessions},
            "presets": {k: {"title": v["title"], "state": st.preset_state(k)} for k, v in st.PRESETS.items()},
            "lab_structures": [list(s) for s in sorted(st.LAB_STRUCTURES)]}


REFUSED = """<!doctype html><meta charset="utf-8"><title>trainlab play</title>
<p>This page needs the address <code>trainlab play</code> printed when it started (it carries this
launch's token). Open that address, then this one again.</p>"""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a one-line usage error (port in use, bad address)."""
    from trainlab.play.adapter import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno in (errno.EADDRINUSE, 10048):
            raise UsageError(f"port {port} on {host} is in use; choose another with --port (or --port 0 for any "
                             f"free port)") from None
        raise UsageError(f"cannot listen on {host} port {port}: {e.strerror or e}; give --host an address of "
                         f"this machine (default 127.0.0.1)") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


def make_server(play: PlayApp) -> uvicorn.Server:
    config = uvicorn.Config(build_app(play), log_level="warning", ws="websockets-sansio", lifespan="off",
                            timeout_graceful_shutdown=2, ws_max_size=1 << 20)
    return uvicorn.Server(config)


def serve(host: str, port: int, device: torch.device, open_browser: bool, echo) -> None:
    """Run until Ctrl-C (which then propagates as KeyboardInterrupt: exit 130 in the CLI)."""
    sock = bind(host, port)
    play = PlayApp(host, sock.getsockname()[1], device)
    server = make_server(play)
    echo(f"trainlab play: open {play.url}")
    if host not in LOOPBACK:
        where = "every address of this machine" if play.wildcard else host
        echo(f"warning: listening on {where}, reachable from other machines (the token still guards it)")
    if open_browser:
        _open(play.url)
    try:
        server.run(sockets=[sock])
    finally:
        for s in list(play.sessions):
            s.close()


def _open(url: str) -> None:
    """Open the page where a graphical browser can be found (never a console browser)."""
    import os
    import sys
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return
    try:
        webbrowser.open(url)
    except Exception:  # a missing browser is not an error: the URL is printed
        pass
