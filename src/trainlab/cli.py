"""The command line: thin. Parse, call the library, print.

Exit codes (shared/design.md): 0 success; 1 the command ran and found failure; 2 bad usage, config
or data (one line, no traceback); 130 interrupted.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from trainlab.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="trainlab: a lab bench for training neural networks from scratch.")
console = Console(stderr=False)
err_console = Console(stderr=True, soft_wrap=True)

@app.callback()
def _root() -> None:
    """trainlab: a lab bench for training neural networks from scratch."""


DEVICE_HELP = "auto (CUDA when available), cpu or cuda"
THREADS_HELP = "torch CPU threads (default: torch's choice)"


def default_out(name: str) -> Path:
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _check_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {device!r}")
    return device


def progress_bar(quiet: bool = False):
    """A rich progress bar, or a silent stand-in when quiet / not a terminal-worthy run."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err_console, disable=quiet, transient=False)


def bar_callback(bar, task):
    """A ``progress(advance, total=None)`` callback for the library, driving one rich task."""
    def cb(n: int, total: Optional[int] = None) -> None:
        if total is not None:
            bar.update(task, total=total)
        bar.advance(task, n)
    return cb


def _fmt(stat: dict, pct: bool = False) -> str:
    if stat.get("median") is None:
        return f"n/a ({stat.get('flag', 'no finite values')})"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.4g}")
    return f"{f(stat['median'])} [{f(stat['lo'])}, {f(stat['hi'])}]"


