"""`trainlab lab schedules` (seed 002): a quick run against the schema, the schedules' shapes, and
every verdict rule flipping its sentence on fake intervals."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from claim_cases import CASES, faked
from trainlab.experiments.registry import StudyOptions
from trainlab.experiments.schedules import STUDY, text
from trainlab.experiments.study import run_study
from trainlab.report.folder import RunData
from trainlab.runs.schema import validate_summary


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("schedules") / "study"
    summary = run_study(STUDY, out, StudyOptions(quick=True, quiet=True, threads=1))
    return out, summary


def test_quick_run_validates_and_writes_its_figures(study):
    out, summary = study
    validate_summary(summary, "schedules.schema.json")
    validate_summary(json.loads((out / "summary.json").read_text()), "schedules.schema.json")
    assert [s["name"] for s in summary["schedules"]] == ["constant", "step", "exponential", "inv_time", "sqrt_decay",
                                                         "cosine"]
    assert len(summary["claims"]) == 10
    for f in summary["figures"]:
        assert (out / f["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "schedules.png" in {f["file"] for f in summary["figures"]}


def test_schedules_have_their_shapes(study):
    out, summary = study
    with np.load(out / "schedules.npz") as z:
        f = {k: z[k] for k in z.files}
    t = len(f["steps"])
    assert all(f[k][0] == pytest.approx(1.0) for k in summary["settings"]["schedules"])
    assert (f["constant"] == 1).all()
    assert f["step"][t // 3 - 1] == pytest.approx(1.0) and f["step"][-1] == pytest.approx(0.01)  # two drops
    assert f["exponential"][-1] == pytest.approx(0.01, rel=0.02) and f["inv_time"][-1] == pytest.approx(0.1, rel=0.01)
    assert f["sqrt_decay"][-1] < 0.06 and f["cosine"][-1] < 1e-3
    for k in ("exponential", "inv_time", "sqrt_decay", "cosine"):
        assert (np.diff(f[k]) <= 1e-7).all()


@pytest.mark.parametrize("kind", ["train", "val"])
@pytest.mark.parametrize("case", CASES)
def test_each_verdict_rule_flips_its_sentence(study, kind, case):
    out, summary = study
    fake = copy.deepcopy(summary)
    ids = [c["id"] for c in fake["claims"] if c["id"].startswith(kind + "/")]
    fake["claims"] = [faked(c, case) if c["id"] in ids else c for c in fake["claims"]]
    run = RunData(out, fake)
    obs = " ".join(text.observations(run))
    for c in fake["claims"]:
        if c["id"] in ids:
            assert f"\"{c['claim']}\": {case} (" in obs
    counts = text.key_findings(run)[0 if kind == "train" else 1]
    assert f"{len(ids) if case == 'confirmed' else 0} of {len(ids)} decaying schedules" in counts
    assert f"{len(ids)} {case}" in counts
