"""Optuna in population batches: ask ``--batch`` trials, train them as one population, tell the results.

- The space: each ``--random`` distribution becomes ``suggest_float`` (log for ``loguniform``),
  ``suggest_int`` or ``suggest_categorical``; each ``--grid`` list a categorical choice (lists such
  as ``[32, 32]`` travel as JSON text, since Optuna's choices are scalars).
- The sampler is seeded by ``run.seed`` (plus the number of trials already in the study when a
  study is resumed, so that it does not draw the points it drew before again).
- Each trial is one configuration trained on every seed; its value is the median over seeds of
  the final ``--metric``. Optuna minimizes losses and maximizes accuracies.
- Storage: Optuna's RDB storage, SQLite at ``DIR/optuna.db`` by default (``--storage URL`` for
  another database), so ``optuna-dashboard sqlite:///DIR/optuna.db`` and every Optuna tool read it.
- ``--pruner median|hyperband|successive_halving|percentile``: at each evaluation a trial reports
  its median over seeds; the members of a trial the pruner stops are frozen (no more updates) and
  their rows say ``pruned: ...``; the trial is told ``PRUNED``. Pruning needs the local backend.
- Resume: a batch is committed (``chunks/optuna-batch<n>.json``: its trials, values and member
  rows) before its trials are told. A resumed study first tells what a killed one committed but
  could not tell; trials still ``RUNNING`` that no batch holds were cut short: they are marked
  ``FAIL`` and asked again with the same parameters (``enqueue_trial``). So no completed trial is
  lost or repeated.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from trainlab.errors import UsageError
from trainlab.loop import FitState
from trainlab.per_config import METRICS
from trainlab.sweep import lib, results
from trainlab.sweep.plan import ChunkTask, Stage, check_values
from trainlab.sweep.space import Axis, Dist

SAMPLERS = {"tpe": "TPESampler", "random": "RandomSampler", "cmaes": "CmaEsSampler", "qmc": "QMCSampler",
            "gp": "GPSampler", "nsga2": "NSGAIISampler", "nsga3": "NSGAIIISampler", "bruteforce": "BruteForceSampler"}
PRUNERS = {"median": "MedianPruner", "hyperband": "HyperbandPruner", "successive_halving": "SuccessiveHalvingPruner",
           "percentile": "PercentilePruner", "none": "NopPruner"}
TAG = "trainlab_sweep"  # user attribute on every trial this sweep asked: the sweep folder
DB = "optuna.db"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UsageError("--search needs Optuna: pip install 'trainlab[optuna]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def make_sampler(name: str, seed: int):
    """A sampler by short name (tpe, random, cmaes, ...) or by its class name in ``optuna.samplers``."""
    optuna = _optuna()
    cls_name = SAMPLERS.get(name.lower(), name)
    cls = getattr(optuna.samplers, cls_name, None)
    if cls is None or not cls_name.endswith("Sampler") or cls_name in ("BaseSampler", "GridSampler",
                                                                       "PartialFixedSampler", "BaseGASampler"):
        raise UsageError(f"unknown --search {name!r}; valid: {', '.join(SAMPLERS)} (or an optuna.samplers class name)")
    kwargs: dict[str, Any] = {"seed": seed}
    if cls_name == "TPESampler":
        kwargs["constant_liar"] = True  # a batch's trials avoid each other while none has a value yet
    try:
        return cls(**kwargs)
    except TypeError:
        return cls()
    except ImportError as e:
        raise UsageError(f"--search {name}: {e}") from None


def make_pruner(name: Optional[str]):
    if not name:
        return None
    optuna = _optuna()
    if name not in PRUNERS:
        raise UsageError(f"unknown --pruner {name!r}; valid: {', '.join(PRUNERS)}")
    if name == "percentile":
        return optuna.pruners.PercentilePruner(25.0)
    return getattr(optuna.pruners, PRUNERS[name])()


def _encode(v: Any) -> Any:
    return v if v is None or isinstance(v, (bool, int, float, str)) else json.dumps(v)


def suggest(trial: Any, dists: list[Dist], axes: list[Axis]) -> dict[str, Any]:
    """The trial's configuration: every distribution and grid list asked of Optuna."""
    values: dict[str, Any] = {}
    for d in dists:
        if d.kind == "choice":
            enc = [_encode(v) for v in d.args]
            values[d.key] = d.args[enc.index(trial.suggest_categorical(d.key, enc))]
        else:
            values[d.key] = d.suggest(trial)
    for a in axes:
        enc = [_encode(v) for v in a.values]
        values[a.key] = a.values[enc.index(trial.suggest_categorical(a.key, enc))]
    return values


