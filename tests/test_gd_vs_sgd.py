"""`trainlab lab gd-vs-sgd` (seed 003): the seed's set-up, a quick run against the schema, and every
verdict rule flipping its sentence on fake intervals."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from claim_cases import CASES, faked
from trainlab.experiments.gd_vs_sgd import STUDY, text
from trainlab.experiments.gd_vs_sgd.settings import GdVsSgdSettings
from trainlab.experiments.gd_vs_sgd.train import moons
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.study import run_study
from trainlab.norms import NORM_KEYS
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("gd") / "study"
    summary = run_study(STUDY, out, StudyOptions(quick=True, quiet=True, threads=1))
    return out, summary


def test_defaults_are_the_seeds_set_up():
    st = GdVsSgdSettings()
    assert (st.n_train, st.n_test, st.hidden, st.lr, st.momentum, st.epochs, st.batch_size, st.noise) == \
        (800, 200, 16, 0.1, 0.9, 100, 32, 0.2)
    assert st.steps_per_epoch == 25 and st.scaled_lr == pytest.approx(2.5) and st.seeds == 8
    data = moons(st)
    assert np.allclose(data.train.x.mean(0).numpy(), 0, atol=1e-5) and np.allclose(data.train.x.std(0, unbiased=False).numpy(), 1, atol=1e-4)
    assert abs(float(data.val.x.mean())) > 1e-4  # the test part is standardized with the training part's statistics


def test_quick_run_validates_and_writes_its_figures(study):
    out, summary = study
    validate_summary(summary, "gd-vs-sgd.schema.json")
    validate_summary(json.loads((out / "summary.json").read_text()), "gd-vs-sgd.schema.json")
    assert [a["updates"] for a in summary["arms"]] == [40 * 25, 40, 40]
    for f in summary["figures"]:
        assert (out / f["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"per_epoch.png", "per_update.png", "norms_1.png"} <= {f["file"] for f in summary["figures"]}
    assert 3 <= len(summary["key_findings"]) <= 5 and set(summary["timing"]) >= {"train_sgd", "train_gd", "figures"}


def test_arms_start_paired_and_record_norms(study):
    out, _ = study
    groups = json.loads((out / "norm_groups.json").read_text())
    with np.load(out / "norms_by_epoch.npz") as z:
        w0 = z["weight_norm"][0]
        first = [w0[idx] for idx in groups.values()]
        assert all(np.array_equal(first[0], f) for f in first[1:])  # the same init in every arm
    with np.load(out / "metrics_sgd.npz") as z:
        assert all(z[k].shape[1:] == (3, 2) for k in NORM_KEYS)


@pytest.mark.parametrize("cid", ["per_epoch", "per_update", "scaled_lr", "sgd_vs_scaled", "test_above_train"])
@pytest.mark.parametrize("case", CASES)
def test_each_verdict_rule_flips_its_sentence(study, cid, case):
    out, summary = study
    fake = copy.deepcopy(summary)
    i = next(i for i, c in enumerate(fake["claims"]) if c["id"] == cid)
    fake["claims"][i] = faked(fake["claims"][i], case)
    run = RunData(out, fake)
    words = " ".join(text.key_findings(run))
    assert f"\"{fake['claims'][i]['claim']}\": {case} (" in words
    row = next(r for r in text.tables(run)[1]["rows"] if r[0] == fake["claims"][i]["claim"])
    assert row[-1] == case
