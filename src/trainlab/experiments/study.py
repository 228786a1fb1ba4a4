"""What every study shares: progress, timing, threads and device, provenance, and ``finish()``.

``run_study(study, folder, opts)`` is the one way a study runs:

1. its settings are resolved (defaults or ``quick()``, then the overrides);
2. threads and device are set for the run (threads restored afterwards), a progress display starts;
3. the study's ``run(settings, study_run)`` trains and measures into a temporary folder and
   returns its own results;
4. ``finish()`` turns them into ``summary.json``, written once: the shared fields (experiment,
   schema_version, title, settings, observations, tables, figures, key_findings, key_figures,
   timing, seconds, provenance) around the results; figures are drawn and saved here too;
5. the folder is installed atomically: complete, or not at all (``runs.io.atomic_dir``).

Progress goes to stderr: a rich bar on a terminal; in a log file or CI, one plain line at most
every ``PLAIN_EVERY`` seconds, so a long study is never silent for minutes.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch

from trainlab import interrupts
from trainlab.env import pick_device, provenance
from trainlab.experiments.registry import Study, StudyOptions
from trainlab.experiments.settings import StudySettings
from trainlab.report.figures import render_figures
from trainlab.report.folder import RunData
from trainlab.runs.io import atomic_dir, write_json_atomic
from trainlab.stats import json_clean

PLAIN_EVERY = 10.0  # seconds between plain progress lines when stderr is not a terminal
Advance = Callable[..., None]  # advance(n, total=None)


class Progress:
    """Progress of long work: rich bars on a terminal, plain lines elsewhere, nothing when quiet.

    ``task(description, total)`` returns an ``advance(n, total=None)`` callback, the form the
    library's ``progress=`` arguments take.
    """

    def __init__(self, quiet: bool = False, console: Any = None, clock: Callable[[], float] = time.monotonic):
        from rich.console import Console

        self.quiet = quiet
        self.console = console if console is not None else Console(stderr=True)
        self.clock = clock
        self.bar: Any = None
        self.last_line = clock()

    def __enter__(self) -> "Progress":
        if not self.quiet and self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TimeRemainingColumn(), console=self.console, transient=False)
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
            self.bar = None

    def task(self, description: str, total: Optional[int] = None) -> Advance:
        if self.quiet:
            return _ignore
        if self.bar is not None:
            return self._bar_task(description, total)
        return self._plain_task(description, total)

    def _bar_task(self, description: str, total: Optional[int]) -> Advance:
        bar, task = self.bar, self.bar.add_task(description, total=total)

        def advance(n: int, total: Optional[int] = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            bar.advance(task, n)
        return advance

    def _plain_task(self, description: str, total: Optional[int]) -> Advance:
        state = {"done": 0, "total": total, "start": self.clock()}

        def advance(n: int, total: Optional[int] = None) -> None:
            if total is not None:
                state["total"] = total
            state["done"] += n
            now = self.clock()
            if now - self.last_line >= PLAIN_EVERY:
                self.last_line = now
                of = f"/{state['total']}" if state["total"] else ""
                self.console.print(f"{description}: {state['done']}{of} ({now - state['start']:.0f} s)",
                                   markup=False, highlight=False, soft_wrap=True)
        return advance


def _ignore(n: int, total: Optional[int] = None) -> None:
    return None


class StudyRun:
    """What a study's ``run`` gets besides its settings: where to write, device, progress, timing."""

    def __init__(self, folder: Path, device: torch.device, progress: Progress, threads: Optional[int]):
        self.folder = Path(folder)  # the temporary folder; installed when the study finishes
        self.device = device
        self.progress = progress
        self.threads = threads
        self.timing: dict[str, float] = {}
        self.provenance: dict[str, Any] = {}  # the study's own additions (set-up, populations, ...)
        self.started = time.perf_counter()

    def task(self, description: str, total: Optional[int] = None) -> Advance:
        return self.progress.task(description, total)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        """Add the block's wall time to ``timing[name]``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timing[name] = self.timing.get(name, 0.0) + time.perf_counter() - t0


@contextlib.contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """Use ``n`` CPU threads inside the block (None: leave torch's setting) and restore it after."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def settings_for(study: Study, opts: StudyOptions) -> StudySettings:
    """The study's settings for these options; a bad override is a ``UsageError``."""
    return study.settings.resolve(opts.quick, opts.overrides_for(study.name))


def run_study(study: Study, folder: Path, opts: StudyOptions) -> dict:
    """Run ``study`` into ``folder`` (atomically) and return its summary, as written."""
    settings = settings_for(study, opts)
    threads = opts.threads if opts.threads is not None else study.threads
    device = pick_device(opts.device)
    seen = interrupts.count()
    with torch_threads(threads), Progress(opts.quiet) as progress, atomic_dir(Path(folder)) as tmp:
        sr = StudyRun(tmp, device, progress, threads)
        results = study.run(settings, sr)
        if interrupts.count() != seen:  # a fit returned early (Ctrl-C): nothing cut short is finished
            raise KeyboardInterrupt
        summary = finish(study, settings, results, sr)
        if not opts.quiet:
            progress.console.print(timing_line(study.name, summary), markup=False, highlight=False, soft_wrap=True)
        return summary


def timing_line(name: str, summary: dict) -> str:
    """``name: 12.3 s (train 9.0 s, figures 2.1 s, other 1.2 s)``: where a study's time went."""
    timing = summary.get("timing") or {}
    total = float(summary.get("seconds") or 0.0)
    parts = [f"{k} {v:.1f} s" for k, v in timing.items()]
    rest = total - sum(timing.values())
    if rest >= 0.05:
        parts.append(f"other {rest:.1f} s")
    return f"{name}: {total:.1f} s" + (f" ({', '.join(parts)})" if parts else "")


def finish(study: Study, settings: StudySettings, results: dict, sr: StudyRun) -> dict:
    """Write ``summary.json`` once: the shared fields around the study's results. Returns it."""
    shared = {"experiment": study.name, "schema_version": study.schema_version, "title": study.title,
              "settings": settings.to_json()}
    summary = _as_json(shared | results)
    run = RunData(sr.folder, summary)
    summary["observations"] = list(study.observations(run))
    summary["tables"] = list(study.tables(run))
    with sr.timed("figures"):
        summary["figures"], notes = render_figures(study.figures, run)
    summary["observations"] += notes
    drawn = {f["file"] for f in summary["figures"]}
    summary["key_findings"] = list(study.key_findings(run))
    summary["key_figures"] = [f for f in study.key_figures if f in drawn]
    summary["timing"] = dict(sr.timing)
    summary["seconds"] = time.perf_counter() - sr.started
    summary["provenance"] = provenance(sr.device) | {
        "threads_used": torch.get_num_threads(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")} | sr.provenance
    summary = _as_json(summary)
    write_json_atomic(sr.folder / "settings.json", summary["settings"])
    write_json_atomic(sr.folder / "summary.json", summary)
    return summary


def _as_json(obj: dict) -> dict:
    """``obj`` exactly as JSON gives it back: numpy values plain, non-finite floats null."""
    return json.loads(json.dumps(json_clean(obj), allow_nan=False))
