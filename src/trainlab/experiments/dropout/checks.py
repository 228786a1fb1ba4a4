"""Checking the lab's own set-up: loss at init per init reading, and trainlab.watch on it.

A C-class classifier that knows nothing should predict about 1/C for every class, so its loss at
init is about ln C (ln 10 = 2.30 for MNIST). The lab's weights N(0, 0.1), with 0.1 as the std,
give logits with a std of roughly 10 on standardized 784-pixel inputs, so the untrained net is
confidently wrong and its loss at init is about ten times ln 10. Reading 0.1 as a variance (std
0.316) is worse. He init keeps the activation scale through the layers. These numbers cost one
forward pass, so every reading in ``init_readings`` is measured, trained or not.

The watch diagnostic exports one member per trained init as a plain ``nn.Sequential``, trains it
for a few steps with ``torch.optim.AdamW`` under ``trainlab.watch`` and keeps its findings: the same
diagnostics a user gets on their own model.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trainlab.config import Config
from trainlab.members import Member
from trainlab.runner import build_population
from trainlab.stats import summarize

from trainlab.experiments.dropout.ensemble import MemberWeights, mc_logits
from trainlab.experiments.dropout.settings import INIT_CHOICES, VARIANTS, DropoutSettings


def init_values(init_key: str, p_input: float = 0.0, p_hidden: float = 0.0) -> dict[str, Any]:
    """The per-member config values of an init choice and dropout rates."""
    choice = INIT_CHOICES[init_key]
    values: dict[str, Any] = {"model.init.scheme": choice.scheme}
    if choice.std is not None:
        values["model.init.std"] = choice.std
    return values | {"model.dropout.input": p_input, "model.dropout.hidden": p_hidden}


@torch.no_grad()
def loss_at_init(cfg: Config, settings: DropoutSettings, dataset, device: torch.device) -> list[dict[str, Any]]:
    """Per init reading: loss at init on the training set and the logit std, over the seeds."""
    rows = []
    x, y = dataset.train.x.to(device), dataset.train.y.to(device)
    ln_c = math.log(dataset.n_classes)
    for key in settings.init_readings:
        members = [Member(s, s, init_values(key)) for s in range(settings.seeds)]
        model = build_population(cfg, members, dataset.input_dim, dataset.n_classes).to(device)
        losses, stds = [], []
        for k in range(model.K):  # one member at a time bounds memory at (N, 800)
            logits = model.select([k])(x)[0]
            losses.append(float(F.cross_entropy(logits, y)))
            stds.append(float(logits.std()))
        loss = summarize(losses)
        rows.append({"init": key, **INIT_CHOICES[key].to_json(), "loss_at_init": loss, "logit_std": summarize(stds),
                     "ratio_to_ln_c": None if loss["median"] is None else loss["median"] / ln_c})
    return rows


@torch.no_grad()
def loss_at_init_dropout_on(cfg: Config, members: list[Member], dataset, device: torch.device,
                            n_rows: int = 1000) -> np.ndarray:
    """Per member: the loss at init of one pass with dropout on, as the first training step sees it.

    Dropout in train mode rescales the kept units by 1/(1-p), which widens the logits further, so
    the dropout variants start further from ln C than eval mode shows. One MC pass on the first
    ``n_rows`` training samples; its masks are not those of training step 1, only alike in law.
    """
    x, y = dataset.train.x[:n_rows].to(device), dataset.train.y[:n_rows].to(device)
    model = build_population(cfg, members, dataset.input_dim, dataset.n_classes).to(device)
    out = []
    for k in range(model.K):
        logits = next(mc_logits(MemberWeights.of(model, k), x, 1))[0]
        out.append(float(F.cross_entropy(logits, y)))
    return np.asarray(out, dtype=np.float64)


def watch_findings(cfg: Config, settings: DropoutSettings, dataset, device: torch.device) -> dict[str, Any]:
    """trainlab.watch on one exported member per trained init: {init: [finding dicts]}."""
    if settings.watch_steps == 0:
        return {"skipped": "watch_steps = 0"}
    try:
        from trainlab.diagnose.watch import watch
    except ImportError as e:  # the diagnostics module is optional for this study
        return {"skipped": f"trainlab.watch unavailable: {e}"}
    variant = VARIANTS["in20-hid50"] if "in20-hid50" in settings.variants else VARIANTS[settings.variants[0]]
    x, y = dataset.train.x.to(device), dataset.train.y.to(device)
    out: dict[str, Any] = {"variant": variant.name, "steps": settings.watch_steps, "by_init": {}}
    for key in settings.inits:
        member = Member(0, 0, init_values(key, variant.p_input, variant.p_hidden))
        net = build_population(cfg, [member], dataset.input_dim, dataset.n_classes).to(device).member(0)
        opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        gen = torch.Generator().manual_seed(settings.run_seed)
        with torch.random.fork_rng(devices=[]):  # nn.Dropout draws from the global stream
            torch.manual_seed(settings.run_seed)
            w = watch(net, opt, n_classes=dataset.n_classes)
            try:
                net.train()
                for _ in range(settings.watch_steps):
                    idx = torch.randint(0, x.shape[0], (settings.batch_size,), generator=gen).to(device)
                    opt.zero_grad()
                    loss = F.cross_entropy(net(x[idx]), y[idx])
                    loss.backward()
                    w.step(loss)
                    opt.step()
                found = w.findings
            finally:
                w.close()
        out["by_init"][key] = [{"code": f.code, "severity": f.severity, "layer": f.layer, "message": f.message,
                                "fix": f.fix} for f in found]
    return out
