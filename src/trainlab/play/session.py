"""One browser tab's session: its settings, its main run, its "try the fix" copies.

A session is made per WebSocket and closed with it: closing stops every run it started. Messages
from the page are dicts with a ``type``; replies are dicts too (the server sends them as JSON).
"""
from __future__ import annotations

import threading
from typing import Any, Optional

import torch

from trainlab.play import state as st
from trainlab.play.adapter import NotApplicable, UsageError, chunks_needed, describe_change, fix_for, member_config
from trainlab.play.run import Run

MESSAGE_TYPES = ("state", "play", "pause", "step", "reset", "fix", "export")


class Session:
    def __init__(self, device: torch.device, limits: st.Limits = st.LIMITS):
        self.device, self.limits = device, limits
        self.state: Optional[dict[str, Any]] = None
        self.raw: Optional[dict[str, Any]] = None
        self.main: Optional[Run] = None
        self.fixes: dict[str, Run] = {}
        self._n_fix = 0
        self._lock = threading.Lock()  # the sender reads the runs while a request replaces them

    # ---- the page's requests --------------------------------------------------------------------
    def handle(self, msg: Any) -> list[dict[str, Any]]:
        """Replies to one message (blocking: the server calls it off its event loop)."""
        if not isinstance(msg, dict) or msg.get("type") not in MESSAGE_TYPES:
            kind = msg.get("type") if isinstance(msg, dict) else type(msg).__name__
            return [error(f"unknown message {kind!r}; valid: {', '.join(MESSAGE_TYPES)}")]
        kind = msg["type"]
        try:
            if kind == "state":
                return [self.set_state(msg.get("state"))]
            if kind == "export":
                return [self.export()]
            if kind == "fix":
                return [self.try_fix(msg.get("member"), msg.get("code"))]
            if self.main is None:
                return [error("nothing to run yet: send the settings first")]
            if kind == "reset":
                return [self.set_state(self.state)]
            {"play": self.main.play, "pause": self.main.pause, "step": self.main.advance}[kind]()
            return []
        except st.StateError as e:
            return [error(str(e), e.field)]
        except UsageError as e:
            return [error(str(e))]

    def set_state(self, state: Any) -> dict[str, Any]:
        """Validate the page's settings like ``trainlab train`` does; a valid one replaces the run."""
        s, raw, cfg = st.validate(state, self.device.type)
        try:
            run = Run(cfg, "main", self.device)  # draws the data: the generator checks its parameters
        except UsageError as e:
            raise st.data_error(str(e), s) from None
        if chunks_needed(cfg, run.dataset, run.k) > 1:
            raise st.StateError("this population does not fit trainlab's memory budget in one piece; use fewer "
                                "members or points", "seeds")
        self.stop_all()
        with self._lock:
            self.state, self.raw, self.main = s, raw, run.start()
        return {"type": "ready", "state": s, "info": run.info()}

    def export(self) -> dict[str, Any]:
        if self.raw is None:
            return error("nothing to export yet")
        return {"type": "export", "yaml": st.export_yaml(self.raw), "filename": "play.yaml"}

    def try_fix(self, member: Any, code: Any) -> dict[str, Any]:
        """Apply the fix table's row for ``code`` to a copy of ``member`` and train it beside the original."""
        if self.main is None or self.raw is None:
            return error("nothing to fix yet")
        if not isinstance(member, int) or not 0 <= member < self.main.k:
            return error(f"member must be a member id 0..{self.main.k - 1}, got {member!r}")
        if not isinstance(code, str):
            return error(f"code must be a finding code, got {code!r}")
        try:
            fix = fix_for(code)
        except KeyError as e:
            return error(str(e.args[0]))
        if not fix.available:
            return error(f"{code}: {fix.description}")
        live = [r for r in self.fixes.values() if r.status not in ("done", "failed", "closed")]
        if len(self.fixes) >= self.limits.fixes and not live:
            self._drop_oldest_fix()
        elif len(self.fixes) >= self.limits.fixes:
            return error(f"at most {self.limits.fixes} fixed copies per tab; wait for one to finish")
        original = member_config(self.main.cfg, self.main.members[member])
        try:
            fixed = fix.apply_config(original)
        except NotApplicable as e:
            return error(f"{fix.name} does not apply to member #{member}: {e}")
        self._n_fix += 1
        run_id = f"fix{self._n_fix}"
        label = f"#{member} fixed: {fix.name}"
        run = Run(fixed, run_id, self.device, labels=[label], autoplay=True).start()
        with self._lock:
            self.fixes[run_id] = run
        return {"type": "fix", "run": run_id, "member": member, "code": code, "fix": fix.name,
                "changes": describe_change(original, fixed), "info": run.info()}

    def _drop_oldest_fix(self) -> None:
        with self._lock:
            oldest = next(iter(self.fixes))
            run = self.fixes.pop(oldest)
        run.close()

    # ---- streaming and closing -----------------------------------------------------------------
    def runs(self) -> list[Run]:
        with self._lock:
            return ([self.main] if self.main is not None else []) + list(self.fixes.values())

    def stop_all(self) -> None:
        for run in self.runs():
            run.close()
        with self._lock:
            self.main, self.fixes = None, {}

    def close(self) -> None:
        """The tab is gone: stop its training."""
        self.stop_all()


def error(message: str, field: Optional[str] = None) -> dict[str, Any]:
    return {"type": "error", "message": message, "field": field}