@app.command()
def train(
    config: Path = typer.Argument(..., help="YAML config file (see examples/)"),
    overrides: Optional[List[str]] = typer.Argument(None, help="dotted overrides, e.g. optim.lr=0.05 model.init.std=0.3"),
    out: Optional[Path] = typer.Option(None, "--out", help="run folder (default runs/<name>-<timestamp>)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="also write TensorBoard event files into DIR/tensorboard"),
) -> None:
    """Train the population a config describes and write its run folder."""
    from trainlab.config import load_config
    from trainlab.population import expand_members
    from trainlab.runner import run_config

    ov = list(overrides or [])
    ov.append(f"run.device={_check_device(device)}")
    if threads is not None:
        ov.append(f"run.threads={threads}")
    cfg = load_config(config, ov)
    out = out or default_out(cfg.run.name)
    members = expand_members(cfg)
    with progress_bar(quiet) as bar:
        task = bar.add_task(f"train {cfg.run.name} (K={len(members)})", total=cfg.train.steps)
        run_config(cfg, out, console=err_console, progress=bar_callback(bar, task), tensorboard=tensorboard)
    from trainlab.report.figures import render_train_figures
    from trainlab.report.html import write_report

    s = render_train_figures(out)
    write_report(out)
    table = Table(title=f"{cfg.run.name}: {s['members']} members, median [95% CI] over members")
    table.add_column("metric")
    table.add_column("final")
    for key, stat in s["final"].items():
        table.add_row(key, _fmt(stat, pct=key.endswith("acc")))
    table.add_row("loss at init", _fmt(s["loss_at_init"]) + f"  (ln C = {s['ln_n_classes']:.3f})")
    console.print(table)
    for f in s["frozen"]:
        console.print(f"[yellow]member {f['member']} frozen: {f['message']}[/yellow]")
    for stop in s["stops"]:
        console.print(f"stop: {stop['reason']} ({stop['message']})")
    console.print(f"data: {s['data_source']}")
    for o in s["observations"]:
        console.print(f"- {o}")
    console.print(f"run folder: {out}  (report: {out / 'report.html'})")


@app.command()
def lab(
    study: str = typer.Argument("all", help="all, or one study: shallow, deep, dropout"),
    out: Optional[Path] = typer.Option(None, "--out", help="output folder (default runs/lab-<timestamp>)"),
    quick: bool = typer.Option(False, "--quick", help="a small version of everything, for first looks and CI"),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="seeds per setting (default: each study's own)"),
    force: bool = typer.Option(False, "--force", help="redo studies already finished in --out"),
    dataset: str = typer.Option("auto", "--dataset", help="dropout study data: auto, mnist, fashion-mnist, mnist-5k"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder with IDX files (else $TRAINLAB_DATA)"),
    test: bool = typer.Option(False, "--test", help="also evaluate on the untouched test split"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="also write each study's per-member curves as TensorBoard scalars (DIR/<study>/tensorboard)"),
) -> None:
    """Run the lab's studies (all, or one) and write summary.json and report.html."""
    from trainlab.experiments.registry import StudyOptions
    from trainlab.lab import get_study, run_lab, study_names
    from trainlab.runner import pick_device, set_threads

    if study != "all":
        get_study(study)  # a bad name is a usage error before any work
    pick_device(_check_device(device))
    set_threads(threads)
    opts = StudyOptions(quick=quick, seeds=seeds, device=device, threads=threads, quiet=quiet, test=test,
                        dataset=dataset, data_dir=str(data_dir) if data_dir else None, tensorboard=tensorboard)
    out = out or default_out("lab" if study == "all" else study)
    outcomes = run_lab(study, out, opts, force=force, console=err_console)
    table = Table(title=f"trainlab lab {study}" + (" (quick)" if quick else ""))
    for col in ("study", "status", "time", "headline"):
        table.add_column(col)
    for o in outcomes:
        colour = {"ok": "green", "skipped": "cyan"}.get(o.status, "red")
        table.add_row(o.name, f"[{colour}]{o.status}[/{colour}]", f"{o.seconds:.1f} s", o.headline or (o.error or "").splitlines()[0])
    console.print(table)
    for o in outcomes:
        if o.status == "failed" and o.error:
            err_console.print(f"[red]{o.name} failed:[/red] {o.error}", highlight=False, markup=False)
    if (out / "report.html").is_file():
        console.print(f"report: {out / 'report.html'}")
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


@app.command()
def report(folder: Path = typer.Argument(..., help="a study folder or a `lab all` folder")) -> None:
    """Rebuild report.html from a run folder alone."""
    from trainlab.report.html import write_report

    if not (folder / "summary.json").is_file():
        raise UsageError(f"{folder} has no summary.json: not a trainlab run folder")
    console.print(f"report: {write_report(folder)}")


@app.command()
def doctor(
    config: Optional[Path] = typer.Argument(None, help="YAML config to check (its first member)"),
    overrides: Optional[List[str]] = typer.Argument(None, help="dotted overrides, e.g. model.init.std=1"),
    python: Optional[str] = typer.Option(None, "--python", help="FILE.py:FUNCTION returning (model, optimizer, batches[, loss_fn])"),
    steps: int = typer.Option(100, "--steps", min=1, help="steps of the short training probe"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report as JSON here"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
) -> None:
    """Pre-training checks: loss at init, inputs, init scale, overfit one small batch, a short probe.

    Exits 1 when any finding is an error, 2 on a bad config.
    """
    from trainlab.diag_cli import doctor_main
    from trainlab.runner import set_threads
    from trainlab.torch_setup import build_from_path

    _check_device(device)
    set_threads(threads)
    rc = doctor_main(str(config) if config else None, python, build=lambda p: build_from_path(p, list(overrides or [])),
                     steps=steps, json_out=json_out, console=console, err_console=err_console)
    raise typer.Exit(rc)


@app.command("lr-find")
def lr_find_cmd(
    config: Optional[Path] = typer.Argument(None, help="YAML config (its first member)"),
    overrides: Optional[List[str]] = typer.Argument(None, help="dotted overrides"),
    python: Optional[str] = typer.Option(None, "--python", help="FILE.py:FUNCTION returning (model, optimizer, batches[, loss_fn])"),
    out: Optional[Path] = typer.Option(None, "--out", help="folder for lr_find.png and lr_find.json (default runs/lr-find-<timestamp>)"),
    lr_min: float = typer.Option(1e-7, "--lr-min", help="start of the exponential ramp"),
    lr_max: float = typer.Option(10.0, "--lr-max", help="end of the exponential ramp"),
    steps: int = typer.Option(100, "--steps", min=2, help="ramp steps"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
) -> None:
    """LR range test: exponential ramp, smoothed loss, a suggestion robust to early spikes, a plot.

    The model's weights and the optimizer state are restored afterwards.
    """
    from trainlab.diag_cli import lr_find_main
    from trainlab.runner import set_threads
    from trainlab.torch_setup import build_from_path

    _check_device(device)
    set_threads(threads)
    rc = lr_find_main(str(config) if config else None, python, build=lambda p: build_from_path(p, list(overrides or [])),
                      out=out or default_out("lr-find"), lr_min=lr_min, lr_max=lr_max, steps=steps, console=console, err_console=err_console)
    raise typer.Exit(rc)


def main() -> None:
    """Entry point: maps errors to exit codes."""
    from trainlab.malloc import keep_freed_memory, reexec_with_env

    reexec_with_env(sys.argv[1:])  # lab and train: restart once with glibc's malloc variables set
    keep_freed_memory()  # large tensors reuse heap memory instead of page-faulting every step
    try:
        rc = app(standalone_mode=False)
    except UsageError as e:
        err_console.print(f"[red]error:[/red] {e}", highlight=False)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.exceptions.UsageError):
            err_console.print(f"[red]error:[/red] {e.format_message()}", highlight=False)
            sys.exit(EXIT_USAGE)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(EXIT_INTERRUPTED)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
