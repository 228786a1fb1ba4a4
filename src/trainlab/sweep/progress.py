"""One progress bar over a whole sweep: ETA, members per second and the running best config.

Work is counted in member-steps (a member trained for one step), so stages of different lengths
(coarse to fine) and chunks of different sizes fill the bar fairly. Members per second is the
member-steps per second of this process divided by the steps per member of the current stage.
Chunks found committed (a resumed sweep) fill the bar at once and do not count toward the rate.

On a terminal it is a rich bar; otherwise (a log file, CI) a plain line at most every 10 s.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO

PLAIN_EVERY_S = 10.0


class SweepProgress:
    """``advance(member_steps)``, ``reused(member_steps)``, ``set_best(text)``, ``set_stage(name, steps)``."""

    def __init__(self, total: int, quiet: bool = False, console: Any = None, stream: Optional[TextIO] = None,
                 terminal: Optional[bool] = None):
        self.total = max(int(total), 1)
        self.done = 0
        self.fresh = 0  # member-steps trained by this process
        self.best = "-"
        self.stage = ""
        self.steps = 1
        self.quiet = quiet
        self.t0 = time.monotonic()
        self._last_plain = 0.0
        self.stream = stream or sys.stderr
        terminal = self.stream.isatty() if terminal is None else terminal
        self._bar = None
        if not quiet and terminal:
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("sweep {task.fields[stage]}"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[rate]}"),
                                 TextColumn("best: {task.fields[best]}"), console=console, transient=False)
            self._task = self._bar.add_task("sweep", total=self.total, stage="", rate="", best="-")

    def __enter__(self) -> "SweepProgress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._update(force=True)
        if self._bar is not None:
            self._bar.stop()

    # ---- the library calls these -------------------------------------------------------------
    def set_total(self, total: int) -> None:
        self.total = max(int(total), self.done, 1)
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def set_stage(self, name: str, steps: int) -> None:
        self.stage, self.steps = name, max(int(steps), 1)
        self._update()

    def advance(self, member_steps: int) -> None:
        self.done += member_steps
        self.fresh += member_steps
        self._update()

    def reused(self, member_steps: int) -> None:
        self.done += member_steps
        self._update()

    def set_best(self, text: str) -> None:
        self.best = text
        self._update()

    def members_per_s(self) -> float:
        dt = time.monotonic() - self.t0
        return self.fresh / self.steps / dt if dt > 0 else 0.0

    # ---- output ------------------------------------------------------------------------------
    def _update(self, force: bool = False) -> None:
        if self.quiet:
            return
        rate = f"{self.members_per_s():,.0f} members/s"
        if self._bar is not None:
            self._bar.update(self._task, completed=min(self.done, self.total), stage=self.stage, rate=rate,
                             best=self.best)
            return
        now = time.monotonic()
        if not force and now - self._last_plain < PLAIN_EVERY_S:
            return
        self._last_plain = now
        frac = min(self.done / self.total, 1.0)
        elapsed = now - self.t0
        fresh_frac = self.fresh / self.total
        eta = elapsed * (1 - frac) / fresh_frac if fresh_frac > 0 else float("nan")
        eta_text = f"{eta:.0f} s" if eta == eta else "?"
        self.stream.write(f"sweep {self.stage}: {100 * frac:5.1f}%  ETA {eta_text}  {rate}  best: {self.best}\n")
        self.stream.flush()
