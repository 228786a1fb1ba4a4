"""The command line: thin. Parse, call the library, print.

Exit codes (README, "Commands"): 0 success; 1 the command ran and found failure; 2 bad usage, config
or data (one line, no traceback); 130 interrupted.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trainlab.errors import EXIT_INTERRUPTED, EXIT_USAGE, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="trainlab: a lab bench for training neural networks from scratch.")
console = Console(stderr=False)
err_console = Console(stderr=True, soft_wrap=True)

@app.callback()
def _root() -> None:
    """trainlab: a lab bench for training neural networks from scratch."""


EXIT_INTERRUPTED_REPORTED = -130  # internal: 130, and the command has said so itself
DEVICE_HELP = "auto (CUDA when available), cpu or cuda"
THREADS_HELP = "torch CPU threads, >= 1 (default: torch's choice)"
LAB_THREADS_HELP = "torch CPU threads, >= 1 (default: each study's own: 1 for shallow, torch's choice otherwise)"


def default_out(name: str) -> Path:
    """``runs/<name>-<timestamp>``, with the name cut to one safe path component."""
    from trainlab.runs.outdir import safe_name

    return Path("runs") / f"{safe_name(name)}-{time.strftime('%Y%m%d-%H%M%S')}"


def _check_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device must be auto, cpu or cuda, got {device!r}")
    return device


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
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="also write TensorBoard event files into DIR/tensorboard"),
    force: bool = typer.Option(False, "--force", help="replace a finished run in --out, or write into a folder trainlab did not make (only trainlab's own files are replaced)"),
) -> None:
    """Train the population a config describes and write its run folder.

    The folder is written under a temporary name and renamed into place when complete. Ctrl-C
    saves the run so far, marked ``status: interrupted``, and exits 130.
    """
    from trainlab.config import load_config
    from trainlab.members import resolve_members
    from trainlab.runs.io import atomic_dir
    from trainlab.runs.outdir import claim_out

    ov = list(overrides or [])
    ov.append(f"run.device={_check_device(device)}")
    if threads is not None:
        ov.append(f"run.threads={threads}")
    cfg = load_config(config, ov)
    out = out or default_out(cfg.run.name)
    members = resolve_members(cfg)
    with claim_out(out, "run", force=force, console=err_console) as claim:
        if claim.state == "ours" and claim.finished and not force:
            raise UsageError(f"output folder {out} already holds a finished run; pass --force to replace it "
                             f"(only trainlab's own files are replaced) or choose another --out")
        if claim.state == "ours" and not claim.finished:
            err_console.print(f"replacing the unfinished run in {out}", highlight=False)
        with atomic_dir(out, kind="run", allow_interrupted=True) as tmp:
            result = _train_into(cfg, tmp, members, quiet, tensorboard)
    s = result
    _print_train_summary(cfg, s, out)
    if s.get("status") == "interrupted":
        err_console.print(f"interrupted: the partial run is saved in {out} (status: interrupted)", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED_REPORTED)


def _train_into(cfg, folder: Path, members, quiet: bool, tensorboard: bool) -> dict:
    """Train, draw the figures and write the report into ``folder``; returns the summary."""
    from trainlab.experiments.study import Progress
    from trainlab.per_config import with_config_table
    from trainlab.report.html import write_report
    from trainlab.report.train import finish_train_run
    from trainlab.runner import run_config

    def finish(out: Path, summary: dict, arrays: dict) -> dict:
        return with_config_table(finish_train_run(out, summary, arrays))

    with Progress(quiet, console=err_console) as progress:
        advance = progress.task(f"train {cfg.run.name} (K={len(members)})", total=cfg.train.steps)
        result = run_config(cfg, folder, console=err_console, progress=advance, tensorboard=tensorboard,
                            finish=finish, members=members)
    write_report(folder)
    return result.summary


def _short_value(v) -> str:
    """A swept value for a table cell: floats to 4 significant digits, lists as JSON."""
    from trainlab.per_config import value_text

    return f"{v:.4g}" if isinstance(v, float) else str(value_text(v))


def configs_table(rows: list[dict], metric: str, title: str, limit: int = 20) -> Table:
    """Configurations best first: values, each final metric as median [95% CI] over seeds, the paired
    difference from the best and whether its interval includes 0 (a tie)."""
    keys = list(rows[0]["values"]) if rows else []
    partner = metric.replace("loss", "acc") if metric.endswith("loss") else metric.replace("acc", "loss")
    metrics = [m for m in (metric, partner) if rows and m in rows[0]["final"]]
    table = Table(title=title + (f" (best {limit} of {len(rows)})" if len(rows) > limit else ""))
    for col in ("#", *keys, *metrics, f"{metric} vs best", "tie"):
        table.add_column(col)
    for r in rows[:limit]:
        vb = r.get("vs_best")
        tie = {True: "[yellow]tie[/yellow]", False: "", None: "[green]best[/green]" if r["best"] else "n/a"}[r["tie"]]
        table.add_row(str(r["rank"]), *(Text(_short_value(r["values"].get(k))) for k in keys),
                      *(_fmt(r["final"][m], pct=m.endswith("acc")) for m in metrics),
                      "" if vb is None else f"{vb['median']:+.3g} [{vb['lo']:+.3g}, {vb['hi']:+.3g}]"
                      if vb.get("median") is not None else "n/a", tie)
    return table


def _print_train_summary(cfg, s: dict, out: Path) -> None:
    configs = s.get("configs") or []
    if len(configs) > 1:  # a grid: one row per configuration, never one median over all of them
        n_seeds = max(len(r["members"]) for r in configs)
        console.print(configs_table(configs, s["rank_metric"], f"{cfg.run.name}: {len(configs)} configurations x "
                                    f"{n_seeds} seed(s), median [95% CI] over seeds, best first by {s['rank_metric']}"))
        n_ties = sum(1 for r in configs if r.get("tie"))
        if n_ties:
            console.print(f"{n_ties} configuration(s) tie with the best: the 95% interval of their paired "
                          f"difference (per seed) includes 0")
        console.print(f"loss at init over all members: {_fmt(s['loss_at_init'])}  (ln C = {s['ln_n_classes']:.3f})")
    else:
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
    study: str = typer.Argument("all", help="all, or one study: shallow, deep, dropout, optimizers, gd-vs-sgd, "
                                            "regularization, schedules, preprocessing, augmentation, lr-search"),
    settings: Optional[List[str]] = typer.Argument(None, help="study settings: epochs=40 seeds=8 (one study), "
                                                              "dropout.epochs=40 (with all)"),
    out: Optional[Path] = typer.Option(None, "--out", help="output folder (default runs/lab-<timestamp>)"),
    quick: bool = typer.Option(False, "--quick", help="a small version of everything, for first looks and CI"),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="seeds per setting: the setting seeds=N of every study run"),
    force: bool = typer.Option(False, "--force", help="redo studies already finished in --out"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="dropout and augmentation studies' data: auto (default), mnist, fashion-mnist, mnist-5k"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="folder with IDX files (else $TRAINLAB_DATA)"),
    test: bool = typer.Option(False, "--test", help="dropout study: also evaluate on the untouched test split"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=LAB_THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress output"),
    tensorboard: bool = typer.Option(False, "--tensorboard", help="also write each study's per-member curves as TensorBoard scalars (DIR/<study>/tensorboard)"),
) -> None:
    """Run the lab's studies (all, or one) and write summary.json and report.html.

    Study settings are key=value: `lab dropout epochs=40 seeds=8`, `lab all dropout.epochs=40`.
    Into an existing lab folder, finished studies are skipped (``--force`` redoes them) and
    unfinished or interrupted ones are redone. Ctrl-C exits 130 and records nothing cut short.
    """
    from trainlab.env import pick_device
    from trainlab.experiments.registry import StudyOptions
    from trainlab.lab import check_settings, get_study, parse_overrides, run_lab
    from trainlab.runs.outdir import claim_out

    items = list(settings or [])
    if "=" in study:  # `trainlab lab seeds=4`: a setting, and the studies are all of them
        items.insert(0, study)
        study = "all"
    if study != "all":
        get_study(study)  # a bad name is a usage error before any work
    implied = _lab_options(seeds, dataset, data_dir, test)
    opts = StudyOptions(quick=quick, overrides=parse_overrides(study, items, implied), device=_check_device(device),
                        threads=threads, quiet=quiet, tensorboard=tensorboard)
    check_settings(study, opts)
    pick_device(device)
    out = out or default_out("lab" if study == "all" else study)
    with claim_out(out, "lab" if study == "all" else "study", force=force, console=err_console):
        outcomes = run_lab(study, out, opts, force=force, console=err_console)
    _print_lab(study, quick, outcomes, out)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


DATA_STUDIES = ("dropout", "augmentation")  # the studies on the dropout study's data: --dataset/--data-dir set both


def _lab_options(seeds: Optional[int], dataset: Optional[str], data_dir: Optional[Path], test: bool) -> tuple:
    """The settings that lab's options stand for: (option, study or None for all, setting, value)."""
    from trainlab.experiments.dropout.settings import DATASETS

    implied: list[tuple] = []
    if seeds is not None:
        implied.append(("--seeds", None, "seeds", seeds))
    if dataset is not None:
        if dataset not in DATASETS:
            raise UsageError(f"--dataset {dataset!r} is not available; valid: {', '.join(DATASETS)}")
        implied.append(("--dataset", DATA_STUDIES, "dataset", dataset))
    if data_dir is not None:
        if not data_dir.is_dir():
            raise UsageError(f"--data-dir {str(data_dir)!r} is not a folder")
        implied.append(("--data-dir", DATA_STUDIES, "data_dir", str(data_dir)))
    if test:
        implied.append(("--test", "dropout", "test", True))
    return tuple(implied)


