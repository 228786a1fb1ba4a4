"""`trainlab sweep` end to end in this process: results, the report page, usage errors (exit 2),
output-folder rules, and the progress line when stderr is not a terminal."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from trainlab.cli import run as cli_run
from trainlab.runs.schema import validate_summary
from trainlab.stats import summarize

CONFIG = ("run: {name: '<b>c2f</b>', seed: 0}\ndata: {name: circles, n_train: 100, n_val: 500}\n"
          "model: {hidden: [6, 3], init: {scheme: normal, std: 0.5}}\ntrain: {steps: 60}\npopulation: {seeds: 3}\n")


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("TRAINLAB_NO_REEXEC", "1")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(CONFIG)
    (tmp_path / "grid.yaml").write_text(CONFIG.replace("population: {seeds: 3}",
                                                       "population: {seeds: 2, grid: {optim.lr: [0.1, 1]}}"))
    return tmp_path


def test_coarse_to_fine_tables_summary_and_report(workdir: Path, capsys):
    rc = cli_run(["sweep", "c.yaml", "--grid", "optim.lr=logspace(-3,1,5)", "--coarse-to-fine", "optim.lr",
                  "--out", "out", "--quiet", "--threads", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "stages: each winner fixed for the next" in printed and "best configurations" in printed
    s = json.loads((workdir / "out" / "summary.json").read_text())
    validate_summary(s, "sweep.schema.json")
    coarse, fine = s["stages"]
    assert (coarse["steps"], coarse["configs"], fine["steps"], fine["configs"]) == (6, 5, 60, 12)
    lrs = sorted(float(v) for v in [c["values"]["optim.lr"] for c in s["best"]])
    assert lrs[0] >= 1e-4 and lrs[-1] <= 100
    # each configuration row's statistics recomputed from its member rows
    with open(workdir / "out" / "members.csv", newline="") as f:
        members = list(csv.DictReader(f))
    with open(workdir / "out" / "configs.csv", newline="") as f:
        configs = list(csv.DictReader(f))
    assert len(members) == 17 * 3 and len(configs) == 17
    for c in configs:
        mine = [float(m["final_val_loss"]) for m in members if (m["stage"], m["config"]) == (c["stage"], c["config"])]
        st = summarize(mine)
        assert [float(c[f"val_loss_{p}"]) for p in ("median", "lo", "hi")] == [st["median"], st["lo"], st["hi"]]
        assert int(c["val_loss_n"]) == st["n"] == 3
    for stage in ("coarse", "fine"):  # ranked within each stage, best first
        meds = [float(c["val_loss_median"]) for c in configs if c["stage"] == stage]
        assert meds == sorted(meds)
    assert (workdir / "out" / "configs.parquet").is_file() or pytest.importorskip("pyarrow") is None
    html = (workdir / "out" / "report.html").read_text()
    assert "&lt;b&gt;c2f&lt;/b&gt;" in html and "<b>c2f</b>" not in html  # user strings escaped
    assert not re.search(r"(src|href)=\"(https?:)?//", html) and "<script" not in html  # no network
    assert html.count("data:image/png;base64,") == len(s["figures"]) >= 3  # metric vs key, parallel, stages
    assert {f["file"] for f in s["figures"]} >= {"sweep_parallel.png", "sweep_stages.png"}
    # `trainlab report DIR` rebuilds the page from the folder alone
    (workdir / "out" / "report.html").unlink()
    assert cli_run(["report", "out"]) == 0 and (workdir / "out" / "report.html").read_text() == html


USAGE = [
    (["grid.yaml", "--grid", "optim.lr=0.1,1"], "a grid both in the config"),
    (["c.yaml", "--random", "optim.lr=loguniform(1e-3,1)"], "--random needs --trials"),
    (["c.yaml", "--grid", "optim.lr=logspace(1,2)"], "logspace(a,b,n) takes 3 finite numbers"),
    (["c.yaml", "--grid", "optim.lr=0.1", "--metric", "accuracy"], "--metric 'accuracy' is not a metric"),
    (["c.yaml", "--grid", "optim.lr=0.1", "--backend", "spark"], "--backend must be local or ray"),
    (["c.yaml", "--grid", "optim.lr=0.1", "--address", "10.0.0.1:6379"], "--address needs --backend ray"),
    (["c.yaml", "--grid", "optim.lr=-1,0.1"], "swept value optim.lr=-1"),
    (["c.yaml", "--grid", "model.activation=relu,swish"], "swept value model.activation='swish'"),
    (["c.yaml", "--search", "nosuch", "--random", "optim.lr=loguniform(1e-3,1)", "--trials", "2"], "unknown --search"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[m for _, m in USAGE])
def test_usage_errors_exit_2_with_one_line(workdir: Path, capsys, args, message):
    assert cli_run(["sweep", *args, "--out", "out", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (workdir / "out").exists()  # refused before any folder is made


def test_output_folder_rules(workdir: Path, capsys):
    (workdir / "mine").mkdir()
    (workdir / "mine" / "thesis.tex").write_text("x")
    args = ["sweep", "c.yaml", "--grid", "optim.lr=0.1,1", "--quiet", "--threads", "1", "--seeds", "1"]
    assert cli_run([*args, "--out", "mine"]) == 2  # a folder trainlab did not make
    assert "was not made by trainlab" in capsys.readouterr().err
    assert cli_run([*args, "--out", "out"]) == 0
    assert cli_run([*args, "--out", "out"]) == 0  # the same sweep again: resumes, no --force needed
    s = json.loads((workdir / "out" / "summary.json").read_text())
    assert s["chunks"]["trained"] == 0 and s["chunks"]["reused"] == s["chunks"]["total"]
    other = ["sweep", "c.yaml", "--grid", "optim.lr=0.3,3", "--quiet", "--threads", "1", "--seeds", "1", "--out", "out"]
    assert cli_run(other) == 2  # a different sweep into it
    assert "holds a different sweep (differs in: grid)" in capsys.readouterr().err
    assert cli_run([*other, "--force"]) == 0  # --force starts it over
    s = json.loads((workdir / "out" / "summary.json").read_text())
    assert s["chunks"]["reused"] == 0 and {c["values"]["optim.lr"] for c in s["best"]} == {0.3, 3}
    assert (workdir / "mine" / "thesis.tex").read_text() == "x"


def test_plain_progress_line_at_most_every_10_s(monkeypatch):
    from trainlab.sweep import progress as P

    clock = [0.0]
    monkeypatch.setattr(P.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    bar = P.SweepProgress(1000, stream=out, terminal=False)
    bar.set_stage("grid", 10)
    for _ in range(30):  # 30 s of work in 1 s steps
        clock[0] += 1.0
        bar.advance(10)
        bar.set_best("lr=0.1 val_loss=0.05")
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 4
    assert "ETA" in lines[-1] and "members/s" in lines[-1] and "best: lr=0.1 val_loss=0.05" in lines[-1]
    assert "30.0%" in lines[-1] or "29.0%" in lines[-1] or "28.0%" in lines[-1] or "21.0%" in lines[-1]