class TrialPruning:
    """A fit callback: each trial in the chunk reports its median over seeds at every evaluation;
    a trial the pruner stops has its members frozen, with the reason kept in ``stopped_members``."""

    def __init__(self, task: ChunkTask, trials: dict[int, Any], metric: str, pruner_name: str):
        self.trials, self.metric, self.pruner_name = trials, metric, pruner_name
        self.index: dict[int, list[int]] = {}
        for j, m in enumerate(task.members):
            self.index.setdefault(m[1], []).append(j)
        self.stopped_members: dict[int, tuple[str, int]] = {}
        self.pruned: set[int] = set()

    def on_eval(self, state: FitState):
        vals = state.history.metrics.get(self.metric)
        if not vals or state.step == 0:
            return None
        v = np.asarray(vals[-1], dtype=np.float64)
        for cid, idx in self.index.items():
            if cid in self.pruned:
                continue
            finite = v[idx][np.isfinite(v[idx])]
            if not finite.size:
                continue
            med = float(np.median(finite))
            trial = self.trials[cid]
            trial.report(med, state.step)
            if trial.should_prune():
                self.pruned.add(cid)
                for j in idx:
                    state.stopped[j] = True
                    self.stopped_members[j] = (f"pruned: {self.pruner_name} pruner at step {state.step} "
                                               f"({self.metric}={med:.4g})", state.step)
        return None


def storage_url(spec, folder_path: Path) -> str:
    return spec.storage or f"sqlite:///{(Path(folder_path) / DB).resolve()}"


