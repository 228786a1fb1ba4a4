"""A `trainlab play` server in a thread of the test process, and a WebSocket client for it.

Used by the play server and browser tests and by benchmarks/play.py. ``unavailable()`` names a
missing part (the play extra) so a test can skip with that reason (a failure under CI=true).
"""
from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any, Callable, Iterator, Optional


def unavailable() -> Optional[str]:
    for name in ("starlette", "uvicorn", "websockets"):
        try:
            __import__(name)
        except ImportError:
            return f"{name} is not installed (pip install -e '.[play]')"
    return None


@contextlib.contextmanager
def running_server(device: str = "cpu", host: str = "127.0.0.1") -> Iterator[Any]:
    """A server on a free port of 127.0.0.1; yields its ``PlayApp`` (``.port``, ``.token``, ``.url``).
    ``host`` is what the app believes it was bound to (its Host and Origin rules follow it)."""
    import torch

    from trainlab.play.server import PlayApp, bind, make_server

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as `trainlab play` does by default
    sock = bind("127.0.0.1", 0)
    play = PlayApp(host, sock.getsockname()[1], torch.device(device))
    server = make_server(play)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    t_end = time.monotonic() + 20
    while not server.started and time.monotonic() < t_end:
        time.sleep(0.02)
    try:
        yield play
    finally:
        server.should_exit = True
        thread.join(10)
        for s in list(play.sessions):
            s.close()
        torch.set_num_threads(threads)


class Client:
    """A tab without a browser: sends page messages and reads the server's replies and frames."""

    def __init__(self, play: Any, origin: Optional[str] = None, token: Optional[str] = None, host: str = "127.0.0.1"):
        from websockets.sync.client import connect

        origin = origin or f"http://{host}:{play.port}"
        token = play.token if token is None else token
        self._cm = connect(f"ws://{host}:{play.port}/ws?token={token}", origin=origin, open_timeout=10)
        self.ws = self._cm.__enter__()
        self.messages: list[dict] = []
        self.hello = self.wait(lambda m: m["type"] in ("hello", "error"))

    def send(self, **msg: Any) -> None:
        self.ws.send(json.dumps(msg))

    def wait(self, pred: Callable[[dict], bool], timeout: float = 60.0) -> dict:
        t_end = time.monotonic() + timeout
        while True:
            left = t_end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message in {timeout} s; last: {self.messages[-3:]}")
            msg = json.loads(self.ws.recv(timeout=left))
            self.messages.append(msg)
            if pred(msg):
                return msg

    def start(self, state: dict, play: bool = True) -> dict:
        """Send settings; returns the 'ready' reply (raises on an 'error' reply)."""
        self.send(type="state", state=state)
        msg = self.wait(lambda m: m["type"] in ("ready", "error"))
        if msg["type"] == "error":
            raise ValueError(msg["message"])
        if play:
            self.send(type="play")
        return msg

    def final(self, run: str = "main", uid: Optional[int] = None, timeout: float = 120.0) -> dict:
        """The frame that carries a run's final numbers."""
        return self.wait(lambda m: m["type"] == "frame" and m["run"] == run and (uid is None or m["uid"] == uid)
                         and m.get("status") in ("done", "failed", "closed"), timeout)

    def close(self) -> None:
        self._cm.__exit__(None, None, None)
