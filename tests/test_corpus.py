"""The evaluation corpus (examples/README.md): every program follows the protocol, the dev/test
split covers every program exactly once, the corpus is big enough, every healthy program meets
its health criterion on seed 0, and, in ``test_corpus_detection``, each program's detection
expectation: an expected code at warning or above for a broken program, no warning or error for
a healthy one.

Detection expectations that today's rules fail are marked ``xfail(strict=False)`` in
``KNOWN_FAILURES`` (with the reason, quoting ``python examples/corpus_eval.py --seeds 3``), so the
rules work can flip them; since issue 14 every program passes on seeds 0-2 and the table is empty.
The original 17 broken and 10 healthy programs are also checked, strictly, by
tests/test_broken_scripts.py. Each program runs once here, on seed 0.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
import torch

from trainlab.diagnose.findings import CODES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
from _corpus import LABELS, OPS, Outcome, criterion_holds, load_program, load_split, program_paths  # noqa: E402

PATHS = program_paths()
SPLIT = load_split()
NAMES = sorted(PATHS)
HEALTHY = [n for n in NAMES if PATHS[n].parent.name == "healthy"]
BROKEN = [n for n in NAMES if PATHS[n].parent.name == "broken"]

KNOWN_FAILURES: dict[str, str] = {
    # program -> why it fails today (xfail, strict=False). Issue 14's rules pass every program on
    # seeds 0-2 (python examples/corpus_eval.py --seeds 3), so none is listed; a program added
    # later that today's rules fail goes here with the reason, until a rule flips it.
}

_MODULES: dict[str, object] = {}
_OUTCOMES: dict[str, Outcome] = {}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def module(name: str):
    if name not in _MODULES:
        _MODULES[name] = load_program(PATHS[name])
    return _MODULES[name]


def outcome(name: str) -> Outcome:
    """The program's run at its default steps on seed 0, shared by the tests of this file."""
    if name not in _OUTCOMES:
        _OUTCOMES[name] = module(name).run(seed=0)
    return _OUTCOMES[name]


def proposed_codes() -> set[str]:
    text = (EXAMPLES / "PROPOSED_CODES.md").read_text()
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, re.M))


def test_corpus_sizes() -> None:
    assert len(HEALTHY) >= 40 and len(BROKEN) >= 30


@pytest.mark.parametrize("name", NAMES)
def test_program_declares_the_protocol(name: str) -> None:
    m = module(name)
    folder = PATHS[name].parent.name
    assert m.LABEL in LABELS and m.LABEL == folder
    assert isinstance(m.EXPECTED, tuple) and all(isinstance(c, str) for c in m.EXPECTED)
    assert (m.EXPECTED == ()) if m.LABEL == "healthy" else bool(m.EXPECTED)
    assert isinstance(m.SOURCE, str) and m.SOURCE.strip()
    if m.CRITERION is not None:
        metric, op, bound = m.CRITERION
        assert isinstance(metric, str) and op in OPS and isinstance(bound, (int, float))
    assert m.LABEL == "broken" or m.CRITERION is not None, "a healthy program needs a criterion"
    params = inspect.signature(m.run).parameters
    assert params["steps"].default is None and params["seed"].default == 0
    assert (m.__doc__ or "").strip(), "the docstring says what the program trains (and its bug)"


@pytest.mark.parametrize("name", BROKEN)
def test_broken_expected_codes_exist_or_are_proposed(name: str) -> None:
    unknown = set(module(name).EXPECTED) - set(CODES) - proposed_codes()
    assert not unknown, f"{name}: {unknown} neither in CODES nor in examples/PROPOSED_CODES.md"


@pytest.mark.parametrize("name", [n for n in BROKEN if (PATHS[n].parent.parent / "healthy" / f"fixed_{n}.py").exists()])
def test_fixed_twin_shares_source_and_split_part(name: str) -> None:
    twin = f"fixed_{name}"
    assert module(twin).SOURCE == module(name).SOURCE
    assert SPLIT[twin].part == SPLIT[name].part


def test_split_covers_every_program_exactly_once() -> None:
    assert sorted(SPLIT) == NAMES  # load_split raises on a name listed twice
    for name, entry in SPLIT.items():
        assert entry.label == PATHS[name].parent.name
        assert entry.part in ("dev", "test")
    for label in LABELS:
        parts = [e.part for e in SPLIT.values() if e.label == label]
        assert abs(parts.count("dev") - parts.count("test")) <= 2, f"{label}: split not about half"


def test_criterion_holds_semantics() -> None:
    assert criterion_holds(None, {}) is None
    assert criterion_holds(("val_acc", ">=", 0.9), {"val_acc": 0.95}) is True
    assert criterion_holds(("val_acc", ">=", 0.9), {"val_acc": 0.85}) is False
    assert criterion_holds(("val_acc", ">=", 0.9), {}) is False
    assert criterion_holds(("final_loss", "<=", 0.1), {"final_loss": float("nan")}) is False


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_criterion_holds(name: str) -> None:
    out = outcome(name)
    crit = module(name).CRITERION
    assert criterion_holds(crit, out.metrics), f"{name}: {crit} fails on {out.metrics}"


def _detection_params() -> list:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=False, reason=KNOWN_FAILURES[n]))
            if n in KNOWN_FAILURES else n for n in NAMES]


@pytest.mark.parametrize("name", _detection_params())
def test_corpus_detection(name: str) -> None:
    """Broken: an expected code at warning or above. Healthy: no warning or error at all."""
    alarms = [f for f in outcome(name).findings if f.severity != "info"]
    expected = set(module(name).EXPECTED)
    if module(name).LABEL == "broken":
        assert expected & {f.code for f in alarms}, f"{name}: expected one of {expected}, got {alarms}"
    else:
        assert not alarms, f"{name}: false alarms {[str(f) for f in alarms]}"


def test_known_failures_name_corpus_programs() -> None:
    assert set(KNOWN_FAILURES) <= set(NAMES)
