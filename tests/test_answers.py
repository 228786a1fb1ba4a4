"""The lab answered and the student report checked: every rule gives all three verdicts.

For every answer and every claim, the statistics its checks read are replaced in a copy of a real
quick lab's summaries (``quick_lab``) by fake ones on either side of the rule and by one whose
interval straddles it (``Rule.example``); the rebuilt answer or claim must give confirmed, refuted
and inconclusive. Set-up items list departures: a fake setting that matches the assignment has
none, one that differs is named. Then `trainlab check-claims` as a command.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from trainlab.report import answers as answers_mod
from trainlab.report.answers_part1 import PART1
from trainlab.report.answers_part23 import PART2, PART3
from trainlab.report.claims import STUDENT_004, Claim, check_claim, load_claims, negated
from trainlab.report.lookup import Sources, set_at
from trainlab.report.verdicts import JUDGED, NOT_COMPARABLE, Above, Direction, Highest, Near, Within, WithinFactor

QUESTIONS = {q.id: q for q in (*PART1, *PART2, *PART3)}
JUDGED_ANSWERS = [q for q in QUESTIONS.values() if q.kind == "question"]
_, CLAIMS = load_claims(STUDENT_004)


@pytest.fixture(scope="module")
def sources(quick_lab) -> Sources:
    return Sources.load(quick_lab)


def _answer(sources: Sources, qid: str) -> answers_mod.Answer:
    return next(a for a in answers_mod.build(sources) if a.id == qid)


def _fake(sources: Sources, check, verdict: str) -> Sources:
    """A copy of the summaries with the check's evidence replaced by statistics the rule judges ``verdict``."""
    fake = copy.deepcopy(sources)
    for e, stat in zip(check.evidence, check.rule.example(verdict, len(check.evidence))):
        set_at(fake, e.where, negated(stat) if e.sign < 0 else stat)
    return fake


@pytest.mark.parametrize("rule", [Direction("positive"), Direction("negative"), Near(0.69, 0.05), Above(0.9),
                                  Above(0.9, below=True), Within(0.11, 0.14), Highest(), WithinFactor(4.0)],
                         ids=lambda r: type(r).__name__)
def test_every_rule_gives_each_verdict_on_its_own_examples(rule):
    for verdict in JUDGED:
        assert rule.judge(rule.example(verdict, 3)) == verdict


@pytest.mark.parametrize("qid", [q.id for q in JUDGED_ANSWERS])
def test_each_answer_check_gives_the_three_verdicts(sources, qid):
    answer = _answer(sources, qid)
    assert answer.missing is None, answer.missing
    assert answer.checks and 2 <= len(answer.sentences) + len(answer.checks), answer
    for i, check in enumerate(answer.checks):
        for verdict in JUDGED:
            rebuilt = _answer(_fake(sources, check, verdict), qid).checks[i]
            assert rebuilt.label == check.label
            assert rebuilt.verdict == verdict, (qid, check.label, verdict, [e.stat for e in rebuilt.evidence])


SETUP_FAKES = {  # answer id -> (settings that match the assignment, settings that depart, words of the departure)
    "p1-setup": ({("shallow", "settings", "n_train"): 100}, {("shallow", "settings", "n_train"): 50},
                 "n_train = 50 instead of 100"),
    "p2-setup": ({("deep", "setups", 0, "depth"): 20, ("deep", "setups", 0, "width"): 100},
                 {("deep", "setups", 0, "depth"): 8, ("deep", "setups", 0, "width"): 32}, "8 x 32 here instead of 20 x 100"),
    "p3-setup": ({("dropout", "train_size"): 5000, ("dropout", "val_size"): 10000, ("dropout", "data_fallback"): False},
                 {("dropout", "train_size"): 3500, ("dropout", "val_size"): 1000, ("dropout", "data_fallback"): True},
                 "3,500 train / 1,000 val instead of 5,000 / 10,000, because full MNIST was not available"),
}


