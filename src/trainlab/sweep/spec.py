"""What a sweep is asked to do (``SweepSpec``), checked before any work.

Modes, from the options given:

- ``grid``: every combination of the ``--grid`` values (or of the config's ``population.grid``,
  zipped with its ``population.zip``);
- ``random``: ``--trials`` configurations drawn from the ``--random`` distributions;
- ``stages``: one grid per stage; each stage's winner is fixed for the next;
- ``coarse_to_fine``: the ``--grid`` range of one key at a tenth of the steps, then 12 log-spaced
  points around the coarse winner at the full steps;
- ``optuna``: ``--search SAMPLER``: ``--trials`` trials asked ``--batch`` at a time from Optuna,
  over the ``--random`` distributions and the ``--grid`` lists (as categorical choices).

A grid both in the config and on the command line is a usage error (exit 2), as are options that do
not go together. ``to_json`` is what ``sweep.json`` holds: resuming needs the same spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from trainlab.errors import UsageError
from trainlab.per_config import METRICS
from trainlab.sweep.plan import apply, check_key, check_values
from trainlab.sweep.space import Axis, Dist, parse_axis, parse_dist, parse_stages
from trainlab.sweep import lib

COARSE_FRACTION = 10  # coarse to fine: the coarse stage trains steps // 10
DEFAULT_BATCH = 16


@dataclass
class SweepSpec:
    base: dict  # the resolved config as a raw dict, without its population block
    seeds: list[int]
    metric: str = "val_loss"
    grid: list[Axis] = field(default_factory=list)
    zip: list[Axis] = field(default_factory=list)  # from the config's population.zip
    random: list[Dist] = field(default_factory=list)
    trials: Optional[int] = None
    stages: list[list[Axis]] = field(default_factory=list)
    coarse_to_fine: Optional[str] = None
    search: Optional[str] = None  # an Optuna sampler
    batch: int = DEFAULT_BATCH
    storage: Optional[str] = None  # an Optuna storage URL (default: SQLite in the sweep folder)
    study_name: Optional[str] = None
    pruner: Optional[str] = None

    @property
    def mode(self) -> str:
        if self.search:
            return "optuna"
        if self.stages:
            return "stages"
        if self.coarse_to_fine:
            return "coarse_to_fine"
        if self.random:
            return "random"
        return "grid"

    @property
    def steps(self) -> int:
        return int(self.base.get("train", {}).get("steps", 1000))

    def swept_keys(self) -> list[str]:
        keys: list[str] = []
        for axes in [self.grid, self.zip, self.random, *self.stages]:
            keys += [a.key for a in axes if a.key not in keys]
        return keys

    def to_json(self) -> dict:
        run = {k: v for k, v in self.base.get("run", {}).items() if k not in ("threads", "device")}
        return {"version": 1, "mode": self.mode, "base": {**self.base, "run": run}, "seeds": self.seeds,
                "metric": self.metric, "grid": [a.to_json() for a in self.grid], "zip": [a.to_json() for a in self.zip],
                "random": [d.to_json() for d in self.random], "trials": self.trials,
                "stages": [[a.to_json() for a in st] for st in self.stages], "coarse_to_fine": self.coarse_to_fine,
                "search": self.search, "batch": self.batch if self.search else None, "storage": self.storage,
                "study_name": self.study_name, "pruner": self.pruner}


def build_spec(cfg: Any, grid: Optional[list[str]] = None, random: Optional[list[str]] = None,
               trials: Optional[int] = None, seeds: Optional[int] = None, metric: str = "val_loss",
               stages: Optional[str] = None, coarse_to_fine: Optional[str] = None, search: Optional[str] = None,
               batch: int = DEFAULT_BATCH, storage: Optional[str] = None, study_name: Optional[str] = None,
               pruner: Optional[str] = None) -> SweepSpec:
    """Parse and check the command line's sweep options against a loaded config."""
    grid, random = list(grid or []), list(random or [])
    pop = cfg.population
    cli_space = [name for name, given in (("--grid", grid), ("--random", random), ("--stages", stages),
                                          ("--search", search)) if given]
    if pop.grid or pop.zip:
        which = "population.grid" if pop.grid else "population.zip"
        keys = ", ".join(list(pop.grid) + list(pop.zip))
        if cli_space:
            raise UsageError(f"a grid both in the config ({which}: {keys}) and on the command line "
                             f"({', '.join(cli_space)}); remove one of them")
    base = cfg.model_dump(mode="json")
    base.pop("population", None)
    seed_list = list(range(seeds)) if seeds else (list(pop.seed_list) if pop.seed_list is not None
                                                   else list(range(pop.seeds)))
    spec = SweepSpec(base=base, seeds=seed_list, metric=metric, trials=trials, coarse_to_fine=coarse_to_fine,
                     search=search, batch=batch, storage=storage, study_name=study_name, pruner=pruner)
    spec.grid = [parse_axis(g) for g in grid] or [Axis(k, tuple(v)) for k, v in pop.grid.items()]
    spec.zip = [] if grid else [Axis(k, tuple(v)) for k, v in pop.zip.items()]
    spec.random = [parse_dist(r) for r in random]
    spec.stages = parse_stages(stages) if stages else []
    check_spec(spec)
    return spec


