"""What the shallow study trains: settings, the sigma grid, and every member with its group.

All members that share a dataset and an optimizer train in ONE population; they differ only by
per-member values (``model.init.std``, ``model.init.scheme``, ``data.scale``, ``data.offset``,
``optim.lr``). Every group uses member seeds 0..S-1, so seed s of one group and seed s of another
share their random streams: comparisons between groups are paired over seeds.

Populations (``plan()`` builds them, in this order):

- ``lab``: the lab's circles at the origin, SGD lr 0.1 full batch, 1000 steps. The sigma sweep
  (grid over ``model.init.std`` x seeds), the named init schemes, data scaling via ``data.scale``,
  the circles moved to (10, 10) via ``data.offset`` (exactly ``circles(center=(10, 10))``) and the
  breakers that are per-member values (zero and constant init, lr far too high / low);
- ``standardized``: circles centred at (10, 10), standardized on train (a different dataset);
- ``dead_relu``: every bias starts at ``DEAD_BIAS`` (bias init is structure, not per member);
- ``report_raw`` / ``report_std``: the student report's set-up (AdamW 3e-4, several inits, a test
  set) on (10, 10) circles raw, standardized, and standardized then scaled by 0.01.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from trainlab.config import Config, build_config
from trainlab.members import Member, expand_members

EXACT_SIGMAS = (1e-3, 0.01, 0.1, 0.5, 2.0, 10.0)  # must appear exactly in every grid
POINTS_PER_DECADE = 6  # 1e-3..1e1 at 6 per decade: 25 values
SIGMA_REF = 0.5  # the normal-init std used where sigma is held fixed (data scaling, breakers)
DATA_SCALES = (0.01, 0.03, 0.1, 0.3, 3.0, 10.0, 30.0, 100.0)  # x1 is the sweep's own SIGMA_REF group
QUICK_DATA_SCALES = (0.01, 0.1, 10.0, 100.0)
CENTER = (10.0, 10.0)  # the student report's circles
DEAD_BIAS = -1.0  # every bias starts here: most ReLUs are off on every input
SEEDS, QUICK_SEEDS = 16, 8
EVAL_EVERY = 20  # steps between train/val curve points
N_CURVE = 1000  # val points used for the curves; final val metrics use all of them
LAB_STEPS, LAB_LR, N_TRAIN, N_VAL = 1000, 0.1, 100, 10000
VARIANT_LR, VARIANT_STEPS, QUICK_VARIANT_STEPS = 3e-4, 5000, 1000
VARIANT_N_VAL, VARIANT_N_TEST = 2000, 10000
RUN_SEED = 0

# init scheme -> label; kaiming reads the ReLU gain sqrt(2) on every layer (trainlab.nn.init)
SCHEMES: dict[str, str] = {
    "xavier_normal": "Glorot/Xavier normal",
    "xavier_uniform": "Glorot/Xavier uniform",
    "kaiming_normal": "He normal",
    "kaiming_uniform": "He uniform",
    "torch_default": "PyTorch default U(+-1/sqrt(fan_in))",
}
# the paired comparisons the summary reports: (a, b) -> a - b over seeds
SCHEME_PAIRS: tuple[tuple[str, str], ...] = (
    ("kaiming_normal", "xavier_normal"), ("kaiming_uniform", "xavier_uniform"),
    ("xavier_normal", "xavier_uniform"), ("xavier_normal", f"sigma={SIGMA_REF:g}"),
)
# breakers that are per-member values of the lab population: name -> (values, what it breaks)
BREAKERS: dict[str, tuple[dict[str, Any], str]] = {
    "zero init": ({"model.init.scheme": "zeros"}, "all weights 0: every hidden unit outputs 0, so no gradient reaches any weight and only the output "
                  "biases can learn"),
    "constant init 0.5": ({"model.init.scheme": "constant", "model.init.value": 0.5},
                          "all weights equal: the units of a layer get equal gradients and stay identical (symmetry is never "
                  "broken), and the seed cannot matter"),
    "lr 10 (100x too high)": ({"model.init.std": SIGMA_REF, "optim.lr": 10.0}, "steps far too large"),
    "lr 0.001 (100x too low)": ({"model.init.std": SIGMA_REF, "optim.lr": 1e-3}, "steps far too small for 1000 steps"),
}
DEAD_RELU = f"biases {DEAD_BIAS:g} (dead ReLUs)"
VARIANT_INITS = ("torch_default", "xavier_normal", "xavier_uniform", "kaiming_normal", "kaiming_uniform")
# the student report (seed 004, section II): best test accuracy over its inits, one run each
REPORT_VALUES = {"raw": 0.842, "standardized": 0.994, "standardized x0.01": 0.598}


def sigma_grid(quick: bool = False) -> list[float]:
    """Quick: the six exact sigmas. Default: a log grid 1e-3..1e1 where the exact ones replace their
    nearest grid points, rounded to 3 significant digits."""
    if quick:
        return list(EXACT_SIGMAS)
    n = 4 * POINTS_PER_DECADE + 1
    grid = [float(f"{v:.3g}") for v in np.geomspace(1e-3, 1e1, n)]
    for exact in EXACT_SIGMAS:
        nearest = min(range(n), key=lambda i: abs(np.log(grid[i] / exact)))
        grid[nearest] = exact
    return sorted(set(grid))


@dataclass(frozen=True)
class Settings:
    """Sizes of one study run (quick or default)."""

    quick: bool
    seeds: int
    sigmas: tuple[float, ...]
    scales: tuple[float, ...]
    variant_steps: int

    @property
    def variant_eval_every(self) -> int:
        return 1000 if self.variant_steps > 1000 else max(self.variant_steps // 2, 1)


def resolve_settings(quick: bool, seeds: Optional[int]) -> Settings:
    n = seeds if seeds is not None else (QUICK_SEEDS if quick else SEEDS)
    if n < 1:
        raise ValueError(f"seeds must be >= 1, got {n}")
    return Settings(quick, int(n), tuple(sigma_grid(quick)), QUICK_DATA_SCALES if quick else DATA_SCALES,
                    QUICK_VARIANT_STEPS if quick else VARIANT_STEPS)


@dataclass
class Group:
    """Members that differ only by seed: one sigma, one scheme, one transform or one breaker."""

    kind: str  # "sigma", "scheme", "scaling", "breaker", "variant"
    name: str
    population: str
    members: list[int] = field(default_factory=list)  # indices into the population, in seed order
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class PopulationPlan:
    """One population: its config (data, optimizer, structure), members and groups."""

    name: str
    cfg: Config
    members: list[Member]
    groups: list[Group]
    held_out: str = "val"  # "val": final metrics on all val points; "test": also a test set (variant)


def _config(data: dict, optim: dict, steps: int, eval_every: int, seeds: int, bias: float = 0.0,
            grid: Optional[dict] = None) -> Config:
    bias_init = {"scheme": "constant", "value": bias} if bias else {"scheme": "zeros"}
    return build_config({
        "data": {"name": "circles", "n_train": N_TRAIN, "n_val": N_VAL} | data,
        "model": {"hidden": [6, 3], "activation": "relu", "init": {"scheme": "normal", "std": SIGMA_REF},
                  "bias_init": bias_init},
        "optim": optim, "train": {"steps": steps, "eval_every": eval_every, "loss": "cross_entropy"},
        "population": {"seeds": seeds, "grid": grid or {}}, "run": {"name": "shallow", "seed": RUN_SEED},
    })


class _Builder:
    """Appends groups of S members (seeds 0..S-1) to a population."""

    def __init__(self, name: str, seeds: int, members: Optional[list[Member]] = None):
        self.name, self.seeds = name, seeds
        self.members: list[Member] = list(members or [])
        self.groups: list[Group] = []

    def add(self, kind: str, name: str, values: dict[str, Any], **meta: Any) -> Group:
        g = Group(kind, name, self.name, meta=meta)
        for s in range(self.seeds):
            g.members.append(len(self.members))
            self.members.append(Member(len(self.members), s, dict(values)))
        self.groups.append(g)
        return g


def lab_population(st: Settings) -> PopulationPlan:
    sgd = {"name": "sgd", "lr": LAB_LR}
    cfg = _config({}, sgd, LAB_STEPS, EVAL_EVERY, st.seeds, grid={"model.init.std": list(st.sigmas)})
    sweep = expand_members(cfg)  # id = sigma_index * S + seed_index
    b = _Builder("lab", st.seeds, sweep)
    for i, sigma in enumerate(st.sigmas):
        b.groups.append(Group("sigma", f"sigma={sigma:g}", "lab", list(range(i * st.seeds, (i + 1) * st.seeds)),
                              {"sigma": sigma}))
    ref = next(g for g in b.groups if g.meta["sigma"] == SIGMA_REF)
    b.groups.append(Group("scaling", "scale x1", "lab", list(ref.members), {"factor": 1.0, "same_as": ref.name}))
    for scheme, label in SCHEMES.items():
        b.add("scheme", scheme, {"model.init.scheme": scheme}, label=label)
    for f in st.scales:
        b.add("scaling", f"scale x{f:g}", {"model.init.std": SIGMA_REF, "data.scale": f}, factor=f)
    b.add("scaling", "centred at (10, 10), raw", {"model.init.std": SIGMA_REF, "data.offset": CENTER[0]},
          factor=1.0, offset=CENTER[0])
    for name, (values, why) in BREAKERS.items():
        b.add("breaker", name, values, why=why)
    return PopulationPlan("lab", cfg, b.members, b.groups)


def standardized_population(st: Settings) -> PopulationPlan:
    cfg = _config({"params": {"center": list(CENTER)}, "transforms": [{"name": "standardize"}]},
                  {"name": "sgd", "lr": LAB_LR}, LAB_STEPS, EVAL_EVERY, st.seeds)
    b = _Builder("standardized", st.seeds)
    b.add("scaling", "centred at (10, 10), standardized", {"model.init.std": SIGMA_REF}, factor=1.0)
    return PopulationPlan("standardized", cfg, b.members, b.groups)


def dead_relu_population(st: Settings) -> PopulationPlan:
    cfg = _config({}, {"name": "sgd", "lr": LAB_LR}, LAB_STEPS, EVAL_EVERY, st.seeds, bias=DEAD_BIAS)
    b = _Builder("dead_relu", st.seeds)
    b.add("breaker", DEAD_RELU, {"model.init.std": SIGMA_REF},
          why=f"every bias starts at {DEAD_BIAS:g}: a ReLU whose weighted input never exceeds {-DEAD_BIAS:g} outputs 0 "
              "on every point and gets no gradient")
    return PopulationPlan("dead_relu", cfg, b.members, b.groups)


def variant_populations(st: Settings) -> list[PopulationPlan]:
    """The report's set-up: AdamW 3e-4, full batch, each init x seed, a 2,000-point val set to choose
    the best init per seed, and a 10,000-point test set to report it on."""
    adamw = {"name": "adamw", "lr": VARIANT_LR}
    data = {"params": {"center": list(CENTER)}, "n_val": VARIANT_N_VAL, "n_test": VARIANT_N_TEST}
    cases = (("report_raw", [], (("raw", 1.0),)),
             ("report_std", [{"name": "standardize"}], (("standardized", 1.0), ("standardized x0.01", 0.01))))
    plans = []
    for pop, transforms, variants in cases:
        cfg = _config(data | {"transforms": transforms}, adamw, st.variant_steps, st.variant_eval_every, st.seeds)
        b = _Builder(pop, st.seeds)
        for case, scale in variants:
            for init in VARIANT_INITS:
                b.add("variant", f"{case} / {init}", {"model.init.scheme": init, "data.scale": scale},
                      case=case, init=init)
        plans.append(PopulationPlan(pop, cfg, b.members, b.groups, held_out="test"))
    return plans


def plan(st: Settings) -> list[PopulationPlan]:
    """Every population of the study, largest first."""
    return [lab_population(st), standardized_population(st), dead_relu_population(st), *variant_populations(st)]


def layer_stds(scheme: str, sizes: tuple[int, ...] = (2, 6, 3, 2)) -> list[float]:
    """The weight std each named scheme gives each layer of the 2-6-3-2 net (what sigma it amounts to)."""
    relu_gain = 2.0 ** 0.5
    rows = {
        "xavier_normal": lambda i, o: (2.0 / (i + o)) ** 0.5,
        "xavier_uniform": lambda i, o: (2.0 / (i + o)) ** 0.5,  # bound sqrt(6/(i+o)), std = bound/sqrt(3)
        "kaiming_normal": lambda i, o: relu_gain / i ** 0.5,
        "kaiming_uniform": lambda i, o: relu_gain / i ** 0.5,
        "torch_default": lambda i, o: 1.0 / (3.0 * i) ** 0.5,  # U(+-1/sqrt(i)): std = 1/sqrt(3 i)
    }
    return [float(rows[scheme](i, o)) for i, o in zip(sizes[:-1], sizes[1:])]
