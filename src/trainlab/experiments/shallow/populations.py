"""What the shallow study trains: every population, its members and their groups.

All members that share a dataset and an optimizer train in ONE population; they differ only by
per-member values (``model.init.std``, ``model.init.scheme``, ``data.scale``, ``data.offset``,
``optim.lr``). Every group uses member seeds 0..S-1, so seed s of one group and seed s of another
share their random streams: comparisons between groups are paired over seeds.

Populations (``plan()`` builds them, in this order):

- ``lab``: the lab's circles at the origin, SGD full batch. The sigma sweep (grid over
  ``model.init.std`` x seeds), the named init schemes, data scaling via ``data.scale``, the
  circles moved to (10, 10) via ``data.offset`` (exactly ``circles(center=(10, 10))``) and the
  breakers that are per-member values (zero and constant init, lr far too high / low);
- ``standardized``: circles centred at (10, 10), standardized on train (a different dataset);
- ``dead_relu``: every bias starts at ``DEAD_BIAS`` (bias init is structure, not per member);
- ``report_raw`` / ``report_std``: the student report's set-up (AdamW 3e-4, several inits, a test
  set) on (10, 10) circles raw, standardized, and standardized then scaled by 0.01.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from trainlab.config import Config, build_config
from trainlab.experiments.shallow.settings import SIGMA_REF, ShallowSettings
from trainlab.members import Member, expand_members

HIDDEN = (6, 3)  # the lab's 2-6-3-2 net: two hidden ReLU layers
ACTIVATION = "relu"
CENTER = (10.0, 10.0)  # the student report's circles
DEAD_BIAS = -1.0  # every bias starts here: most ReLUs are off on every input
VARIANT_N_VAL, VARIANT_N_TEST = 2000, 10000

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


@dataclass
class SeedGroup:
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
    groups: list[SeedGroup]
    held_out: str = "val"  # "val": final metrics on all val points; "test": also a test set (variant)


def _config(st: ShallowSettings, data: dict, optim: dict, steps: int, eval_every: int, bias: float = 0.0,
            grid: Optional[dict] = None) -> Config:
    bias_init = {"scheme": "constant", "value": bias} if bias else {"scheme": "zeros"}
    return build_config({
        "data": {"name": "circles", "n_train": st.n_train, "n_val": st.n_val} | data,
        "model": {"hidden": list(HIDDEN), "activation": ACTIVATION, "init": {"scheme": "normal", "std": SIGMA_REF},
                  "bias_init": bias_init},
        "optim": optim, "train": {"steps": steps, "eval_every": eval_every, "loss": "cross_entropy"},
        "population": {"seeds": st.seeds, "grid": grid or {}}, "run": {"name": "shallow", "seed": st.run_seed},
    })


class _Builder:
    """Appends groups of S members (seeds 0..S-1) to a population."""

    def __init__(self, name: str, seeds: int, members: Optional[list[Member]] = None):
        self.name, self.seeds = name, seeds
        self.members: list[Member] = list(members or [])
        self.groups: list[SeedGroup] = []

    def add(self, kind: str, name: str, values: dict[str, Any], **meta: Any) -> SeedGroup:
        g = SeedGroup(kind, name, self.name, meta=meta)
        for s in range(self.seeds):
            g.members.append(len(self.members))
            self.members.append(Member(len(self.members), s, dict(values)))
        self.groups.append(g)
        return g


def lab_population(st: ShallowSettings) -> PopulationPlan:
    sgd = {"name": "sgd", "lr": st.lr}
    cfg = _config(st, {}, sgd, st.steps, st.eval_every, grid={"model.init.std": list(st.sigmas)})
    sweep = expand_members(cfg)  # id = sigma_index * S + seed_index
    b = _Builder("lab", st.seeds, sweep)
    for i, sigma in enumerate(st.sigmas):
        b.groups.append(SeedGroup("sigma", f"sigma={sigma:g}", "lab", list(range(i * st.seeds, (i + 1) * st.seeds)),
                              {"sigma": sigma}))
    ref = next(g for g in b.groups if g.meta["sigma"] == SIGMA_REF)
    b.groups.append(SeedGroup("scaling", "scale x1", "lab", list(ref.members), {"factor": 1.0, "same_as": ref.name}))
    for scheme, label in SCHEMES.items():
        b.add("scheme", scheme, {"model.init.scheme": scheme}, label=label)
    for f in st.scales:
        b.add("scaling", f"scale x{f:g}", {"model.init.std": SIGMA_REF, "data.scale": f}, factor=f)
    b.add("scaling", "centred at (10, 10), raw", {"model.init.std": SIGMA_REF, "data.offset": CENTER[0]},
          factor=1.0, offset=CENTER[0])
    for name, (values, why) in BREAKERS.items():
        b.add("breaker", name, values, why=why)
    return PopulationPlan("lab", cfg, b.members, b.groups)


def standardized_population(st: ShallowSettings) -> PopulationPlan:
    cfg = _config(st, {"params": {"center": list(CENTER)}, "transforms": [{"name": "standardize"}]},
                  {"name": "sgd", "lr": st.lr}, st.steps, st.eval_every)
    b = _Builder("standardized", st.seeds)
    b.add("scaling", "centred at (10, 10), standardized", {"model.init.std": SIGMA_REF}, factor=1.0)
    return PopulationPlan("standardized", cfg, b.members, b.groups)


def dead_relu_population(st: ShallowSettings) -> PopulationPlan:
    cfg = _config(st, {}, {"name": "sgd", "lr": st.lr}, st.steps, st.eval_every, bias=DEAD_BIAS)
    b = _Builder("dead_relu", st.seeds)
    b.add("breaker", DEAD_RELU, {"model.init.std": SIGMA_REF},
          why=f"every bias starts at {DEAD_BIAS:g}: a ReLU whose weighted input never exceeds {-DEAD_BIAS:g} outputs 0 "
              "on every point and gets no gradient")
    return PopulationPlan("dead_relu", cfg, b.members, b.groups)


def variant_populations(st: ShallowSettings) -> list[PopulationPlan]:
    """The report's set-up: AdamW 3e-4, full batch, each init x seed, a 2,000-point val set to choose
    the best init per seed, and a 10,000-point test set to report it on."""
    adamw = {"name": "adamw", "lr": st.variant_lr}
    data = {"params": {"center": list(CENTER)}, "n_val": VARIANT_N_VAL, "n_test": VARIANT_N_TEST}
    cases = (("report_raw", [], (("raw", 1.0),)),
             ("report_std", [{"name": "standardize"}], (("standardized", 1.0), ("standardized x0.01", 0.01))))
    plans = []
    for pop, transforms, variants in cases:
        cfg = _config(st, data | {"transforms": transforms}, adamw, st.variant_steps, st.variant_eval_every)
        b = _Builder(pop, st.seeds)
        for case, scale in variants:
            for init in VARIANT_INITS:
                b.add("variant", f"{case} / {init}", {"model.init.scheme": init, "data.scale": scale},
                      case=case, init=init)
        plans.append(PopulationPlan(pop, cfg, b.members, b.groups, held_out="test"))
    return plans


def plan(st: ShallowSettings) -> list[PopulationPlan]:
    """Every population of the study, largest first."""
    return [lab_population(st), standardized_population(st), dead_relu_population(st), *variant_populations(st)]


def layer_stds(scheme: str, sizes: tuple[int, ...] = (2, *HIDDEN, 2)) -> list[float]:
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
