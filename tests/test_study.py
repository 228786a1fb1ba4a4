"""The shape every study shares (experiments/study.py, experiments/settings.py): settings in one
style, key=value overrides from the command line, progress in a log, and finish() writing
summary.json once. A tiny study registered here runs in well under a second."""
from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from rich.console import Console  # noqa: E402

from trainlab.errors import UsageError  # noqa: E402
from trainlab.experiments import study as study_mod  # noqa: E402
from trainlab.experiments.registry import Study, StudyOptions  # noqa: E402
from trainlab.experiments.settings import StudySettings  # noqa: E402
from trainlab.experiments.study import Progress, run_study  # noqa: E402
from trainlab.lab import parse_overrides  # noqa: E402
from trainlab.report.figures import Figure  # noqa: E402
from trainlab.report.html import write_report  # noqa: E402
from trainlab.runs import io as runs_io  # noqa: E402


@dataclass(frozen=True)
class TinySettings(StudySettings):
    STUDY = "tiny"
    FOLLOW = {"other_seeds": "seeds"}

    seeds: int = 3
    lr: float = 0.1
    names: tuple[str, ...] = ("a", "b")
    widths: tuple[int, ...] = (4, 4)
    data_dir: Optional[str] = None
    test: bool = False
    other_seeds: int = 5

    @classmethod
    def quick(cls) -> "TinySettings":
        return cls(preset="quick", seeds=1)

    def check(self) -> None:
        self.at_least(1, "seeds", "widths")


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize("overrides,expected", [
    ({"seeds": 8}, {"seeds": 8, "other_seeds": 8}),  # other_seeds follows seeds
    ({"seeds": 8, "other_seeds": 2}, {"seeds": 8, "other_seeds": 2}),
    ({"lr": 1}, {"lr": 1.0}),
    ({"lr": "1e-3"}, {"lr": 0.001}),  # YAML reads 1e-3 as text
    ({"names": "x, y,z"}, {"names": ("x", "y", "z")}),
    ({"names": ["x"]}, {"names": ("x",)}),
    ({"widths": [8, 16]}, {"widths": (8, 16)}),
    ({"data_dir": "/data", "test": True}, {"data_dir": "/data", "test": True}),
    ({"data_dir": None}, {"data_dir": None}),
])
def test_overrides_are_coerced_to_the_field_types(overrides, expected):
    s = TinySettings.resolve(overrides=overrides)
    assert {k: getattr(s, k) for k in expected} == expected


@pytest.mark.parametrize("overrides,match", [
    ({"seed": 2}, "unknown setting 'seed' of the tiny study .*did you mean 'seeds'"),
    ({"lr": float("nan")}, "tiny study: lr: nan is not a finite number"),
    ({"lr": "inf"}, "tiny study: lr: inf is not a finite number"),
    ({"lr": -math.inf}, "lr: -inf is not a finite"),
    ({"lr": "fast"}, "lr must be a number, got 'fast'"),
    ({"lr": True}, "lr must be a number"),
    ({"seeds": 2.5}, "seeds must be an integer, got 2.5"),
    ({"seeds": True}, "seeds must be an integer"),
    ({"seeds": 0}, "seeds must be >= 1, got 0"),
    ({"widths": [4, 0]}, "widths must be >= 1"),
    ({"widths": "4,x"}, r"widths\[1\] must be an integer, got 'x'"),
    ({"test": "yes"}, "test must be true or false"),
    ({"names": 3}, "names must be a list"),
    ({"preset": "quick"}, "'preset' is set by --quick"),
])
def test_a_bad_override_is_a_usage_error_naming_the_value(overrides, match):
    with pytest.raises(UsageError, match=match):
        TinySettings.resolve(overrides=overrides)


def test_quick_is_a_preset_and_settings_are_frozen_and_json():
    q = TinySettings.resolve(quick=True, overrides={"lr": 0.5})
    assert (q.preset, q.seeds, q.lr) == ("quick", 1, 0.5)
    with pytest.raises(Exception):
        q.seeds = 2  # type: ignore[misc]
    assert json.loads(json.dumps(q.to_json())) == q.to_json() and q.to_json()["names"] == ["a", "b"]


@pytest.mark.parametrize("which,items,implied,expected", [
    ("dropout", ["epochs=40", "seeds=8"], (), {"dropout": {"epochs": 40, "seeds": 8}}),
    ("dropout", ["dropout.epochs=40"], (), {"dropout": {"epochs": 40}}),
    ("all", ["dropout.epochs=40"], (("--seeds", None, "seeds", 2),),
     {"shallow": {"seeds": 2}, "deep": {"seeds": 2}, "dropout": {"epochs": 40, "seeds": 2}}),
    ("all", [], (("--test", "dropout", "test", True),), {"shallow": {}, "deep": {}, "dropout": {"test": True}}),
    ("deep", ["he_lrs=[0.01, 0.1]"], (), {"deep": {"he_lrs": [0.01, 0.1]}}),
    ("all", [], (("--dataset", ("dropout", "augmentation"), "dataset", "mnist"),),  # both studies on one data set
     {"dropout": {"dataset": "mnist"}, "augmentation": {"dataset": "mnist"}, "shallow": {}}),
    ("augmentation", [], (("--dataset", ("dropout", "augmentation"), "dataset", "mnist"),),
     {"augmentation": {"dataset": "mnist"}}),
])
def test_command_line_settings_go_to_their_study(which, items, implied, expected):
    from trainlab.lab import study_names

    got = parse_overrides(which, items, implied)
    assert {k: got[k] for k in expected} == expected
    # `all`: every other study gets only what is implied for every study (the list grows with the lab)
    assert set(got) == (set(study_names()) if which == "all" else set(expected))
    for name in set(got) - set(expected):
        assert got[name] == {setting: v for _, only, setting, v in implied if only is None}