def _print_lab(study: str, quick: bool, outcomes: list, out: Path) -> None:
    table = Table(title=f"trainlab lab {study}" + (" (quick)" if quick else ""))
    for col in ("study", "status", "time", "headline"):
        table.add_column(col)
    for o in outcomes:
        colour = {"ok": "green", "skipped": "cyan"}.get(o.status, "red")
        table.add_row(o.name, f"[{colour}]{o.status}[/{colour}]", f"{o.seconds:.1f} s",
                      o.headline or next(iter((o.error or "").splitlines()), ""))
    console.print(table)
    for o in outcomes:
        if o.status == "failed" and o.error:
            err_console.print(Text.assemble((f"{o.name} failed: ", "red"), o.error))
    if (out / "report.html").is_file():
        console.print(f"report: {out / 'report.html'}")


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="YAML config file: the base of every configuration"),
    overrides: Optional[List[str]] = typer.Argument(None, help="dotted overrides, e.g. train.steps=500"),
    out: Optional[Path] = typer.Option(None, "--out", help="sweep folder (default runs/sweep-<timestamp>); the same command resumes it"),
    grid: Optional[List[str]] = typer.Option(None, "--grid", help="key=v1,v2,... or key=logspace(a,b,n) / linspace(a,b,n); repeatable"),
    random: Optional[List[str]] = typer.Option(None, "--random", help="key=loguniform(a,b), uniform(a,b), intuniform(a,b) or choice(v1,v2,...); repeatable"),
    trials: Optional[int] = typer.Option(None, "--trials", min=1, help="configurations to draw (--random) or trials to run (--search)"),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="seeds per configuration (default: the config's population.seeds)"),
    metric: str = typer.Option("val_loss", "--metric", help="rank by the median over seeds of this final metric: val_loss, val_acc, train_loss, train_acc"),
    max_memory: Optional[int] = typer.Option(None, "--max-memory", min=1, help="MB: sets run.memory_budget_mb, the bound each chunk is sized to"),
    coarse_to_fine: Optional[str] = typer.Option(None, "--coarse-to-fine", help="KEY: its --grid range at a tenth of the steps, then 12 log-spaced points around the best at full steps"),
    stages: Optional[str] = typer.Option(None, "--stages", help='"k=...; k2=... k3=...; ...": one grid per stage, each winner fixed for the next'),
    search: Optional[str] = typer.Option(None, "--search", help="an Optuna sampler: tpe, random, cmaes, qmc, gp, nsga2 (or a class name)"),
    batch: int = typer.Option(16, "--batch", min=1, help="Optuna trials asked and trained as one population"),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///DIR/optuna.db)"),
    study_name: Optional[str] = typer.Option(None, "--study-name", help="Optuna study name (default trainlab-<run.name>)"),
    pruner: Optional[str] = typer.Option(None, "--pruner", help="Optuna pruner: median, hyperband, successive_halving, percentile"),
    backend: str = typer.Option("local", "--backend", help="local (this process) or ray (chunks as Ray tasks)"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: start a local Ray instance)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    force: bool = typer.Option(False, "--force", help="start --out over when it holds a different sweep, or write into a folder trainlab did not make"),
) -> None:
    """Train many configurations as populations, chunked under a memory bound, resumable.

    Each finished chunk is committed at once; after Ctrl-C (exit 130) or kill -9, the same command
    resumes and never trains a committed chunk again. Writes members.csv, configs.csv (Parquet
    copies with pyarrow), summary.json and report.html.
    """
    from trainlab.config import load_config
    from trainlab.runs.outdir import claim_out
    from trainlab.sweep.backends import make_backend
    from trainlab.sweep.progress import SweepProgress
    from trainlab.sweep.run import estimate_work, run_sweep
    from trainlab.sweep.spec import build_spec

    ov = list(overrides or [])
    ov.append(f"run.device={_check_device(device)}")
    if threads is not None:
        ov.append(f"run.threads={threads}")
    if max_memory is not None:
        ov.append(f"run.memory_budget_mb={max_memory}")
    if backend not in ("local", "ray"):
        raise UsageError(f"--backend must be local or ray, got {backend!r}")
    if address and backend != "ray":
        raise UsageError("--address needs --backend ray")
    if pruner and backend == "ray":
        raise UsageError("--pruner needs --backend local (trials report to the study while they train)")
    cfg = load_config(config, ov)
    spec = build_spec(cfg, grid, random, trials, seeds, metric, stages, coarse_to_fine, search, batch, storage,
                      study_name, pruner)
    out = out or default_out("sweep")
    with claim_out(out, "sweep", force=force, console=err_console):
        from trainlab.env import pick_device

        be = make_backend(backend, address, device="cpu" if backend == "ray" else str(pick_device(cfg.run.device)))
        try:
            with SweepProgress(estimate_work(spec), quiet=quiet, console=err_console) as prog:
                s = run_sweep(spec, out, be, force=force, progress=prog, console=err_console)
        except KeyboardInterrupt:
            err_console.print(f"interrupted: the committed chunks are kept in {out}; run the same command to resume",
                              highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED_REPORTED)
        finally:
            be.close()
        from trainlab.report.sweep_page import render_sweep

        report_path = render_sweep(out)
    _print_sweep_summary(s, out, report_path)


