"""The CLI side of the diagnostics: ``trainlab doctor`` and ``trainlab lr-find`` without typer.

The library (``trainlab.diagnose``) measures and returns numbers; this module loads what to check,
renders the results (Rich tables, the LR plot) and maps them to exit codes (0 ok, 1 a doctor
error or no LR suggestion, 2 bad usage). ``cli.py`` parses the arguments and calls
``doctor_main`` / ``lr_find_main``. The set-up to check comes from one of:

- ``python="file.py:function"``: the function returns (model, optimizer, batches[, loss_fn])
  (``load_python_target``);
- ``target`` (a config path) plus ``build``: a callable the CLI passes that turns the config
  into the same tuple (config-based model building lives with the config code);
- ``built``: the tuple itself, for library use and tests.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from trainlab.diagnose.doctor import DoctorReport, LossFn, default_loss_fn, run_doctor
from trainlab.diagnose.findings import Finding
from trainlab.diagnose.lr_find import DIVERGE_FACTOR, LRFindResult, lr_find
from trainlab.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from trainlab.runs.io import write_json_atomic

Built = Sequence[Any]  # (model, optimizer, batches) or (model, optimizer, batches, loss_fn)
Builder = Callable[[str], Built]


def _console(console: Any) -> Any:
    if console is not None:
        return console
    from rich.console import Console
    return Console()


def _error(given: Any, message: str) -> None:
    """A usage error: to the caller's console if it gave one, else to stderr (as the other commands do)."""
    if given is None:
        from rich.console import Console
        given = Console(stderr=True, soft_wrap=True)
    given.print(f"[red]error:[/red] {message}")