@pytest.mark.parametrize("which,items,implied,match", [
    ("all", ["epochs=40"], (), r"needs its study with `lab all`, e.g. [a-z-]+\.epochs=40"),  # the last study's name
    ("shallow", ["dropout.epochs=4"], (), "study 'dropout' is not run by `lab shallow`"),
    ("all", ["nosuch.epochs=4"], (), "study 'nosuch' is not run"),
    ("deep", ["seeds=4"], (("--seeds", None, "seeds", 3),), "--seeds and deep's setting seeds= both given"),
    ("shallow", [], (("--test", "dropout", "test", True),), "--test is a setting of the dropout study"),
    ("shallow", [], (("--dataset", ("dropout", "augmentation"), "dataset", "mnist"),),
     "--dataset is a setting of the dropout and augmentation studies"),
    ("dropout", ["=3"], (), "is not key=value"),
])
def test_command_line_settings_mistakes(which, items, implied, match):
    with pytest.raises(UsageError, match=match):
        parse_overrides(which, items, implied)


# ------------------------------------------------------------------ progress


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_progress_in_a_log_prints_a_plain_line_at_most_every_10_s():
    out, clock = io.StringIO(), Clock()
    console = Console(file=out, force_terminal=False, width=200)
    with Progress(console=console, clock=clock) as p:
        advance = p.task("train", total=100)
        for t in (1, 5, 9.9, 10.5, 12, 19, 21, 40):
            clock.t = t
            advance(1)
    lines = out.getvalue().splitlines()
    assert lines == ["train: 4/100 (10 s)", "train: 7/100 (21 s)", "train: 8/100 (40 s)"]


def test_progress_quiet_prints_nothing_and_a_terminal_gets_a_bar():
    out = io.StringIO()
    with Progress(quiet=True, console=Console(file=out, force_terminal=False), clock=Clock()) as p:
        p.task("x", 3)(3)
    assert out.getvalue() == ""
    term = io.StringIO()
    with Progress(console=Console(file=term, force_terminal=True, width=100)) as p:
        assert p.bar is not None
        p.task("work", 2)(2)
    assert "work" in term.getvalue()


# ------------------------------------------------------------------ finish(): summary.json once


def _tiny_run(settings: TinySettings, sr) -> dict:
    (sr.folder / "data.json").write_text(json.dumps({"values": [1, 2, 3]}))
    with sr.timed("work"):
        pass
    return {"total": settings.seeds * 2, "nan": float("nan")}


def _draw(run):
    fig, ax = plt.subplots()
    ax.plot(run.json("data.json")["values"])
    return fig


TINY = Study(
    name="tiny", title="A tiny study", settings=TinySettings, run=_tiny_run,
    headline=lambda s: f"total {s['total']}",
    observations=lambda run: [f"total is {run.summary['total']}"],
    key_findings=lambda run: [f"Total {run.summary['total']}.", "Two.", "Three."],
    figures=(Figure("line.png", _draw, lambda run: f"{run.summary['total']} in a line", requires=("data.json",)),
             Figure("never.png", _draw, "needs a file", requires=("missing.npz",))),
    key_figures=("line.png", "never.png"), schema_version=7)


def test_finish_writes_the_shared_fields_once(tmp_path, monkeypatch):
    writes: list[str] = []
    real = runs_io.write_json_atomic

    def counting(path, obj):
        writes.append(Path(path).name)
        real(path, obj)

    monkeypatch.setattr(study_mod, "write_json_atomic", counting)
    out = tmp_path / "tiny"
    summary = run_study(TINY, out, StudyOptions(quiet=True, overrides={"tiny": {"seeds": 2}}))
    assert writes.count("summary.json") == 1
    assert json.loads((out / "summary.json").read_text()) == summary
    assert json.loads((out / "settings.json").read_text()) == summary["settings"]
    assert {"experiment", "schema_version", "title", "settings", "observations", "tables", "figures", "key_findings",
            "key_figures", "timing", "seconds", "provenance"} <= set(summary)
    assert (summary["experiment"], summary["schema_version"], summary["title"]) == ("tiny", 7, "A tiny study")
    assert summary["settings"]["seeds"] == 2 and summary["total"] == 4 and summary["nan"] is None
    assert summary["figures"] == [{"file": "line.png", "caption": "4 in a line"}]
    assert summary["key_figures"] == ["line.png"]  # only figures that were drawn
    assert summary["observations"] == ["total is 4", "figure never.png skipped: the folder holds no missing.npz"]
    assert "work" in summary["timing"] and "figures" in summary["timing"]
    assert summary["key_findings"][0] == "Total 4."


def test_report_changes_no_other_file(tmp_path):
    out = tmp_path / "tiny"
    run_study(TINY, out, StudyOptions(quiet=True))

    def digest() -> dict[str, str]:
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file() and p.name not in ("report.html", "answers.html")}

    before = digest()
    write_report(out)
    write_report(out)
    assert digest() == before and (out / "report.html").is_file()
    html = (out / "report.html").read_text()
    assert html.index("Key findings") < html.index("Observations")


def test_a_study_prints_its_time_breakdown(tmp_path, capsys):
    from trainlab.experiments.study import timing_line

    assert timing_line("x", {"seconds": 10.0, "timing": {"train": 7.0, "figures": 2.0}}) == \
        "x: 10.0 s (train 7.0 s, figures 2.0 s, other 1.0 s)"
    summary = run_study(TINY, tmp_path / "tiny", StudyOptions(quiet=False))
    err = capsys.readouterr().err
    assert f"tiny: {summary['seconds']:.1f} s (work " in err and "figures" in err