def _print_sweep_summary(s: dict, out: Path, report_path: Path) -> None:
    metric = s["metric"]
    if len(s["stages"]) > 1:
        table = Table(title=f"stages: each winner fixed for the next (median [95% CI] of {metric} over seeds)")
        for col in ("stage", "steps", "configs", "winner", metric, "ties"):
            table.add_column(col)
        for st in s["stages"]:
            w = st.get("winner") or {}
            vals = ", ".join(f"{k}={_short_value(v)}" for k, v in (w.get("values") or {}).items())
            table.add_row(Text(st["title"] or st["name"]), str(st["steps"]), str(st["configs"]), Text(vals),
                          _fmt((w.get("final") or {}).get(metric, {}), pct=metric.endswith("acc")), str(st["ties"]))
        console.print(table)
    best = [dict(b, best=b["rank"] == 1) for b in s["best"]]
    if best:
        console.print(configs_table(best, metric, f"best configurations ({s['configs']} configurations x "
                                    f"{len(s['seeds'])} seed(s); median [95% CI] over seeds)", limit=10))
    ch = s["chunks"]
    console.print(f"{s['members']} members in {ch['total']} chunks ({ch['trained']} trained now, {ch['reused']} "
                  f"already committed); backend {s['backend']}; {s['seconds']:.1f} s")
    if s.get("optuna"):
        o = s["optuna"]
        console.print(f"Optuna study {o['study_name']!r} in {o['storage']}: {o['trials']}", highlight=False)
    console.print(f"sweep folder: {out}  (configs.csv, members.csv; report: {report_path})")