def shown_url(url: str) -> str:
    """The storage URL with any password hidden (it goes into summary.json)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':')[0]}:***@{host}" if ":" in cred else url
    return url


def run_optuna(spec, folder, backend, prog, runner, console=None):
    """Ask, train, commit, tell, batch by batch, until ``--trials`` trials are finished."""
    optuna = _optuna()
    from optuna.trial import TrialState

    seed = int(spec.base.get("run", {}).get("seed", 0))
    pruner = make_pruner(spec.pruner)
    if pruner is not None and not backend.supports_callbacks:
        raise UsageError("--pruner needs --backend local (trials report to the study while they train)")
    study, url, name, direction = _open_study(optuna, spec, folder, pruner, seed)
    tag = str(Path(folder.path).resolve())
    check_values(spec.base, [{a.key: v} for a in spec.grid for v in a.values])
    batches = folder.batches()
    recovered, asked_again = reconcile(study, batches, tag, TrialState)
    n_seeds, steps = len(spec.seeds), spec.steps
    finished = {t["number"] for b in batches for t in b["trials"]}
    folder.reused += len(batches)
    prog.reused(len(finished) * n_seeds * steps)
    prog.set_stage("optuna", steps)
    all_rows = [r for b in batches for r in b["rows"]]
    batch_no = len(batches)
    while len(finished) < int(spec.trials):
        k = min(spec.batch, int(spec.trials) - len(finished))
        asked = []
        for _ in range(k):
            trial = study.ask()
            trial.set_user_attr(TAG, tag)
            asked.append((trial, suggest(trial, spec.random, spec.grid)))
        trials = {t.number: t for t, _ in asked}
        stage = Stage(f"batch{batch_no}", [v for _, v in asked], config_ids=list(trials), title=f"batch {batch_no}")
        callbacks_for = None
        if pruner is not None:
            callbacks_for = lambda task: [TrialPruning(task, trials, spec.metric, spec.pruner)]  # noqa: E731
        rows = runner_batch(runner, stage, callbacks_for, eval_final_only=pruner is None)
        for r in rows:
            r["stage"], r["chunk"] = "optuna", batch_no
        doc = {"batch": batch_no, "trials": [_trial_record(n, v, rows, spec.metric) for n, v in
                                             ((t.number, v) for t, v in asked)], "rows": rows}
        folder.commit_batch(batch_no, doc)
        for rec in doc["trials"]:
            _tell(study, rec, TrialState)
        finished |= set(trials)
        all_rows += rows
        prog.set_best(results.best_text(_best_of(doc, spec.metric, batches), spec.metric))
        batches.append(doc)
        batch_no += 1
    table = results.stage_configs(all_rows, spec.metric)
    stages = [results.stage_summary("optuna", f"Optuna {spec.search}: {spec.trials} trials in batches of "
                                    f"{spec.batch}", spec.swept_keys(), {}, steps, table, spec.metric)]
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get(TAG) == tag:
            counts[t.state.name.lower()] += 1
    extra = {"optuna": {"storage": shown_url(url), "study_name": name, "sampler": spec.search,
                        "pruner": spec.pruner, "batch": spec.batch, "direction": direction, "trials": counts,
                        "told_on_resume": recovered, "asked_again": asked_again}}
    return stages, [table], all_rows, extra


def _open_study(optuna, spec, folder, pruner, seed: int):
    """The Optuna study in its RDB storage (created or resumed): (study, url, name, direction)."""
    url = storage_url(spec, folder.path)
    if spec.storage is None:
        lib.mark_made(folder.path, "sweep", DB, f"{DB}-journal")
    name = spec.study_name or f"trainlab-{lib.safe_name(spec.base.get('run', {}).get('name', 'sweep'))}"
    direction = "minimize" if METRICS[spec.metric] == "min" else "maximize"
    try:
        study = optuna.create_study(storage=url, study_name=name, sampler=make_sampler(spec.search, seed),
                                    pruner=pruner, direction=direction, load_if_exists=True)
        n_before = len(study.get_trials(deepcopy=False))
        if n_before:  # resumed: a sampler seeded as before would draw the points it drew then again
            study.sampler = make_sampler(spec.search, seed + n_before)
    except (ImportError, ValueError) as e:
        raise UsageError(f"cannot open the Optuna storage {shown_url(url)}: {e}") from None
    return study, url, name, direction


def runner_batch(runner, stage: Stage, callbacks_for, eval_final_only: bool) -> list[dict]:
    """Train every chunk of a batch and return its rows (committed together, as one batch)."""
    from trainlab.sweep.plan import plan_stage

    tasks = plan_stage(runner.spec.base, stage, runner.spec.seeds, eval_final_only)
    got: dict[str, list[dict]] = {}
    runner.backend.run(tasks, lambda t, rows: got.__setitem__(t.key, rows), runner.prog, callbacks_for)
    return [r for t in tasks for r in got[t.key]]


def _trial_record(number: int, values: dict, rows: list[dict], metric: str) -> dict:
    mine = [r for r in rows if r["config"] == number]
    vals = np.array([r.get(f"final_{metric}") if isinstance(r.get(f"final_{metric}"), (int, float)) else np.nan
                     for r in mine], dtype=np.float64)
    finite = vals[np.isfinite(vals)]
    value = float(np.median(finite)) if finite.size else None
    pruned = any(str(r.get("stopped") or "").startswith("pruned") for r in mine)
    state = "pruned" if pruned else ("complete" if value is not None and math.isfinite(value) else "fail")
    return {"number": number, "params": values, "value": value, "state": state}


def _tell(study, rec: dict, TrialState) -> None:
    if rec["state"] == "complete":
        study.tell(rec["number"], rec["value"], skip_if_finished=True)
    elif rec["state"] == "pruned":
        study.tell(rec["number"], state=TrialState.PRUNED, skip_if_finished=True)
    else:
        study.tell(rec["number"], state=TrialState.FAIL, skip_if_finished=True)


def reconcile(study, batches: list[dict], tag: str, TrialState) -> tuple[list[int], list[int]]:
    """Tell what committed batches hold but the study does not know; fail and re-ask the trials a
    killed sweep left running. Returns (trials told now, trials asked again)."""
    recorded = {t["number"]: t for b in batches for t in b["trials"]}
    told, again = [], []
    for ft in study.get_trials(deepcopy=False):
        if ft.state != TrialState.RUNNING or ft.user_attrs.get(TAG) != tag:
            continue
        if ft.number in recorded:
            _tell(study, recorded[ft.number], TrialState)
            told.append(ft.number)
        else:
            study.tell(ft.number, state=TrialState.FAIL)
            study.enqueue_trial(dict(ft.params), user_attrs={"trainlab_retry_of": ft.number})
            again.append(ft.number)
    return told, again


def _best_of(doc: dict, metric: str, batches: list[dict]) -> Optional[dict]:
    recs = [t for b in [*batches, doc] for t in b["trials"] if t["value"] is not None and t["state"] == "complete"]
    if not recs:
        return None
    sign = -1 if METRICS[metric] == "max" else 1
    b = min(recs, key=lambda t: sign * t["value"])
    return {"values": b["params"], "final": {metric: {"median": b["value"]}}}
