"""Live augmentation (trainlab.data.augment, loop.fit's augment hook) and the augmentation study: shifted
images are their originals moved by at most 2 pixels with their labels kept, a quick run against its
schema, and every verdict rule's sentence flipping with fake summaries."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.data.augment import RandomShift, shift_images, shift_offsets
from trainlab.experiments.augmentation import STUDY, text
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.study import run_study
from trainlab.loop import TrainSpec, fit
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer
from trainlab.report.folder import RunData
from trainlab.rng import member_keys
from trainlab.runs.schema import validate_summary

FILL = -0.42  # a blank pixel's value after normalization


def _moved(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The reference: img (28, 28) moved by (dy, dx), uncovered pixels FILL."""
    out = np.full_like(img, FILL)
    h, w = img.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = img[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def _match(orig: np.ndarray, aug: np.ndarray, bound: int) -> list[tuple[int, int]]:
    """Every (dy, dx) within the bound that turns orig into aug exactly."""
    return [(dy, dx) for dy in range(-bound, bound + 1) for dx in range(-bound, bound + 1)
            if np.array_equal(_moved(orig, dy, dx), aug)]


def test_each_augmented_image_is_its_original_shifted_by_at_most_2_pixels_and_keeps_its_label():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 40, 784, generator=g)  # (K, B, D): random pixels, so only the true shift matches
    y = torch.randint(0, 10, (3, 40), generator=g)
    keys = member_keys(0, [0, 1, 2], "augment")
    aug, labels = RandomShift((28, 28), 2, FILL)(x, y, 7, keys)
    assert torch.equal(labels, y) and aug.shape == x.shape
    offsets = shift_offsets(keys, 7, 40, 2)
    seen = set()
    for k in range(3):
        for b in range(40):
            found = _match(x[k, b].view(28, 28).numpy(), aug[k, b].view(28, 28).numpy(), 2)
            assert found == [tuple(offsets[k, b].tolist())], (k, b, found)
            seen.add(found[0])
    assert len(seen) == 25  # every offset of -2..2 x -2..2 occurs: uniform, not a fixed few


def test_a_bound_of_zero_leaves_a_member_untouched_and_shifts_change_with_the_step():
    x = torch.rand(2, 16, 784)
    y = torch.zeros(2, 16, dtype=torch.int64)
    keys = member_keys(0, [0, 1], "augment")
    shift = RandomShift((28, 28), torch.tensor([0, 2]), FILL)
    a, _ = shift(x, y, 0, keys)
    assert torch.equal(a[0], x[0]) and not torch.equal(a[1], x[1])
    b, _ = shift(x, y, 1, keys)
    assert not torch.equal(a[1], b[1])  # live: fresh offsets at every step
    alone = shift_offsets(member_keys(0, [1], "augment"), 0, 16, 2)
    assert torch.equal(alone[0], shift_offsets(keys, 0, 16, 2)[1])  # a member draws the same shifts alone


def test_fit_trains_on_each_members_own_shifted_batch():
    seen = []

    def recording(xb, yb, step, keys):
        out = RandomShift((28, 28), 2, FILL)(xb, yb, step, keys)
        seen.append((xb.clone(), out[0].clone(), out[1].clone(), step))
        return out

    model = PopulationMLP.create([784, 8, 10], "relu", [MemberInit(s, "kaiming_normal", 1.0) for s in (0, 1)])
    opt = PopulationOptimizer("sgd", model.parameters(), {"lr": torch.tensor([0.01, 0.01])})
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    fit(model, opt, (x, y), None, TrainSpec(steps=3, batch_size=16, eval_every=3, augment=recording))
    assert [s[3] for s in seen] == [0, 1, 2]
    for before, after, labels, _ in seen:
        assert before.shape == (2, 16, 784) and not torch.equal(before, after)
        for k in range(2):
            for b in range(16):
                assert _match(before[k, b].view(28, 28).numpy(), after[k, b].view(28, 28).numpy(), 2)
                assert labels[k, b] == y[(x == before[k, b]).all(dim=1)][0]  # the label of that very image


def test_shift_images_matches_the_reference_at_every_offset():
    img = torch.rand(1, 784)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            out = shift_images(img, torch.tensor([[dy, dx]]), (28, 28), FILL)
            assert np.array_equal(out.view(28, 28).numpy(), _moved(img.view(28, 28).numpy(), dy, dx))


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> RunData:
    folder = tmp_path_factory.mktemp("augmentation") / "run"
    threads = torch.get_num_threads()
    try:
        summary = run_study(STUDY, folder, StudyOptions(quick=True, quiet=True, threads=1))
    finally:
        torch.set_num_threads(threads)
    return RunData(folder, summary)


def test_quick_run_writes_a_schema_valid_summary_and_its_figures(quick):
    s = json.loads((quick.folder / "summary.json").read_text())
    validate_summary(s, "augmentation.schema.json")
    files = {f["file"] for f in s["figures"]}
    assert {"curves.png", "errors.png", "examples.png", "norms_1.png"} <= files
    assert all((quick.folder / f).stat().st_size > 5000 for f in files)
    assert 3 <= len(s["key_findings"]) <= 5
    m, groups = np.load(quick.folder / "metrics.npz"), json.loads((quick.folder / "groups.json").read_text())
    seeds = s["task"]["seeds"]
    for key in ("grad_norm", "weight_norm", "bias_norm", "update_ratio"):  # (evaluations, members, layers)
        assert m[key].shape == (len(m["steps"]), 2 * seeds, len(s["task"]["sizes"]) - 1), key
    assert sorted(i for v in groups.values() for i in v) == list(range(2 * seeds))
    assert text.key_findings(RunData.load(quick.folder)) == s["key_findings"]
    e = np.load(quick.folder / "examples.npz")
    for orig, moved, off in zip(e["original"], e["shifted"], e["offsets"]):
        fill = s["task"]["fill"]
        ref = np.full((28, 28), fill, dtype=orig.dtype)
        dy, dx = int(off[0]), int(off[1])
        o = orig.reshape(28, 28)
        ref[max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = o[max(-dy, 0):28 - max(dy, 0), max(-dx, 0):28 - max(dx, 0)]
        assert np.array_equal(ref, moved.reshape(28, 28)) and max(abs(dy), abs(dx)) <= 2


def test_the_fallback_is_said_first_when_it_happened(quick):
    s = copy.deepcopy(quick.summary)
    for flag, word in ((True, "fell back to mnist-5k"), (False, "data: ")):
        s["fallback"] = flag
        assert word in text.key_findings(RunData(Path("/x"), s))[0]
        assert ("[mnist-5k fallback]" in text.headline(s)) == flag


@pytest.mark.parametrize("cid", ["lowers_val_error", "narrows_gap"])
@pytest.mark.parametrize("lo,hi,expected", [(-0.02, -0.01, "confirmed"), (0.01, 0.02, "refuted"),
                                            (-0.01, 0.01, "inconclusive")])
def test_each_verdict_rule_flips_the_sentence(quick, cid, lo, hi, expected):
    s = copy.deepcopy(quick.summary)
    claim = next(c for c in s["claims"] if c["id"] == cid)
    claim["difference"] = {"median": (lo + hi) / 2, "lo": lo, "hi": hi, "n": 8}
    run = RunData(Path("/x"), s)
    start = f"\"{claim['claim']}\": {expected} ("
    assert any(line.startswith(start) for line in text.key_findings(run))
    assert [r[3] for r in text.tables(run)[-1]["rows"] if r[0] == claim["claim"]] == [expected]