@app.command()
def report(folder: Path = typer.Argument(..., help="a study folder or a `lab all` folder")) -> None:
    """Rebuild report.html and answers.html from a run folder alone (it writes those two files and nothing else)."""
    from trainlab.report.html import write_report

    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a trainlab run or lab folder")
    if not (folder / "summary.json").is_file():
        raise UsageError(f"{folder} has no summary.json: not a trainlab run folder")
    console.print(f"report: {write_report(folder)}")


@app.command("check-claims")
def check_claims_cmd(
    claims: Path = typer.Argument(..., help="a claims YAML file (format: trainlab/report/claims.py; the shipped "
                                            "example: trainlab/report/claims/student_004.yaml)"),
    folder: Path = typer.Argument(..., help="a study folder or a `lab all` folder"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the verdicts as JSON to this file"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="also write the verdicts as an HTML page to this file"),
) -> None:
    """Judge a report's claims on a run: confirmed, refuted, inconclusive or not comparable, each with a reason.

    Exits 0 once every claim is judged (whatever the verdicts), 2 on a bad claims file or folder."""
    from rich.markup import escape
    from rich.table import Table

    from trainlab.report.claims import check_claims

    if not claims.is_file():
        raise UsageError(f"{claims} is not a file; give a claims YAML file")
    if not folder.is_dir() or not (folder / "summary.json").is_file():
        raise UsageError(f"{folder} is not a trainlab run folder (no summary.json); give a study or `lab all` folder")
    for opt, out in (("--json", json_out), ("--html", html_out)):
        if out is not None and (out.is_dir() or not out.parent.is_dir()):
            raise UsageError(f"{opt} {str(out)!r} must be a file path in an existing folder")
    name, results = check_claims(claims, folder)
    table = Table(title=escape(f"{name}: claims checked on {folder}"), show_lines=True)
    for col in ("claim", "verdict", "measured"):
        table.add_column(col, overflow="fold")
    for c, ch in results:  # the file's strings are text, never rich markup
        table.add_row(escape(c.id), ch.verdict, escape(ch.reason))
    console.print(table)
    counts = {v: sum(ch.verdict == v for _, ch in results) for v in ("confirmed", "refuted", "inconclusive",
                                                                      "not comparable")}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()), highlight=False)
    _write_claims(name, folder, claims, results, json_out, html_out)


