"""`trainlab lab shallow`: seed 000 Part 1, initialization of a shallow network, with seeds.

The lab's set-up: circles (radii 1 and 2, noise 0.15), 100 training and 10,000 validation points;
a 2-6-3-2 ReLU net with weights N(0, sigma^2) (sigma is the standard deviation) and zero biases;
SGD at lr 0.1 on the full batch, cross-entropy, 1000 steps. The study

- sweeps sigma over a log grid (every sigma x seed is a member of ONE population), checks the loss at
  init against ln 2, labels each seed with a measured regime (``regimes``) and each sigma with the
  majority, and picks the lab's small / good / large sigma automatically;
- trains Glorot (normal, uniform), He (normal, uniform) and PyTorch's default next to the sweep;
- scales the data instead of the init, moves the circles to (10, 10) raw and standardized, and runs
  the student report's own set-up (AdamW 3e-4, best of several inits, test set) to compare;
- breaks training on purpose (zero / constant init, lr far too high / low, dead ReLUs).

Modules: ``settings`` (seeds, grids, budgets), ``populations`` (what trains), ``train`` (training,
measuring, the stored data), ``regimes`` (the rules), ``summary`` (numbers), ``text`` (words),
``figures`` (declarations).
"""
from __future__ import annotations

from trainlab.experiments.registry import Study, register
from trainlab.experiments.shallow import figures, text
from trainlab.experiments.shallow.settings import ShallowSettings
from trainlab.experiments.shallow.train import run

SCHEMA_VERSION = 2  # 2: the shared fields of finish() (settings, key_findings, key_figures, title, timing), network

# These nets are tiny (widths 2-6): one thread avoids thread hand-off costs that, on a busy 2-core
# machine, made a training step about 20x slower with 2 threads (K=688: 5 ms vs 90-110 ms per step;
# benchmarks/README.md, "shallow study"). --threads N overrides it.
DEFAULT_THREADS = 1

STUDY = register(Study(
    name="shallow", title="Part 1: Initialization of a shallow network", settings=ShallowSettings, run=run,
    headline=text.headline, observations=text.observations, tables=text.tables, key_findings=text.key_findings,
    figures=figures.FIGURES, key_figures=figures.KEY_FIGURES, schema="shallow.schema.json",
    schema_version=SCHEMA_VERSION, threads=DEFAULT_THREADS, order=10))
