"""Sweeps at scale: many configurations, trained as populations, resumable, on one machine or on Ray.

``trainlab sweep CONFIG --grid optim.lr=logspace(-3,0,7) --seeds 8 --out DIR`` expands the
configurations (``space``), checks them (``spec``), groups them by structure and splits them into
memory-bounded chunks (``plan``), trains the chunks on a backend (``backends``: local or Ray;
``chunks.train_chunk``), commits each finished chunk atomically (``folder``), and writes the tables
(``results``: ``members.csv``, ``configs.csv``, Parquet copies) and ``summary.json`` (``run``).
Staged and coarse-to-fine searches run stage after stage, each stage's winner fixed for the next;
``optuna_search`` asks Optuna for trials in population batches.

See docs/sweep.md.
"""
from trainlab.sweep.plan import ChunkTask, Stage, plan_stage
from trainlab.sweep.run import run_sweep
from trainlab.sweep.spec import SweepSpec, build_spec

__all__ = ["ChunkTask", "Stage", "SweepSpec", "build_spec", "plan_stage", "run_sweep"]
