"""One live training run: ``trainlab train``'s training, in a worker thread, that can be watched,
paused, stepped and stopped.

The thread calls the very training ``trainlab train`` calls (``adapter.train`` ->
``runner.run_population`` -> ``fit``), so a page's numbers equal the exported config's. A
``LiveCallback`` rides along in ``fit``:

- it blocks, between two steps, while the run is paused (``fit`` simply waits: no state changes);
- it returns ``Stop(EARLY_STOP, ...)`` when the run is closed (tab closed, reset, new settings);
- it records losses for the diagnosis and probes on watch's schedule;
- at most ``FRAME_HZ`` times a second it draws every member's decision boundary on a grid.

Nothing it does draws random numbers or writes to the model, so watching changes no result.
The page's sender reads ``Run.frame(cursor)``: what changed since its last read.
"""
from __future__ import annotations

import base64
import itertools
import math
import threading
import time
from typing import Any, Optional

import numpy as np
import torch

from trainlab.play.adapter import (Config, Reason, Stop, fix_applies, load_data, population_logits, regime,
                                   resolve_members, train)
from trainlab.play.diagnosis import PopulationDiagnosis

FRAME_HZ = 15.0  # boundary redraws per second at most (the page draws each frame it receives)
# live views may cost at most this share of the training thread's time: a probe or a boundary
# frame that comes due sooner than (its last cost / share) after the previous one is skipped
PROBE_SHARE, FRAME_SHARE = 0.08, 0.08
REGIMES_EVERY = 0.3  # seconds between regime labels (they change slowly); every frame that is forced
GRID = 32  # boundary resolution per member tile (GRID x GRID)
MARGIN = 0.15  # of the data range, around the points
MAX_POINTS_SHOWN = 400  # training points sent for drawing
_serial = itertools.count(1)


class LiveCallback:
    """The run's hooks into ``fit`` (see the module docstring)."""

    def __init__(self, run: "Run"):
        self.run = run

    def on_fit_start(self, state) -> None:
        self.run._started(state)

    def on_step_end(self, state) -> Optional[Stop]:
        return self.run._after_step(state)

    def on_eval(self, state) -> Optional[Stop]:
        return self.run._after_eval(state)

    def on_member_frozen(self, state, member: int, message: str) -> None:
        self.run._frozen(member, state.step, message)

    def on_fit_end(self, state) -> None:
        self.run._catch_up(state)