def check_spec(spec: SweepSpec) -> None:
    """Options that do not go together, and keys and bounds, as usage errors."""
    if spec.metric not in METRICS:
        raise UsageError(f"--metric {spec.metric!r} is not a metric; valid: {', '.join(METRICS)} (the median over "
                         f"seeds of its final value)")
    if spec.metric.startswith("val_") and int(spec.base.get("data", {}).get("n_val", 0)) == 0:
        raise UsageError(f"--metric {spec.metric} needs validation data, but data.n_val is 0; use --metric "
                         f"{spec.metric.replace('val_', 'train_')} or set data.n_val")
    keys = [a.key for a in spec.grid]
    for name, dup in (("--grid", keys), ("--random", [d.key for d in spec.random])):
        if len(set(dup)) != len(dup):
            raise UsageError(f"{name} names a key twice: {', '.join(dup)}")
    _check_modes(spec)
    if spec.coarse_to_fine:
        _check_coarse_to_fine(spec, keys)
    _check_space(spec)


def _check_modes(spec: SweepSpec) -> None:
    """Which search options go together (stages, search, random, grid)."""
    if spec.stages and (spec.grid or spec.random or spec.coarse_to_fine or spec.search):
        raise UsageError("--stages is a search of its own: give it without --grid, --random, --coarse-to-fine "
                         "and --search")
    if spec.search:
        if spec.coarse_to_fine:
            raise UsageError("--coarse-to-fine and --search do not go together")
        if not (spec.random or spec.grid):
            raise UsageError("--search needs a space: --random key=loguniform(a,b) and/or --grid key=v1,v2")
        if not spec.trials or spec.trials < 1:
            raise UsageError("--search needs --trials N (N >= 1)")
        if spec.batch < 1:
            raise UsageError(f"--batch must be >= 1, got {spec.batch}")
        from trainlab.sweep.optuna_search import make_pruner, make_sampler

        make_sampler(spec.search, 0)  # Optuna installed, the sampler and pruner known: before any work
        make_pruner(spec.pruner)
    elif spec.random:
        if spec.grid:
            raise UsageError("--random and --grid do not go together (except with --search); sweep the grid keys "
                             "with choice(v1,v2,...) instead")
        if spec.coarse_to_fine:
            raise UsageError("--coarse-to-fine refines a --grid range; it does not go with --random")
        if not spec.trials or spec.trials < 1:
            raise UsageError("--random needs --trials N (N >= 1)")
    elif spec.trials is not None:
        raise UsageError("--trials needs --random or --search")
    if spec.pruner and not spec.search:
        raise UsageError("--pruner needs --search")
    if (spec.storage or spec.study_name) and not spec.search:
        raise UsageError("--storage and --study-name need --search")


def _check_coarse_to_fine(spec: SweepSpec, keys: list[str]) -> None:
    """The refined key has a --grid range of at least 2 positive numbers (fine points are log-spaced)."""
    if spec.coarse_to_fine not in keys:
        raise UsageError(f"--coarse-to-fine {spec.coarse_to_fine}: give its coarse range with --grid "
                         f"{spec.coarse_to_fine}=logspace(a,b,n)")
    vals = next(a.values for a in spec.grid if a.key == spec.coarse_to_fine)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in vals):
        raise UsageError(f"--coarse-to-fine {spec.coarse_to_fine}: its values must be positive numbers (the fine "
                         f"points are log-spaced), got {list(vals)}")
    if len(vals) < 2:
        raise UsageError(f"--coarse-to-fine {spec.coarse_to_fine}: give at least 2 coarse values")


def _check_space(spec: SweepSpec) -> None:
    """Something to sweep, and every listed value and random range end valid, before any folder is made."""
    if not (spec.grid or spec.random or spec.stages or spec.zip):
        raise UsageError("nothing to sweep: give --grid key=v1,v2, --random key=loguniform(a,b) --trials N, --stages, "
                         "or a population.grid in the config")
    for axes in [spec.grid, spec.zip, *spec.stages]:  # every listed value, before any folder is made
        check_values(spec.base, [{a.key: v} for a in axes for v in a.values])
    for d in spec.random:
        check_key(d.key)
        ends = list(d.args) if d.kind == "choice" else [d.args[0], d.args[1]]
        if d.kind == "intuniform":
            ends = [int(e) for e in ends]
        for v in ends:
            try:
                lib.config_from(apply(spec.base, {d.key: v}))
            except UsageError as e:
                raise UsageError(f"--random {d.key}: {v!r} is not valid: {e}") from None