@pytest.mark.parametrize("qid", [q.id for q in QUESTIONS.values() if q.kind == "setup"])
def test_each_setup_item_names_its_departures(sources, qid):
    same, other, words = SETUP_FAKES[qid]
    for values, expect in ((same, False), (other, True)):
        fake = copy.deepcopy(sources)
        for where, v in values.items():
            set_at(fake, where, v)
        answer = _answer(fake, qid)
        assert answer.missing is None and answer.sentences
        assert any(words in d for d in answer.departures) is expect, answer.departures


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_claim_gives_the_three_verdicts(sources, claim: Claim):
    check = check_claim(sources, claim)
    assert check.verdict != NOT_COMPARABLE or claim.comparable_if, check.reason
    if check.verdict == NOT_COMPARABLE:  # quick runs hold mnist-5k: comparable; this is a guard for other data
        pytest.fail(check.reason)
    for verdict in JUDGED:
        fake_claim, fake = copy.deepcopy(claim), copy.deepcopy(sources)
        for k, (e, stat) in enumerate(zip(check.evidence, claim.rule.example(verdict, len(check.evidence)))):
            if e.where[0] == "given":  # the report's own numbers: values whose median, min and max are the example's
                fake_claim.stats[k]["given"] = {"values": [stat["lo"], stat["median"], stat["hi"]]}
            else:
                set_at(fake, e.where, negated(stat) if e.sign < 0 else stat)
        assert check_claim(fake, fake_claim).verdict == verdict, (claim.id, verdict)


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c.comparable_if], ids=lambda c: c.id)
def test_a_claim_on_other_data_is_not_comparable(sources, claim: Claim):
    fake = copy.deepcopy(sources)
    cond = claim.comparable_if[0]
    set_at(fake, tuple(cond["path"]), "fashion-mnist (Debian package)")
    got = check_claim(fake, claim)
    assert got.verdict == NOT_COMPARABLE and got.reason == cond["reason"]


def test_a_claim_on_a_missing_study_is_not_comparable(sources):
    fake = copy.deepcopy(sources)
    del fake.summaries["deep"]
    got = check_claim(fake, next(c for c in CLAIMS if c.id == "xavier-uniform-tanh-best"))
    assert got.verdict == NOT_COMPARABLE and "no deep study" in got.reason


def test_answers_say_which_study_is_missing(sources):
    fake = copy.deepcopy(sources)
    del fake.summaries["dropout"]
    got = {a.id: a for a in answers_mod.build(fake)}
    assert got["p3-item5"].missing and "no dropout study" in got["p3-item5"].missing
    assert got["p1-item1"].missing is None


def test_part1_names_three_sigmas_and_their_loss_check(sources):
    answer = _answer(sources, "p1-item1")
    s = sources.summaries["shallow"]
    for key in ("small", "good", "large"):
        if s["picked"][key] is not None:
            assert any(f"sigma = {s['picked'][key]:g}" in x and "ln 2" in x for x in answer.sentences), key
    good = next(r for r in s["sigmas"] if r["sigma"] == s["picked"]["good"])
    assert not good["loss_at_init_departs"] or s["good_pick_note"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainlab.cli", *args], capture_output=True, text=True, timeout=300)


def test_check_claims_command(quick_lab, tmp_path):
    out = tmp_path / "verdicts.json"
    r = _cli("check-claims", str(STUDENT_004), str(quick_lab), "--json", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert [c["id"] for c in data["claims"]] == [c.id for c in CLAIMS]
    assert all(c["verdict"] in JUDGED + (NOT_COMPARABLE,) and c["reason"] for c in data["claims"])


@pytest.mark.parametrize("text,words", [
    ("claims: 3", "not a claims file"),
    ("claims:\n  - {id: a, quote: q, rule: {nearly: 1}, stats: [{path: [shallow]}]}", "unknown rule 'nearly'"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}}", "lacks 'stats'"),
    ("claims: [a", "not valid YAML"),
])
def test_check_claims_bad_file_is_a_usage_error(quick_lab, tmp_path, text, words):
    bad = tmp_path / "claims.yaml"
    bad.write_text(text)
    r = _cli("check-claims", str(bad), str(quick_lab))
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