def _write_claims(name: str, folder: Path, claims: Path, results: list, json_out: Optional[Path],
                  html_out: Optional[Path]) -> None:
    """check-claims' --json and --html files."""
    from trainlab.runs.io import write_json_atomic, write_text_atomic

    if json_out is not None:
        write_json_atomic(json_out, {"report": name, "run": str(folder), "claims": [
            {"id": c.id, "quote": c.quote, "verdict": ch.verdict, "reason": ch.reason} for c, ch in results]})
    if html_out is not None:
        from trainlab.report.answers_page import claims_page
        from trainlab.report.lookup import Sources

        write_text_atomic(html_out, claims_page(Sources.load(folder), claims))
        console.print(f"html: {html_out}", markup=False, highlight=False)


@app.command()
def doctor(
    config: Optional[Path] = typer.Argument(None, help="YAML config to check (its first member)"),
    overrides: Optional[List[str]] = typer.Argument(None, help="dotted overrides, e.g. model.init.std=1"),
    python: Optional[str] = typer.Option(None, "--python", help="FILE.py:FUNCTION returning (model, optimizer, batches[, loss_fn])"),
    steps: int = typer.Option(100, "--steps", min=1, help="steps of the short training probe"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the report as JSON here"),
    verify: bool = typer.Option(False, "--verify", help="try each root cause's fix on a copy, re-run the checks (same seed and batches), report fixed / improved / not fixed / not applicable"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
) -> None:
    """Pre-training checks: loss at init, inputs, init scale, overfit one small batch, a short probe,
    a gradient check and a regularization check; findings root causes first.

    Exits 1 when any finding is an error, 2 on a bad config.
    """
    from trainlab.diag_cli import doctor_main
    from trainlab.env import set_threads
    from trainlab.torch_setup import build_from_path

    _check_device(device)
    if json_out is not None:
        _check_json_out(json_out)
    set_threads(threads)
    rc = doctor_main(str(config) if config else None, python, build=lambda p: build_from_path(p, list(overrides or [])),
                     steps=steps, json_out=json_out, console=console, err_console=err_console, verify=verify)
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
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help=THREADS_HELP),
    force: bool = typer.Option(False, "--force", help="write into an --out folder trainlab did not make (only its own files are replaced)"),
) -> None:
    """LR range test: exponential ramp, smoothed loss, a suggestion robust to early spikes, a plot.

    The model's weights and the optimizer state are restored afterwards.
    """
    from trainlab.diag_cli import lr_find_main
    from trainlab.env import set_threads
    from trainlab.torch_setup import build_from_path

    from trainlab.runs.io import atomic_dir
    from trainlab.runs.outdir import claim_out

    _check_device(device)
    for name, v in (("--lr-min", lr_min), ("--lr-max", lr_max)):
        if not (math.isfinite(v) and v > 0):
            raise UsageError(f"{name} must be a finite number > 0, got {v}")
    if lr_min >= lr_max:
        raise UsageError(f"--lr-min ({lr_min}) must be below --lr-max ({lr_max})")
    set_threads(threads)
    out = out or default_out("lr-find")
    with claim_out(out, "lr-find", force=force, console=err_console), atomic_dir(out, kind="lr-find") as tmp:
        rc = lr_find_main(str(config) if config else None, python, build=lambda p: build_from_path(p, list(overrides or [])),
                          out=tmp, lr_min=lr_min, lr_max=lr_max, steps=steps, console=console, err_console=err_console,
                          shown_out=out)
        if rc == EXIT_USAGE:
            raise typer.Exit(rc)  # nothing was measured: leave no folder behind
    raise typer.Exit(rc)