def load_python_target(target: str) -> tuple[nn.Module, torch.optim.Optimizer, Iterable[Any], LossFn | None]:
    """Import ``FILE.py:FUNCTION`` and call it; returns (model, optimizer, batches, loss_fn).

    FUNCTION takes no arguments and returns (model, optimizer, batches) or (model, optimizer,
    batches, loss_fn). Every mistake is a ``UsageError`` naming the bad part.
    """
    path_s, sep, func_name = target.rpartition(":")
    if not sep or not path_s or not func_name:
        raise UsageError(f"--python expects FILE.py:FUNCTION, got {target!r}")
    path = Path(path_s)
    if path.suffix != ".py" or not path.is_file():
        raise UsageError(f"no Python file at {path_s!r} (from {target!r})")
    spec = importlib.util.spec_from_file_location(f"trainlab_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path_s!r}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SystemExit as e:  # the user's file must not decide trainlab's exit code
        raise UsageError(f"importing {path_s} called sys.exit({e.code!r}); guard script code with "
                         f"if __name__ == '__main__':") from None
    except Exception as e:  # the user's file: report it in one line
        raise UsageError(f"importing {path_s} failed: {type(e).__name__}: {e}") from e
    finally:
        sys.path.remove(str(path.resolve().parent))
    fn = getattr(module, func_name, None)
    if not callable(fn):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise UsageError(f"{path_s} has no function {func_name!r}; functions there: {names}")
    try:
        result = fn()
    except SystemExit as e:
        raise UsageError(f"{target} called sys.exit({e.code!r}) instead of returning (model, optimizer, "
                         f"batches[, loss_fn])") from None
    except Exception as e:
        raise UsageError(f"{target} raised {type(e).__name__}: {e}") from e
    if not isinstance(result, (tuple, list)) or len(result) not in (3, 4):
        raise UsageError(f"{target} must return (model, optimizer, batches[, loss_fn]), got "
                         f"{type(result).__name__}")
    model, optimizer, batches = result[:3]
    loss_fn = result[3] if len(result) == 4 else None
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target}: first value must be an nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise UsageError(f"{target}: second value must be a torch.optim.Optimizer, got "
                         f"{type(optimizer).__name__}")
    if not hasattr(batches, "__iter__"):
        raise UsageError(f"{target}: third value must be an iterable of (inputs, targets), got "
                         f"{type(batches).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise UsageError(f"{target}: fourth value must be a loss function, got {type(loss_fn).__name__}")
    return model, optimizer, batches, loss_fn


def resolve_setup(target: str | None = None, python: str | None = None,
                  build: Builder | None = None, built: Built | None = None) -> tuple[Any, Any, Any, Any]:
    """(model, optimizer, batches, loss_fn or None) from exactly one of the three sources."""
    given = [name for name, v in (("CONFIG", target), ("--python", python), ("built", built)) if v]
    if len(given) != 1:
        raise UsageError(f"give exactly one of CONFIG or --python FILE:FUNCTION (got {given or 'none'})")
    if python:
        return load_python_target(python)
    if target:
        if build is None:
            raise UsageError("this command cannot build a model from a config here; use --python FILE:FUNCTION")
        built = build(target)
    assert built is not None
    if len(built) not in (3, 4):
        raise UsageError(f"expected (model, optimizer, batches[, loss_fn]), got {len(built)} values")
    return built[0], built[1], built[2], built[3] if len(built) == 4 else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_json_atomic(Path(path), data)


def doctor_main(target: str | None = None, python: str | None = None, *, build: Builder | None = None,
                built: Built | None = None, n_classes: int | None = None, steps: int = 100,
                overfit_steps: int = 500, json_out: Path | None = None, console: Any = None,
                err_console: Any = None, verify: bool = False) -> int:
    """Run the doctor, print its report and findings (grouped under root causes; with ``verify``,
    each root cause's fix tried on a copy); return 0, 1 (an error finding) or 2."""
    given, console = err_console or console, _console(console)
    try:
        model, optimizer, batches, loss_fn = resolve_setup(target, python, build, built)
        report = run_doctor(model, optimizer, batches, loss_fn=loss_fn, n_classes=n_classes,
                            steps=steps, overfit_steps=overfit_steps, verify=verify)
    except UsageError as e:
        _error(given, str(e))
        return EXIT_USAGE
    print_report(report, console)
    if json_out is not None:
        _write_json(Path(json_out), {"made_by": "trainlab doctor"} | report.to_dict())
    return report.exit_code


def lr_find_main(target: str | None = None, python: str | None = None, *, build: Builder | None = None,
                 built: Built | None = None, out: Path | None = None, lr_min: float = 1e-7,
                 lr_max: float = 10.0, steps: int = 100, console: Any = None, err_console: Any = None,
                 shown_out: Path | None = None) -> int:
    """Run the LR range test, print the suggestion, write lr_find.png/json under ``out``
    (``shown_out``: the folder to name in messages, when ``out`` is a temporary one).

    Returns 1 when no learning rate could be suggested (the loss diverged at once).
    """
    given, console = err_console or console, _console(console)
    try:
        model, optimizer, batches, loss_fn = resolve_setup(target, python, build, built)
        if loss_fn is None:
            first = next(iter(batches), None)
            if first is None:
                raise UsageError("batches is empty: give at least one (inputs, targets) batch")
            loss_fn = default_loss_fn(first[1])
        result = lr_find(model, optimizer, batches, loss_fn, lr_min=lr_min, lr_max=lr_max, steps=steps)
    except (UsageError, ValueError) as e:
        _error(given, str(e))
        return EXIT_USAGE
    console.print(f"LR range test: {len(result.lrs)} steps from {result.lrs[0]:.2g} to "
                  f"{result.lrs[-1]:.2g}" if result.lrs else "LR range test: no steps ran")
    if result.suggestion is None:
        console.print(f"[red]no suggestion:[/red] {result.reason}")
    else:
        console.print(f"suggested lr: [bold]{result.suggestion:.3g}[/bold] ({result.reason})")
    if out is not None:
        out = Path(out)
        plot_lr_find(result, out / "lr_find.png")
        _write_json(out / "lr_find.json", result.to_dict())
        shown = Path(shown_out) if shown_out is not None else out
        console.print(f"wrote {shown / 'lr_find.png'} and {shown / 'lr_find.json'}")
    return EXIT_OK if result.suggestion is not None else EXIT_FAILURE


# ---- rendering -------------------------------------------------------------------------------
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}
MAX_ROWS_PER_CODE = 3  # a 20-layer net can raise one code on every layer: show 3, count the rest
INFERRED_NOTE = ("grouping inferred from trainlab's cause-and-effect table (trainlab/diagnose/causes.py), "
                 "not tested; `trainlab doctor --verify` tries each root cause's fix on a copy")


def _where(f: Finding) -> str:
    return f" [{f.layer}]" if f.layer else ""


def print_findings(findings: list[Finding], console: Any = None, title: str = "findings",
                   verified: bool = False) -> None:
    """Print findings root causes first: each warning or error that follows from another is folded
    under it (``causes.root_causes``), with the cause's fix; info findings follow as notes."""
    from rich.console import Console
    from rich.table import Table

    from trainlab.diagnose.causes import root_causes

    console = console or Console()
    if not findings:
        console.print("[green]no findings: nothing looks wrong[/green]")
        return
    groups = root_causes(findings)
    if groups:
        table = Table(title=f"{title}: root causes first", show_lines=True)
        for col in ("severity", "root cause", "what", "fix", "follows from it"):
            table.add_column(col, overflow="fold")
        for g in groups:
            own = g.findings[:MAX_ROWS_PER_CODE]
            what = "\n".join(f"{f.message}{_where(f)} (step {f.step}{f', x{f.count}' if f.count > 1 else ''})"
                             for f in own)
            if len(g.findings) > MAX_ROWS_PER_CODE:
                what += f"\n... and {len(g.findings) - MAX_ROWS_PER_CODE} more layers"
            effects: dict[str, int] = {}
            for f in g.effects:
                effects[f.code] = effects.get(f.code, 0) + 1
            folded = ", ".join(c + (f" ({n} layers)" if n > 1 else "") for c, n in effects.items())
            table.add_row(f"[{SEVERITY_STYLE[g.severity]}]{g.severity}[/]", g.code, what, g.fix, folded or "-")
        console.print(table)
        if any(g.effects for g in groups) and not verified:
            console.print(f"[dim]{INFERRED_NOTE}[/dim]")
    notes = [f for f in findings if f.severity == "info"]
    if notes:
        t = Table(title="notes (info)", show_lines=False)
        for col in ("code", "layer", "step", "what"):
            t.add_column(col, overflow="fold")
        shown: dict[str, int] = {}
        for f in notes:
            shown[f.code] = shown.get(f.code, 0) + 1
            if shown[f.code] <= MAX_ROWS_PER_CODE:
                ended = f" (ended by step {f.resolved_at})" if f.resolved_at is not None else ""
                t.add_row(f.code, f.layer or "", str(f.step), f.message + ended)
        console.print(t)


