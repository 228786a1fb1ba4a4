"""`trainlab lab` orchestration and the HTML report.

The orchestration tests register two small studies of their own (one succeeds, one fails) so they
run in a second; the end-to-end test runs the real `lab all --quick` once and shares its folder.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from trainlab.experiments import registry  # noqa: E402
from trainlab.experiments.registry import Study, StudyOptions  # noqa: E402
from trainlab.experiments.settings import StudySettings  # noqa: E402
from trainlab.lab import run_lab  # noqa: E402
from trainlab.report.figures import Figure  # noqa: E402
from trainlab.report.html import write_report  # noqa: E402

from browser import inspect, unavailable  # noqa: E402

CALLS: list[str] = []


def _ok_study(settings: StudySettings, sr) -> dict:
    CALLS.append("ok")
    sr.provenance["note"] = "<script>alert(1)</script>"
    return {}


def _line(run):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig


OK_WORDS = {
    "observations": lambda run: ["a <b>bold</b> claim & more"],
    "tables": lambda run: [{"title": "t", "columns": ["x", "y"],
                            "rows": [["<i>", {"median": 0.5, "lo": 0.4, "hi": 0.6, "n": 8}]]}],
    "figures": (Figure("line.png", _line, "a line"),),
}


def _bad_study(settings: StudySettings, sr) -> dict:
    CALLS.append("bad")
    raise RuntimeError("deliberate failure <x>")


@pytest.fixture
def fake_registry(monkeypatch, tmp_path):
    studies = {
        "fake_ok": Study("fake_ok", "Fake ok", StudySettings, _ok_study, lambda s: "fine", schema="lab.schema.json",
                         order=1, **OK_WORDS),
        "fake_bad": Study("fake_bad", "Fake bad", StudySettings, _bad_study, lambda s: "", schema="lab.schema.json",
                          order=2),
    }
    monkeypatch.setattr(registry, "STUDIES", studies)
    monkeypatch.setattr("trainlab.lab.load_all", lambda: None)
    monkeypatch.setattr("trainlab.lab.STUDIES", studies)
    monkeypatch.setattr("trainlab.lab.validate_summary", lambda s, name: None)
    CALLS.clear()
    return studies


def test_failed_study_does_not_prevent_report_and_finished_are_skipped(fake_registry, tmp_path):
    out = tmp_path / "lab"
    outcomes = run_lab("all", out, StudyOptions(quiet=True))
    assert [o.status for o in outcomes] == ["ok", "failed"]
    assert "deliberate failure" in outcomes[1].error
    index = json.loads((out / "summary.json").read_text())
    assert [s["status"] for s in index["studies"]] == ["ok", "failed"]
    html = (out / "report.html").read_text()
    assert "This study failed" in html and "deliberate failure &lt;x&gt;" in html
    assert "<script>alert(1)</script>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "0.5 [0.4, 0.6]" in html
    assert not (out / "fake_bad").exists()  # the failed study left no half-written folder
    CALLS.clear()
    again = run_lab("all", out, StudyOptions(quiet=True))
    assert [o.status for o in again] == ["skipped", "failed"] and CALLS == ["bad"]
    CALLS.clear()
    run_lab("all", out, StudyOptions(quiet=True), force=True)
    assert CALLS == ["ok", "bad"]


def test_report_rebuild_from_folder_alone(fake_registry, tmp_path):
    out = tmp_path / "lab"
    run_lab("all", out, StudyOptions(quiet=True))
    before = (out / "report.html").read_text()
    (out / "report.html").unlink()
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", "report", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (out / "report.html").read_text() == before


def test_report_on_non_run_folder_is_usage_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "trainlab.cli", "report", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 2 and "no summary.json" in r.stderr and "Traceback" not in r.stderr


# ---- the real lab, quick -------------------------------------------------------------------------

# quick_lab (conftest.py): one `lab all --quick` folder shared by the whole session


def test_quick_lab_writes_every_study(quick_lab):
    from trainlab.lab import study_names
    from trainlab.runs.schema import validate_summary

    index = json.loads((quick_lab / "summary.json").read_text())
    validate_summary(index, "lab.schema.json")
    names = [s["name"] for s in index["studies"]]
    assert names == study_names() and {"shallow", "deep", "dropout"} <= set(names)
    for s in index["studies"]:
        assert s["status"] == "ok", s
        summary = json.loads((quick_lab / s["name"] / "summary.json").read_text())
        assert summary["experiment"] == s["name"]
        assert (quick_lab / s["name"] / "report.html").is_file()
    assert (quick_lab / "report.html").is_file()


def test_report_rebuild_reproduces_numbers(quick_lab, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(quick_lab, copy)
    (copy / "report.html").unlink()
    write_report(copy)
    assert (copy / "report.html").read_text() == (quick_lab / "report.html").read_text()


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file in ``folder`` (recursively) except the report pages."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in ("report.html", "answers.html")}


def test_report_writes_its_two_pages_and_nothing_else(quick_lab, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(quick_lab, copy)
    before = _digests(copy)
    assert len(before) > 20  # every study's summary, settings, data and figures
    for folder in [copy] + [copy / s for s in ("shallow", "deep", "dropout")]:
        write_report(folder)
    assert _digests(copy) == before


def test_words_are_rebuilt_from_the_folder_alone(quick_lab):
    from trainlab.experiments.registry import STUDIES
    from trainlab.lab import study_names
    from trainlab.report.folder import RunData

    for name in study_names():
        run = RunData.load(quick_lab / name)
        study = STUDIES[name]
        assert study.observations(run) == run.summary["observations"], name  # no figure was skipped
        assert study.tables(run) == run.summary["tables"], name
        assert study.key_findings(run) == run.summary["key_findings"] and 3 <= len(run.summary["key_findings"]) <= 5
        assert run.summary["key_figures"] and set(run.summary["key_figures"]) <= {f["file"] for f in run.summary["figures"]}


def test_report_in_real_browser(quick_lab, tmp_path):
    why = unavailable()
    if why:
        pytest.skip(why)
    shot = tmp_path / "report.png"
    seen = inspect(quick_lab / "report.html", shot)
    assert seen["images"], "the report has no figures"
    broken = [alt for alt, complete, width in seen["images"] if not complete or width == 0]
    assert not broken, f"images that did not load: {broken}"
    assert seen["errors"] == [], seen["errors"]
    assert seen["network"] == [], seen["network"]
    for name in ("shallow", "deep", "dropout"):
        assert name in seen["sections"]
    assert shot.is_file() and shot.stat().st_size > 10_000
    layout = seen["layout"]  # at 1280 x 800: a reader sees the contents and each study's figures early
    assert layout["toc"] and layout["answersLink"]
    assert layout["details"] > 0 and layout["detailsOpen"] == 0, layout
    assert {sid for sid, _ in layout["studies"]} >= {"shallow", "deep", "dropout"}
    for sid, top in layout["studies"]:
        assert top is not None and top < 1000, f"{sid}: first figure {top} px below the section's start"


def test_answers_page_in_real_browser(quick_lab, tmp_path):
    why = unavailable()
    if why:
        pytest.skip(why)
    seen = inspect(quick_lab / "answers.html", tmp_path / "answers.png")
    assert seen["images"], "the answers page has no figures"
    broken = [alt for alt, complete, width in seen["images"] if not complete or width == 0]
    assert not broken, f"images that did not load: {broken}"
    assert seen["errors"] == [] and seen["network"] == [], (seen["errors"], seen["network"])
    assert {"p1-item1", "p2-item4", "p3-item5", "claims"} <= set(seen["sections"])
    assert "The student report, checked" in seen["text"] and "Not answered" not in seen["text"]
