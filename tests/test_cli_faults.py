"""The real ``trainlab`` command over bad inputs, faults and misuse, in subprocesses.

Each case runs in a folder of its own that already holds a user's files (a thesis, a data file
in a subfolder, and whatever the case sets up). Every case asserts the exit code, that no
"Traceback" was printed, that the message names the problem, and that every file that was on
disk before is byte-identical after. The cases run a few at a time (each one starts a Python
interpreter; most exit before importing torch), then each test reads its own result.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
CIRCLES = ROOT / "examples" / "circles.yaml"
FAST = ["train.steps=2", "data.n_val=20", "run.save_weights=false"]  # a real, tiny training run


@dataclass
class Case:
    id: str
    args: list[str]
    rc: int = 2
    message: str = ""  # a regex the output must match (stdout + stderr)
    setup: Optional[Callable[[Path], None]] = None
    check: Optional[Callable[[Path, str], None]] = None  # extra assertions after the run
    env: dict[str, str] = field(default_factory=dict)
    may_change: tuple[str, ...] = ()  # trainlab's own files that a successful run may replace


def write(rel: str, data: str | bytes) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return setup


def both(*fns: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(d: Path) -> None:
        for f in fns:
            f(d)
    return setup


def finished_run(rel: str) -> Callable[[Path], None]:
    """A folder that holds a finished trainlab run (marker + summary), as `train` leaves it."""
    def setup(d: Path) -> None:
        p = d / rel
        p.mkdir(parents=True)
        (p / "summary.json").write_text(json.dumps({"schema_version": 1, "experiment": "train", "status": "ok"}))
        (p / ".trainlab").write_text(json.dumps({"made_by": "trainlab", "kind": "run", "entries": ["summary.json"]}))
    return setup


def summary_in(rel: str, text: str | bytes) -> Callable[[Path], None]:
    return write(f"{rel}/summary.json", text)


DEEP = "[" * 100000 + "]" * 100000
PASSWD = Path("/etc/passwd").read_bytes() if Path("/etc/passwd").is_file() else b"root:x:0:0"
HOSTNAME = Path("/etc/hostname")


def no_secret(rel: str, secret: bytes) -> Callable[[Path, str], None]:
    def check(d: Path, out: str) -> None:
        html = (d / rel / "report.html").read_text()
        assert base64.b64encode(secret).decode()[:40] not in html
        assert "not inside" in html
    return check


def stays_in_runs(d: Path, out: str) -> None:
    made = sorted(p.name for p in (d / "runs").iterdir())
    assert len(made) == 1 and made[0].startswith("x-"), made  # ../../x became one component, inside runs/
    assert not (d.parent / "x").exists()


def marker_files_kept(d: Path, out: str) -> None:
    assert (d / "out" / "summary.json").is_file() and (d / "out" / "notes.txt").read_text() == "mine"


DOCTOR_EXIT_AT_IMPORT = "import sys\nsys.exit(3)\n"
DOCTOR_EXIT_IN_FN = "import sys\ndef setup():\n    sys.exit(3)\n"
DOCTOR_RAISES = "def setup():\n    raise RuntimeError('boom in user code')\n"
DOCTOR_BAD_RETURN = "def setup():\n    return 42\n"

CASES = [
    # --- usage errors (typer/click): one line, exit 2, no traceback
    Case("bogus-option", ["--bogus"], message="No such option: --bogus"),
    Case("unknown-command", ["frobnicate"], message="No such command 'frobnicate'"),
    Case("train-no-args", ["train"], message="Missing argument 'config'"),
    Case("threads-abc", ["lab", "--threads", "abc"], message="--threads"),
    Case("lab-threads-0", ["lab", "--threads", "0"], message="--threads.*greater than or equal to 1"),
    Case("lab-threads-neg", ["lab", "--threads", "-1"], message="--threads"),
    Case("doctor-threads-0", ["doctor", "--threads", "0"], message="--threads"),
    Case("lrfind-threads-neg", ["lr-find", "--threads", "-1"], message="--threads"),
    Case("train-threads-0", ["train", str(CIRCLES), "--threads", "0"], message="--threads"),
    Case("lab-seeds-0", ["lab", "--seeds", "0"], message="--seeds"),
    Case("lab-unknown-study", ["lab", "nosuch"], message="unknown study 'nosuch'.*shallow"),
    Case("lab-bad-dataset", ["lab", "dropout", "--dataset", "cifar10"], message="--dataset 'cifar10'.*fashion-mnist"),
    Case("lab-bad-device", ["lab", "--device", "tpu"], message="--device must be auto, cpu or cuda"),
    Case("train-bad-device", ["train", str(CIRCLES), "--device", "tpu"], message="--device"),
    Case("lab-data-dir-missing", ["lab", "dropout", "--data-dir", "nope/"], message="--data-dir 'nope' is not a folder"),
    Case("doctor-steps-0", ["doctor", "--steps", "0"], message="--steps"),
    # --- study settings (key=value): checked before any work, one line naming the value
    Case("lab-setting-unknown", ["lab", "dropout", "epoch=40"], message="unknown setting 'epoch'.*did you mean 'epochs'"),
    Case("lab-setting-bare-with-all", ["lab", "all", "epochs=40"], message="'epochs' needs its study.*[a-z-]+\\.epochs=40; studies: .*dropout"),
    Case("lab-setting-bare-no-study", ["lab", "seeds=4"], message="'seeds' needs its study"),
    Case("lab-setting-other-study", ["lab", "shallow", "dropout.epochs=4"], message="study 'dropout' is not run"),
    Case("lab-setting-seeds-twice", ["lab", "deep", "--seeds", "3", "seeds=4"], message="--seeds and deep's setting seeds"),
    Case("lab-setting-nan", ["lab", "shallow", "lr=.nan"], message="lr: nan is not a finite number"),
    Case("lab-setting-nan-text", ["lab", "all", "dropout.lr=nan"], message="lr: nan is not a finite number"),
    Case("lab-setting-inf", ["lab", "deep", "he_lrs=[0.01, .inf]"], message=r"he_lrs\[1\]: inf is not a finite"),
    Case("lab-setting-type", ["lab", "dropout", "epochs=many"], message="epochs must be an integer, got 'many'"),
    Case("lab-setting-range", ["lab", "shallow", "seeds=0"], message="seeds must be >= 1, got 0"),
    Case("lab-setting-sigma-ref", ["lab", "shallow", "sigmas=0.1,1"], message="sigmas must include 0.5"),
    Case("lab-setting-no-value", ["lab", "dropout", "epochs"], message="'epochs' is not key=value"),
    Case("lab-setting-preset", ["lab", "dropout", "preset=quick"], message="'preset' is set by --quick"),
    Case("lab-dataset-other-study", ["lab", "shallow", "--dataset", "mnist"], message="--dataset is a setting of the dropout"),
    Case("lab-setting-dataset", ["lab", "dropout", "dataset=cifar10"], message="dataset entry 'cifar10'.*mnist-5k"),
    # --- config files
    Case("config-missing", ["train", "missing.yaml"], message="'missing.yaml' not found"),
    Case("config-is-folder", ["train", "precious"], message="is a folder"),
    Case("config-not-utf8", ["train", "c.yaml"], setup=write("c.yaml", b"optim:\n  lr: 0.1 \xff\xfe\n"),
         message="not UTF-8"),
    Case("config-yaml-syntax", ["train", "c.yaml"], setup=write("c.yaml", "optim:\n  lr: [0.1\n"),
         message="not valid YAML.*line \\d+, column \\d+"),
    Case("config-duplicate-key", ["train", "c.yaml"], setup=write("c.yaml", "optim:\n  lr: 0.1\n  lr: 0.2\n"),
         message="duplicate key 'lr'"),
    Case("config-list", ["train", "c.yaml"], setup=write("c.yaml", "- 1\n- 2\n"), message="must hold a mapping"),
    Case("config-unknown-key", ["train", str(CIRCLES), "optim.lrr=0.1"], message="did you mean 'optim.lr'"),
    Case("config-nan-std", ["train", str(CIRCLES), "model.init.std=.nan"], message="model.init.std.*not a finite"),
    Case("config-inf-std", ["train", str(CIRCLES), "model.init.std=.inf"], message="model.init.std.*not a finite"),
    Case("config-nan-scale", ["train", str(CIRCLES), "data.scale=.nan"], message="data.scale.*not a finite"),
    Case("config-lr-1e400", ["train", str(CIRCLES), "optim.lr=1e400"], message="optim.lr.*finite"),
    Case("config-nan-in-yaml", ["train", "c.yaml"], setup=write("c.yaml", "optim:\n  lr: .nan\n"),
         message="optim.lr.*not a finite"),
    Case("grid-nan", ["train", str(CIRCLES), "population.grid.optim.lr=[0.1,.nan]"], message="optim.lr\\[1\\].*not a finite"),
    Case("grid-1e400", ["train", str(CIRCLES), "population.grid.model.init.std=[0.1,1e400]"], message="model.init.std.*finite"),
    Case("config-negative-lr", ["train", str(CIRCLES), "optim.lr=-1"], message="optim.lr.*greater than 0"),
    Case("config-bad-optimizer", ["train", str(CIRCLES), "optim.name=adamx"], message="did you mean 'adam"),
    Case("config-bad-activation", ["train", str(CIRCLES), "model.activation=relux"], message="did you mean 'relu'"),
    Case("population-structure-key", ["train", str(CIRCLES), "population.grid.model.hidden=[[4]]"],
         message="population key 'model.hidden' cannot vary"),
    Case("population-empty-list", ["train", str(CIRCLES), "population.grid.optim.lr=[]"], message="non-empty list"),
    Case("batch-larger-than-data", ["train", str(CIRCLES), "train.batch_size=5000", *FAST],
         message="batch_size=5000 is larger than the 100 training points"),
    Case("override-no-equals", ["train", str(CIRCLES), "optim.lr"], message="not key=value"),
    Case("override-no-key", ["train", str(CIRCLES), "=3"], message="no key before '='"),
    Case("unknown-dataset", ["train", str(CIRCLES), "data.name=imagenet"], message="unknown dataset 'imagenet'"),
    Case("steps-0", ["train", str(CIRCLES), "train.steps=0"], message="train.steps"),
    Case("hidden-0", ["train", str(CIRCLES), "model.hidden=[0]"], message="hidden width"),
    Case("seeds-0", ["train", str(CIRCLES), "population.seeds=0"], message="population.seeds"),
    Case("corrupt-idx", ["train", str(CIRCLES), "data.name=mnist", "data.data_dir=idx", "data.n_train=10"],
         setup=both(write("idx/train-images-idx3-ubyte", b"not an idx file at all"),
                    write("idx/train-labels-idx1-ubyte", b"\x00\x00\x08\x01\x00\x00\x00\x01\x05"),
                    write("idx/t10k-images-idx3-ubyte", b"junk"), write("idx/t10k-labels-idx1-ubyte", b"junk")),
         message="(?i)idx"),
    # --- output paths: checked before any training; nothing of the user's is touched
    Case("train-out-is-file", ["train", str(CIRCLES), "--out", "precious/thesis.txt"], message="is an existing file"),
    Case("train-out-foreign", ["train", str(CIRCLES), "--out", "precious"], message="not made by trainlab.*--force"),
    Case("lab-out-foreign", ["lab", "shallow", "--quick", "--out", "precious"], message="not made by trainlab.*--force"),
    Case("lab-out-is-file", ["lab", "shallow", "--quick", "--out", "precious/thesis.txt"], message="is an existing file"),
    Case("lab-out-parent-is-file", ["lab", "--out", "precious/thesis.txt/lab"], message="is a file, not a folder"),
    Case("train-out-unwritable", ["train", str(CIRCLES), "--out", "/proc/trainlab-test/run"], message="cannot write in"),
    Case("train-out-finished-run", ["train", str(CIRCLES), "--out", "run1"], setup=finished_run("run1"),
         message="already holds a finished run.*--force"),
    Case("train-out-lab-folder", ["train", str(CIRCLES), "--out", "lab1"],
         setup=both(write("lab1/.trainlab", json.dumps({"made_by": "trainlab", "kind": "lab", "entries": []})),
                    write("lab1/summary.json", "{}")),
         message="trainlab lab folder, not a run folder"),
    Case("lrfind-out-foreign", ["lr-find", str(CIRCLES), "--out", "precious"], message="not made by trainlab"),
    Case("doctor-json-folder", ["doctor", str(CIRCLES), "--json", "precious"], message="--json 'precious' is a folder"),
    Case("doctor-json-foreign-file", ["doctor", str(CIRCLES), "--json", "precious/thesis.txt"],
         message="not a trainlab doctor report"),
    Case("doctor-json-no-folder", ["doctor", str(CIRCLES), "--json", "nope/d.json"], message="does not exist"),
    Case("run-name-escapes", ["train", str(CIRCLES), "run.name=../../x", *FAST, "--quiet"], rc=0,
         message="run folder: runs/x-", check=stays_in_runs),
    Case("force-keeps-user-files", ["train", str(CIRCLES), *FAST, "--quiet", "--out", "out", "--force"], rc=0,
         setup=both(finished_run("out"), write("out/notes.txt", "mine")), message="run folder: out",
         check=marker_files_kept, may_change=("out/summary.json", "out/.trainlab")),
    # --- report: read only what is inside the folder; malformed summaries exit 2
    Case("report-no-summary", ["report", "precious"], message="has no summary.json"),
    Case("report-not-folder", ["report", "precious/thesis.txt"], message="is not a folder"),
    Case("report-truncated", ["report", "r"], setup=summary_in("r", '{"experiment": "train", "final": {'),
         message="not valid JSON.*truncated"),
    Case("report-deep", ["report", "r"], setup=summary_in("r", DEEP), message="nested too deeply"),
    Case("report-list", ["report", "r"], setup=summary_in("r", "[1, 2, 3]"), message="JSON list, not an object"),
    Case("report-bad-median", ["report", "r"],
         setup=summary_in("r", json.dumps({"tables": [{"columns": ["a"], "rows": [[{"median": "x", "lo": 1, "hi": 2}]]}]})),
         message="does not have the shape of a trainlab summary"),
    Case("report-wrong-types", ["report", "r"], rc=0,
         setup=summary_in("r", json.dumps({"experiment": "train", "figures": "x", "tables": 5, "observations": {"a": 1},
                                           "data_notes": [3]})),
         message="report: r/report.html"),
    Case("report-figure-abs", ["report", "r"], rc=0,
         setup=summary_in("r", json.dumps({"figures": [{"file": "/etc/passwd", "caption": "x"}]})),
         message="report:", check=no_secret("r", PASSWD)),
    Case("report-figure-dotdot", ["report", "a/r"], rc=0,
         setup=both(summary_in("a/r", json.dumps({"figures": [{"file": "../../precious/thesis.txt", "caption": "x"}]}))),
         message="report:", check=no_secret("a/r", b"my thesis, five years of work")),
    Case("report-lab-study-outside", ["report", "lab"], rc=0,
         setup=both(summary_in("lab", json.dumps({"experiment": "lab", "studies": [{"name": "../precious", "status": "ok"}]})),
                    write("precious/summary.json", json.dumps({"figures": [{"file": "thesis.txt", "caption": "x"}]}))),
         message="report:", check=no_secret("lab", b"my thesis, five years of work")),
    Case("report-symlink-out", ["report", "r"], rc=0,
         setup=both(summary_in("r", json.dumps({"figures": [{"file": "link.png", "caption": "x"}]})),
                    lambda d: os.symlink(d / "precious" / "thesis.txt", d / "r" / "link.png")),
         message="report:", check=no_secret("r", b"my thesis, five years of work")),
    Case("report-foreign-report-html", ["report", "r"], setup=both(summary_in("r", "{}"), write("r/report.html", "mine")),
         message="not written by trainlab"),
    # --- doctor / lr-find with user code and bad values
    Case("doctor-both-sources", ["doctor", str(CIRCLES), "--python", "u.py:setup"], message="exactly one of CONFIG or --python"),
    Case("doctor-no-source", ["doctor"], message="exactly one of CONFIG or --python"),
    Case("doctor-no-function", ["doctor", "--python", "u.py:nosuch"], setup=write("u.py", "def setup():\n    pass\n"),
         message="has no function 'nosuch'"),
    Case("doctor-not-py", ["doctor", "--python", "precious/thesis.txt:setup"], message="no Python file"),
    Case("doctor-sys-exit-import", ["doctor", "--python", "u.py:setup"], setup=write("u.py", DOCTOR_EXIT_AT_IMPORT),
         message="called sys.exit\\(3\\)"),
    Case("doctor-sys-exit-function", ["doctor", "--python", "u.py:setup"], setup=write("u.py", DOCTOR_EXIT_IN_FN),
         message="called sys.exit\\(3\\)"),
    Case("doctor-user-raises", ["doctor", "--python", "u.py:setup"], setup=write("u.py", DOCTOR_RAISES),
         message="RuntimeError: boom in user code"),
    Case("doctor-bad-return", ["doctor", "--python", "u.py:setup"], setup=write("u.py", DOCTOR_BAD_RETURN),
         message="must return \\(model, optimizer, batches"),
    Case("lrfind-min-0", ["lr-find", str(CIRCLES), "--lr-min", "0"], message="--lr-min must be a finite number > 0"),
    Case("lrfind-min-nan", ["lr-find", str(CIRCLES), "--lr-min", "nan"], message="--lr-min must be a finite"),
    Case("lrfind-min-above-max", ["lr-find", str(CIRCLES), "--lr-min", "1", "--lr-max", "0.1"], message="must be below"),
    Case("report-missing-folder", ["report", "nope"], message="nope is not a folder"),
]


def snapshot(d: Path) -> dict[str, str]:
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(d))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_case(case: Case, base: Path) -> dict:
    d = base / case.id
    d.mkdir()
    (d / "precious" / "sub").mkdir(parents=True)
    (d / "precious" / "thesis.txt").write_text("my thesis, five years of work")
    (d / "precious" / "sub" / "data.bin").write_bytes(bytes(range(256)))
    if case.setup:
        case.setup(d)
    before = snapshot(d)
    env = {**os.environ, "TRAINLAB_NO_REEXEC": "1", "COLUMNS": "200", **case.env}
    proc = subprocess.run([sys.executable, "-m", "trainlab", *case.args], cwd=d, env=env, capture_output=True,
                          text=True, timeout=300)
    return {"dir": d, "rc": proc.returncode, "out": proc.stdout + proc.stderr, "before": before, "after": snapshot(d)}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {c.id: pool.submit(run_case, c, base) for c in CASES}
    return {k: f.result() for k, f in futures.items()}


def test_enough_cases() -> None:
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(case: Case, results: dict[str, dict]) -> None:
    r = results[case.id]
    out = r["out"]
    assert "Traceback" not in out, out
    assert r["rc"] == case.rc, f"exit {r['rc']}, expected {case.rc}:\n{out}"
    assert re.search(case.message, " ".join(out.split()), re.S), f"message {case.message!r} not in:\n{out}"
    changed = [k for k, h in r["before"].items() if r["after"].get(k) != h and k not in case.may_change]
    assert not changed, f"files changed or lost: {changed}"
    if case.rc == 2:
        assert out.count("error:") == 1, out  # one line, once
    if case.check:
        case.check(r["dir"], out)