def print_verification(verification: Any, console: Any = None) -> None:
    """The verify table: per root cause, the fix tried, the loss before and after, the verdict."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    style = {"fixed": "green", "improved": "cyan", "not fixed": "red", "not applicable": "dim"}
    t = Table(title=f"--verify: each root cause's fix on a copy (same seed, same batches, "
                    f"{verification.steps}-step probe)", show_lines=True)
    for col in ("root cause", "fix tried", "verdict", "figures", "effects gone / remaining"):
        t.add_column(col, overflow="fold")
    for r in verification.results:
        gone = ", ".join(r.effects_gone) or "-"
        left = ", ".join(r.effects_remaining) or "-"
        t.add_row(r.code, r.fix, f"[{style[r.verdict]}]{r.verdict}[/]", r.note,
                  f"gone: {gone}\nremaining: {left}" if r.after is not None else "-")
    console.print(t)


def print_report(report: DoctorReport, console: Any = None) -> None:
    """Print the doctor's measurements (loss at init, inputs, init scales, overfit, gradient and
    regularization checks), the findings root causes first, and the --verify table."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    exp = f" (expected ln C = {report.expected_init_loss:.3g})" if report.expected_init_loss else ""
    console.print(f"loss at init: {report.init_loss:.4g}{exp}")
    if report.input_mean is not None:
        console.print(f"inputs: mean {report.input_mean:.3g}, std {report.input_std:.3g}")
    if report.layer_scales:
        t = Table(title="activation std at init (output of each weight layer)")
        for col in ("layer", "as given", "Xavier", "He"):
            t.add_column(col)
        for s in report.layer_scales:
            t.add_row(s.name, f"{s.std:.3g}", f"{s.xavier_std:.3g}", f"{s.he_std:.3g}")
        console.print(t)
    if report.overfit:
        o = report.overfit
        acc = f", accuracy {o.final_acc:.0%}" if o.final_acc is not None else ""
        verdict = "[green]yes[/green]" if o.reached else "[red]no[/red]"
        console.print(f"overfit {o.samples} samples: {verdict} after {o.steps} steps (loss "
                      f"{o.initial_loss:.3g} -> {o.final_loss:.3g}{acc})")
    final = f", final loss {report.probe_final_loss:.4g}" if report.probe_final_loss is not None else ""
    console.print(f"training probe: {report.probe_steps} steps with watch(){final}")
    g = report.gradient
    if g is not None:
        console.print(f"gradient check (float64, {g.coordinates} coordinates): " +
                      (f"skipped ({g.skipped})" if g.skipped else f"largest relative error {g.max_rel_error:.2g}"))
    r = report.regularization
    if r is not None:
        console.print(f"regularization check: loss at init {r.loss_zero:.4g} (strength 0), {r.loss:.4g} "
                      f"({r.strength:g}), {r.loss_raised:.4g} (raised): " +
                      ("[green]rises with the strength[/green]" if r.raised else "[red]does not rise[/red]"))
    print_findings(report.findings, console, verified=report.verification is not None)
    if report.verification is not None:
        print_verification(report.verification, console)


def plot_lr_find(result: LRFindResult, path: str | Path) -> Path:
    """Draw loss vs learning rate (log x) with the suggestion marked; writes a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    finite = [(lr, l) for lr, l in zip(result.lrs, result.losses) if math.isfinite(l)]
    if finite:
        ax.plot(*zip(*finite), color="0.75", lw=1, label="loss")
    sm = [(lr, s) for lr, s in zip(result.lrs, result.smoothed) if math.isfinite(s)]
    if sm:
        ax.plot(*zip(*sm), color="C0", lw=2, label="smoothed")
        low = min([s for _, s in sm] + [l for _, l in finite])
        top = min(max(s for _, s in sm), DIVERGE_FACTOR * min(s for _, s in sm))
        if top > low:  # show the useful range, not the divergence
            ax.set_ylim(low - 0.05 * (top - low), top + 0.1 * (top - low))
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="C3", ls="--", label=f"suggested lr {result.suggestion:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("LR range test")
    ax.legend(loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