@app.command()
def play(
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="port to listen on (0: any free port)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default: this machine only)"),
    no_browser: bool = typer.Option(False, "--no-browser", help="print the address without opening a browser"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads, >= 1 (default: 1; "
                                          "each tab and fixed copy trains in its own thread)"),
) -> None:
    """A live browser playground: a whole population trains at once, with diagnosis and fixes.

    Prints the page's address (with this launch's token) and opens it when a graphical browser is
    available. Ctrl-C stops the server (exit 130).
    """
    try:
        from trainlab.play.server import serve
    except ImportError as e:
        raise UsageError(f"trainlab play needs the play extra ({e.name} is missing): pip install 'trainlab[play]'") \
            from None
    from trainlab.play.adapter import pick_device, set_threads

    dev = pick_device(_check_device(device))
    set_threads(threads or 1)  # toy nets gain nothing from more, and several runs train at once
    serve(host, port, dev, open_browser=not no_browser, echo=lambda text: console.print(text, highlight=False,
                                                                                      soft_wrap=True))


def _check_json_out(path: Path) -> None:
    """``doctor --json PATH``: a file path whose folder exists; an existing file must be an earlier report."""
    if path.is_dir():
        raise UsageError(f"--json {str(path)!r} is a folder; give a file path such as {str(path / 'doctor.json')!r}")
    if not path.parent.is_dir():
        raise UsageError(f"--json {str(path)!r}: folder {str(path.parent)!r} does not exist")
    if path.exists():
        import json

        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            old = None
        if not (isinstance(old, dict) and old.get("made_by") == "trainlab doctor"):
            raise UsageError(f"--json {str(path)!r} exists and is not a trainlab doctor report; remove it or "
                             f"choose another path")
    if not os.access(path.parent, os.W_OK):
        raise UsageError(f"--json {str(path)!r}: no permission to write in {str(path.parent)!r}")


def _click_error_types() -> tuple[type, type]:
    """click's UsageError and Abort, as typer ships them (typer 0.29 carries its own copy of click;
    the separate ``click`` package may not be installed): found through typer's public classes."""
    usage = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
    return usage, typer.Abort


def run(argv: Optional[List[str]] = None) -> int:
    """Run the CLI and return the exit code; the one place errors become exit codes.

    A user's mistake (``UsageError``, or click's usage errors) prints one line and gives 2;
    Ctrl-C gives 130; anything else is a bug and keeps its traceback (exit 1).
    """
    from trainlab.malloc import keep_freed_memory, reexec_with_env

    click_usage, click_abort = _click_error_types()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        reexec_with_env(args)  # lab and train: restart once with glibc's malloc variables set
        keep_freed_memory()  # large tensors reuse heap memory instead of page-faulting every step
        rc = app(args=args, standalone_mode=False, prog_name="trainlab")
    except UsageError as e:
        err_console.print(Text.assemble(("error: ", "red"), str(e)))
        return EXIT_USAGE
    except (KeyboardInterrupt, click_abort):
        err_console.print("interrupted", highlight=False)
        return EXIT_INTERRUPTED
    except click_usage as e:
        message = e.format_message()
        if message:  # empty: no command given, and the help was printed
            hint = " (see trainlab --help)" if getattr(e, "ctx", None) is None else f" (see {e.ctx.command_path} --help)"
            err_console.print(Text.assemble(("error: ", "red"), message + hint))
        return EXIT_USAGE
    if rc == EXIT_INTERRUPTED:  # typer turns KeyboardInterrupt into exit code 130, silently
        err_console.print("interrupted", highlight=False)
    if rc == EXIT_INTERRUPTED_REPORTED:
        rc = EXIT_INTERRUPTED
    return rc if isinstance(rc, int) else 0


def main() -> None:
    """Entry point for ``python -m trainlab.cli``; the installed ``trainlab`` uses ``trainlab.__main__``."""
    from trainlab.__main__ import main as entry

    entry()


if __name__ == "__main__":
    main()
