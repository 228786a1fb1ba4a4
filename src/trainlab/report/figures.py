"""The one figure protocol: a figure declares what it requires, draws, captions, and is saved here.

A study's ``figures.py`` (and ``report/train.py``) only declares ``Figure`` rows. A figure is
drawn from a run folder (``RunData``: the summary and the stored files), never from live
objects, so the same declaration draws it while the study finishes or from the folder later.
``render_figures`` saves every figure with one DPI and returns ``[{file, caption}]`` plus a note
for each figure whose files are missing.

The helpers below are shared by every figure, one per meaning: ``band_iqr``, ``band_10_90`` and
``band_min_max`` draw a median line with the band their name says; ``errorbars_ci`` draws
medians with their 95% bootstrap intervals from ``{median, lo, hi}`` statistics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trainlab.report.folder import RunData  # noqa: E402

DPI = 100  # every figure of every run


@dataclass(frozen=True)
class Figure:
    """One figure: ``draw(run[, key])`` returns a matplotlib figure; the protocol saves it.

    ``file`` is the name in the folder; inside ``PerKey`` it is a pattern such as
    ``"curves_{key}.png"``. ``requires`` lists files the folder must hold (missing: skipped with
    a note). ``when(run[, key])`` is False where the figure does not apply (skipped silently).
    """

    file: str
    draw: Callable[..., Any]
    caption: Union[str, Callable[..., str]]
    requires: tuple[str, ...] = ()
    when: Optional[Callable[..., bool]] = None


@dataclass(frozen=True)
class PerKey:
    """The same figures once per key (a set-up, an init), in key order: all figures of key 1 first."""

    keys: Callable[[RunData], Sequence[str]]
    figures: tuple[Figure, ...]


def render_figures(declared: Sequence[Union[Figure, PerKey]], run: RunData) -> tuple[list[dict], list[str]]:
    """Draw and save every declared figure the folder supports: ([{file, caption}], notes)."""
    out: list[dict] = []
    notes: list[str] = []
    for item in declared:
        if isinstance(item, PerKey):
            for key in item.keys(run):
                for fig in item.figures:
                    _render(fig, run, (key,), out, notes)
        else:
            _render(item, run, (), out, notes)
    return out, notes


def _render(fig: Figure, run: RunData, args: tuple, out: list[dict], notes: list[str]) -> None:
    file = fig.file.format(key=args[0]) if args else fig.file
    missing = [r for r in fig.requires if not run.has(r)]
    if missing:
        notes.append(f"figure {file} skipped: the folder holds no {', '.join(missing)}")
        return
    if fig.when is not None and not fig.when(run, *args):
        return
    drawn = fig.draw(run, *args)
    try:
        drawn.savefig(run.path(file), dpi=DPI)
    finally:
        plt.close(drawn)
    out.append({"file": file, "caption": fig.caption(run, *args) if callable(fig.caption) else fig.caption})


# --- helpers, one per meaning -------------------------------------------------------------------

def draw_band(ax, x, median, lo, hi, *, color=None, style: str = "-", label=None, alpha: float = 0.15,
              lw: float = 1.5):
    """A median line and a band between ``lo`` and ``hi`` (edges the caller stored or computed)."""
    line, = ax.plot(x, median, style, color=color, label=label, lw=lw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=alpha, lw=0)
    return line


def band_iqr(ax, x, arr: np.ndarray, **kw):
    """Median over columns and the 25-75% (interquartile) band; NaN ignored."""
    return draw_band(ax, x, np.nanmedian(arr, axis=1), np.nanquantile(arr, 0.25, axis=1),
                     np.nanquantile(arr, 0.75, axis=1), **kw)


def band_10_90(ax, x, arr: np.ndarray, **kw):
    """Median over columns and the 10-90% percentile band; NaN ignored."""
    return draw_band(ax, x, np.nanmedian(arr, axis=1), np.nanpercentile(arr, 10, axis=1),
                     np.nanpercentile(arr, 90, axis=1), **kw)


def band_min_max(ax, x, arr: np.ndarray, **kw):
    """Median over columns and the min-max band (no band for a single column); NaN ignored."""
    if arr.shape[1] > 1:
        return draw_band(ax, x, np.nanmedian(arr, axis=1), np.nanmin(arr, axis=1), np.nanmax(arr, axis=1), **kw)
    line, = ax.plot(x, np.nanmedian(arr, axis=1), kw.get("style", "-"), color=kw.get("color"), label=kw.get("label"),
                    lw=kw.get("lw", 1.5))
    return line


def errorbars_ci(ax, x, stats: Sequence[Optional[dict]], **kw) -> None:
    """Medians with their 95% intervals as error bars, from ``{median, lo, hi}``; missing medians skipped."""
    pts = [(xi, s["median"], s["lo"], s["hi"]) for xi, s in zip(x, stats) if s and s.get("median") is not None]
    if not pts:
        return
    xs, med, lo, hi = (np.asarray(v, dtype=float) for v in zip(*pts))
    ax.errorbar(xs, med, yerr=[med - lo, hi - med], capsize=3, **kw)


def fixed_margins(fig, legend_rows: int = 0, left: float = 0.7, wspace: float = 0.25, hspace: float = 0.45) -> None:
    """Margins in inches (``left``; a bottom legend of ``legend_rows`` rows) instead of ``tight_layout``,
    whose search over the tick labels of log axes costs about a second a figure."""
    h, w = fig.get_figheight(), fig.get_figwidth()
    titled = any(t.get_text() for t in fig.texts) or getattr(fig, "_suptitle", None) is not None  # suptitle (3.7+)
    top = 0.5 if titled else 0.3
    fig.subplots_adjust(left=left / w, right=1 - 0.15 / w, top=1 - top / h, bottom=(0.55 + 0.22 * legend_rows) / h,
                        wspace=wspace, hspace=hspace)
