"""Settings of the learning-rate schedules study (seed 002): one network, one data set, six schedules.

Every schedule is a row of ``trainlab.schedules.SCHEDULES`` (a plain function step -> factor of the
lr); ``schedule_params`` sets each one's shape from the run length, so that the decaying schedules
end low: step decay by 10x at each third, exponential to 1% of the lr, 1/t to 10%, sqrt(1 - t/T)
and cosine to 0. The constant lr is the baseline every other schedule is paired with.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainlab.errors import UsageError
from trainlab.experiments.settings import StudySettings
from trainlab.schedules import SCHEDULES

LABELS = {"constant": "constant", "step": "step (x0.1 every third)", "exponential": "exponential (to 1%)",
          "inv_time": "1/t (to 10%)", "sqrt_decay": "sqrt(1 - t/T)", "cosine": "cosine (to 0)"}


@dataclass(frozen=True)
class SchedulesSettings(StudySettings):
    """What one run of the schedules study trains."""

    STUDY = "schedules"

    seeds: int = 8  # paired seeds: member j of every schedule starts from the same weights and batches
    schedules: tuple[str, ...] = ("constant", "step", "exponential", "inv_time", "sqrt_decay", "cosine")  # seed 002's list
    steps: int = 1000  # 64 epochs of 500 points in batches of 32
    lr: float = 0.3  # high enough that a constant lr sits on mini-batch noise (decay then has something to remove)
    momentum: float = 0.9
    batch_size: int = 32
    hidden: tuple[int, ...] = (32, 32)  # a 2-32-32-2 ReLU net, He init
    n_train: int = 500
    n_val: int = 2000  # validation points, never used for any choice
    noise: float = 0.2  # two moons with seed 003's noise: some points overlap, so the loss has a floor
    eval_every: int = 20
    step_gamma: float = 0.1  # step decay: x0.1 at each third of the run
    exp_final: float = 0.01  # exponential: the factor at the last step
    inv_time_final: float = 0.1  # 1/t: the factor at the last step, 1 / (1 + decay * T)
    data_seed: int = 1
    run_seed: int = 0

    @classmethod
    def quick(cls) -> "SchedulesSettings":
        """3 seeds, 400 steps: the same comparison, noisier."""
        return cls(preset="quick", seeds=3, steps=400)

    def schedule_params(self, name: str) -> dict[str, Any]:
        """The parameters of schedule ``name`` for this run length (make_schedule's keywords)."""
        return {"step": {"step_size": max(-(-self.steps // 3), 1), "gamma": self.step_gamma},  # drops at 1/3, 2/3
                "exponential": {"gamma": self.exp_final},
                "inv_time": {"decay": (1.0 / self.inv_time_final - 1.0) / self.steps}}.get(name, {})

    def check(self) -> None:
        self.at_least(1, "seeds", "steps", "batch_size", "hidden", "n_train", "n_val", "eval_every")
        self.one_of("schedules", SCHEDULES)
        if "constant" not in self.schedules or len(self.schedules) < 2:
            raise UsageError(f"schedules study: schedules must hold 'constant' (the baseline) and at least one other, "
                             f"got {list(self.schedules)}")
        if len(set(self.schedules)) != len(self.schedules):
            raise UsageError(f"schedules study: each schedule once, got {list(self.schedules)}")
        if self.batch_size >= self.n_train:
            raise UsageError(f"schedules study: batch_size must be below n_train ({self.n_train}), got {self.batch_size}")
        if not (self.lr > 0 and 0 <= self.momentum < 1 and 0 < self.step_gamma < 1 and 0 < self.exp_final < 1
                and 0 < self.inv_time_final < 1 and self.noise >= 0):
            raise UsageError("schedules study: need lr > 0, 0 <= momentum < 1, and step_gamma, exp_final, "
                             "inv_time_final in (0, 1)")