class Run:
    """A population (or one fixed member) training in its own thread; see the module docstring."""

    def __init__(self, cfg: Config, run_id: str, device: torch.device, labels: Optional[list[str]] = None,
                 autoplay: bool = False):
        self.cfg, self.id, self.device = cfg, run_id, device
        self.uid = next(_serial)  # tells the page which run a frame belongs to
        self.table = resolve_members(cfg)  # the population block resolved once, as `trainlab train` does
        self.members = list(self.table.members)
        self.labels = labels or [m.label() for m in self.members]
        self.dataset = load_data(cfg.data, cfg.run.seed)
        self.k = len(self.members)
        self.steps = cfg.train.steps
        self.eval_every = cfg.train.eval_every
        self._cv = threading.Condition()
        self._until = math.inf if autoplay else 0  # the worker may run up to this step, then waits
        self._closed = False
        self.status = "playing" if autoplay else "paused"
        self.step = 0
        self.error: Optional[str] = None
        self.stop_reason: Optional[dict] = None
        self.final: Optional[dict[str, list[Optional[float]]]] = None
        self.seconds = 0.0  # wall time inside fit, waits excluded
        self._t_run: Optional[float] = None
        self.version = 0
        self.rows: list[dict[str, Any]] = []  # every evaluation: step and per-member metrics
        self.findings: list[dict[str, Any]] = []
        self.frozen: dict[int, dict] = {}
        self.boundaries: Optional[str] = None
        self.boundary_step = -1
        self.regimes: list[str] = ["good"] * self.k
        self.scales: dict[str, Any] = {}
        self.diagnosis: Optional[PopulationDiagnosis] = None
        self._last_frame = 0.0
        self._frame_cost = 0.0
        self._regimes_at = 0.0
        self._probe_end, self._probe_cost, self._probe_step = 0.0, 0.0, -1
        self._fix_notes: dict[tuple[int, str], Optional[str]] = {}
        self.frames_drawn = 0
        self.grid, self.extent = self._grid()
        self.thread = threading.Thread(target=self._work, name=f"trainlab-play-{run_id}", daemon=True)

    # ---- control (any thread) -------------------------------------------------------------------
    def start(self) -> "Run":
        self.thread.start()
        return self

    def play(self) -> None:
        with self._cv:
            if self.status in ("paused",):
                self._until = math.inf
                self.status = "playing"
                self._cv.notify_all()

    def pause(self) -> None:
        with self._cv:
            if self.status == "playing":
                self._until = self.step
                self.status = "paused"
                self._cv.notify_all()

    def advance(self) -> None:
        """Run to the next evaluation, then pause."""
        with self._cv:
            if self.status == "paused":
                nxt = (self.step // self.eval_every + 1) * self.eval_every
                self._until = min(nxt, self.steps)
                self.status = "stepping"
                self._cv.notify_all()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def wait(self, timeout: float = 60.0) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    # ---- the worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        ds = self.dataset
        try:
            model, fits, arrays = train(self.cfg, ds, self.table, self.device, [LiveCallback(self)])
            stop = fits[-1].stop
            with self._cv:
                self.stop_reason = stop.to_json()
                if not self._closed:
                    self.final = {k: [_num(v) for v in arrays[k][-1]] for k in arrays if k != "steps" and arrays[k].ndim == 2}
                self.status = "closed" if self._closed else "done"
                self.version += 1
        except Exception as e:  # a bug or a data problem: show it on the page instead of dying silently
            with self._cv:
                self.error = f"{type(e).__name__}: {e}"
                self.status = "failed"
                self.version += 1

    def _gate(self, state) -> Optional[Stop]:
        """Block while paused at this step (the page first gets this step's boundaries); a Stop when
        the run was closed."""
        step = state.step
        with self._cv:
            self.step = step
            pausing = step >= self._until and step < self.steps and not self._closed
        if pausing:
            self._catch_up(state)
        with self._cv:
            if step >= self._until and step < self.steps and not self._closed:
                if self.status == "stepping" or self.status == "playing":
                    self.status = "paused"
                self._pause_clock()
                self.version += 1
                while step >= self._until and step < self.steps and not self._closed:
                    self._cv.wait(0.5)
                self._t_run = time.perf_counter()
            if self._closed:
                return Stop(Reason.EARLY_STOP, f"closed by the page at step {step}")
        return None

    def _pause_clock(self) -> None:
        if self._t_run is not None:
            self.seconds += time.perf_counter() - self._t_run
            self._t_run = None

    def _started(self, state) -> None:
        model = state.model
        x, y = self.dataset.train.x.to(self.device), self.dataset.train.y.to(self.device)
        ux = self.dataset.val.x if len(self.dataset.val) >= 128 else self.dataset.train.x
        self.diagnosis = PopulationDiagnosis(model, self.dataset.n_classes, (x, y), ux.to(self.device))
        self._probe(0, model)
        self._t_run = time.perf_counter()

    def _after_step(self, state) -> Optional[Stop]:
        step, model, diag = state.step, state.model, self.diagnosis
        self.step = step
        diag.add_loss(state.last_loss)
        if diag.wants(step) and (step <= 2 or time.perf_counter() - self._probe_end >= self._probe_cost / PROBE_SHARE):
            self._probe(step, model)
        diag.keep_weights(model)  # references only: the optimizer returns fresh tensors
        self._publish_frame(model, state.history)
        if step % self.eval_every == 0 or step == self.steps:
            return None  # the evaluation of this step comes next; on_eval decides
        return self._gate(state)

    def _after_eval(self, state) -> Optional[Stop]:
        hist, step = state.history, state.step
        row = {"step": step}
        for name, values in hist.metrics.items():
            row[name] = [_num(v) for v in values[-1]]
        if self.diagnosis is not None and "val_loss" in hist.metrics:
            self.diagnosis.add_eval(step, hist.metrics["val_loss"][-1], hist.metrics["val_acc"][-1])
        with self._cv:
            self.rows.append(row)
            self.version += 1
        self._publish_frame(state.model, hist, force=step == 0 or step == self.steps)
        return self._gate(state)

    def _regimes(self, hist) -> list[str]:
        """Each member's regime (the shallow study's rules) on its curve so far."""
        steps = np.asarray(hist.steps)
        if len(steps) < 2:
            return ["good"] * self.k
        losses = np.stack(hist.metrics["train_loss"])
        acc = hist.metrics.get("val_acc", hist.metrics["train_acc"])[-1]
        return [regime(steps, losses[:, m], float(acc[m]), m in self.frozen) for m in range(self.k)]

    def _frozen(self, member: int, step: int, message: str) -> None:
        with self._cv:
            self.frozen[member] = {"step": step, "message": message}
            self.version += 1

    def _catch_up(self, state) -> None:
        """Before a pause and at the end: the findings and boundaries of this very step (the time
        budget may have skipped the latest ones)."""
        if self._closed:
            return
        if self.diagnosis is not None and self._probe_step != state.step and state.step > 0:
            self._probe(state.step, state.model)
        if self.boundary_step != state.step or state.step == 0:
            self._publish_frame(state.model, state.history, force=True)

    def _probe(self, step: int, model) -> None:
        self._probe_step = step
        t0 = time.perf_counter()
        changed = [self._with_fix_note(f) for f in self.diagnosis.measure(step, model)]
        self._probe_end = time.perf_counter()
        self._probe_cost = self._probe_end - t0
        with self._cv:
            self.findings.extend(changed)
            self.scales = self.diagnosis.scales
            self.version += 1

    def _with_fix_note(self, finding: dict[str, Any]) -> dict[str, Any]:
        """Whether the finding's fix applies to this very member (lowering a dropout of 0 does not)."""
        key = (finding["member"], finding["code"])
        if key not in self._fix_notes:
            self._fix_notes[key] = fix_applies(self.cfg, self.members[finding["member"]], finding["code"])
        why_not = self._fix_notes[key]
        if why_not is not None and finding["fix"]["available"]:
            finding["fix"] = finding["fix"] | {"available": False, "why_not": why_not}
        return finding

    # ---- the decision boundaries -----------------------------------------------------------------
    def _grid(self) -> tuple[torch.Tensor, list[float]]:
        x = self.dataset.train.x
        lo, hi = x.min(0).values, x.max(0).values
        pad = (hi - lo).clamp_min(1e-6) * MARGIN
        lo, hi = lo - pad, hi + pad
        xs = torch.linspace(float(lo[0]), float(hi[0]), GRID)
        ys = torch.linspace(float(hi[1]), float(lo[1]), GRID)  # row 0 at the top
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx.flatten(), gy.flatten()], 1).to(self.device), [float(lo[0]), float(hi[0]),
                                                                              float(lo[1]), float(hi[1])]

    @torch.no_grad()
    def _publish_frame(self, model, hist, force: bool = False) -> None:
        """Every member's decision boundary on the grid (and its regime), at most FRAME_HZ times a second."""
        now = time.perf_counter()
        if not force and now - self._last_frame < max(1.0 / FRAME_HZ, self._frame_cost / FRAME_SHARE):
            return
        logits = population_logits(model, self.grid).transpose(1, 2)  # (K, C, G): contiguous, G last
        top, cls = logits.max(1)
        c = logits.shape[1]
        total = torch.exp(logits[:, 0] - top)
        for j in range(1, c):  # softmax's largest value is 1 / sum_c exp(z_c - z_max): cheap for few classes
            total += torch.exp(logits[:, j] - top)
        # one byte per pixel: class in the high 3 bits, confidence above chance (0-31) in the low 5
        level = total.reciprocal_().sub_(1.0 / c).mul_(31.0 / (1.0 - 1.0 / c)).nan_to_num_(0.0).clamp_(0, 31).round_()
        byte = (cls.to(torch.uint8) << 5) | level.to(torch.uint8)
        byte[~torch.isfinite(top)] = 255
        data = base64.b64encode(byte.cpu().numpy().tobytes()).decode("ascii")
        regimes = self.regimes
        if force or now - self._regimes_at >= REGIMES_EVERY:
            regimes, self._regimes_at = self._regimes(hist), now
        with self._cv:
            self.boundaries = data
            self.boundary_step = self.step
            self.regimes = regimes
            self.frames_drawn += 1
            self.version += 1
        self._last_frame = time.perf_counter()
        self._frame_cost = self._last_frame - now

    # ---- what the page reads ---------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        ds = self.dataset
        idx = torch.arange(min(len(ds.train), MAX_POINTS_SHOWN))
        return {"run": self.id, "uid": self.uid, "members": [{"id": m.id, "seed": m.seed, "values": m.values, "label": lab}
                                            for m, lab in zip(self.members, self.labels)],
                "k": self.k, "steps": self.steps, "eval_every": self.eval_every, "n_classes": ds.n_classes,
                "ln_c": math.log(ds.n_classes), "grid": GRID, "extent": self.extent,
                "points": ds.train.x[idx].tolist(), "labels": ds.train.y[idx].tolist(),
                "layers": len(self.cfg.model.hidden) + 1, "source": ds.source}

    def frame(self, cursor: dict[str, int]) -> Optional[dict[str, Any]]:
        """What changed since ``cursor`` (updated in place), or None when nothing did."""
        with self._cv:
            if cursor.get("version") == self.version:
                return None
            out: dict[str, Any] = {"type": "frame", "run": self.id, "uid": self.uid, "step": self.step, "status": self.status,
                                   "regimes": self.regimes, "frozen": {str(k): v for k, v in self.frozen.items()},
                                   "seconds": self.seconds + (time.perf_counter() - self._t_run
                                                              if self._t_run is not None else 0.0)}
            rows_from, find_from = cursor.get("rows", 0), cursor.get("findings", 0)
            out["rows"] = self.rows[rows_from:]
            out["findings"] = self.findings[find_from:]
            if cursor.get("boundary") != self.frames_drawn and self.boundaries is not None:
                out["boundaries"] = self.boundaries
                out["boundary_step"] = self.boundary_step
            if self.scales and cursor.get("scales_step") != self.scales.get("step"):
                out["scales"] = self.scales
            if self.status in ("done", "failed", "closed"):
                out |= {"final": self.final, "stop": self.stop_reason, "error": self.error}
            cursor.update(version=self.version, rows=len(self.rows), findings=len(self.findings),
                          boundary=self.frames_drawn, scales_step=self.scales.get("step") if self.scales else None)
            return out


def _num(v: float) -> Optional[float]:
    v = float(v)
    return v if math.isfinite(v) else None
