"""Train one population per schedule on the same data, with paired seeds (``experiments.paired``).

Member j of every schedule starts from the same He-initialized weights and draws the same
mini-batches (member seed j); only the lr's shape over the run differs. Every evaluation measures
train and validation loss and accuracy and the per-layer norms. The histories, side by side
(members = schedules x seeds), go to ``metrics.npz`` with ``groups.json``; each schedule's factor
at every step to ``schedules.npz``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from trainlab.data.toy import make_toy
from trainlab.experiments.paired import Arm, Trained, save_npz, stack, train_arm
from trainlab.experiments.schedules.settings import LABELS, SchedulesSettings
from trainlab.experiments.schedules.summary import results
from trainlab.experiments.study import StudyRun
from trainlab.loop import TrainSpec
from trainlab.nn.population import MemberInit
from trainlab.runs.io import write_json_atomic
from trainlab.schedules import make_schedule


def arms(st: SchedulesSettings, n_classes: int) -> list[Arm]:
    inits = [MemberInit(s, "kaiming_normal", 1.0) for s in range(st.seeds)]
    spec = TrainSpec(steps=st.steps, batch_size=st.batch_size, eval_every=st.eval_every)
    return [Arm(name, [2, *st.hidden, n_classes], list(inits), "momentum", {"lr": [st.lr], "momentum": [st.momentum]},
                spec, schedule=make_schedule(name, st.steps, **st.schedule_params(name)))
            for name in st.schedules]


def run(st: SchedulesSettings, sr: StudyRun) -> dict[str, Any]:
    with sr.timed("data"):
        data = make_toy("moons", st.n_train, st.n_val, 0, st.data_seed, noise=st.noise)
    trained: list[Trained] = []
    with sr.timed("train"):
        advance = sr.task(f"schedules: {len(st.schedules)} x {st.steps} steps x {st.seeds} seeds",
                          len(st.schedules) * st.steps)
        for arm in arms(st, data.n_classes):
            trained.append(train_arm(arm, data, sr.device, st.run_seed, progress=advance))
    with sr.timed("store"):
        arrays, groups = stack(trained)
        save_npz(sr.folder / "metrics.npz", arrays)
        write_json_atomic(sr.folder / "groups.json", {LABELS[k]: v for k, v in groups.items()})
        t = np.arange(st.steps)  # update i uses the factor at i
        save_npz(sr.folder / "schedules.npz", {"steps": t, **{name: np.array([a.schedule(int(i)) for i in t])
                                                            for name, a in zip(st.schedules, (x.arm for x in trained))}})
    return results(st, trained, data)
