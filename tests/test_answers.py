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


# ---- the words of an answer follow its verdicts ------------------------------------------------------

def _all_checks(sources: Sources, qid: str, verdict: str) -> answers_mod.Answer:
    """The answer rebuilt with every check's evidence faked to ``verdict``."""
    fake = copy.deepcopy(sources)
    for check in _answer(sources, qid).checks:
        for e, stat in zip(check.evidence, check.rule.example(verdict, len(check.evidence))):
            set_at(fake, e.where, negated(stat) if e.sign < 0 else stat)
    rebuilt = _answer(fake, qid)
    assert {c.verdict for c in rebuilt.checks} == {verdict}, [(c.label, c.verdict) for c in rebuilt.checks]
    return rebuilt


# answer id -> (words only when every check is confirmed, words only when every check is refuted)
VERDICT_WORDS = {
    "p1-item1": ("passes the ln 2", "fails the ln 2"),
    "p1-item3": ("(better)", "(worse)"),
    "p1-breakers": ("break convergence measurably (val acc below 0.9 over the seeds' 95% interval): zero init",
                    "break convergence measurably (val acc below 0.9 over the seeds' 95% interval): none"),
    "p2-item4": ("explodes holds", "does not hold"),
    "p3-item4": ("the train error rises in 4 of 4, the train-val gap narrows in 4 of 4, and the val error drops in 4 "
                 "and rises in 0 of 4 (95% intervals; the rest inconclusive). So dropout regularizes here",
                 "the train error rises in 0 of 4, the train-val gap narrows in 0 of 4, and the val error drops in 0 "
                 "and rises in 4 of 4 (95% intervals; the rest inconclusive). This run cannot show dropout"),
    "p3-item5": ("in 6 of 6, and the 50-pass ensemble is within 0.5 points of eval mode in 6 of 6 (paired over "
                 "seeds). So a small ensemble is worse than switching dropout off",
                 "in 0 of 6, and the 50-pass ensemble is within 0.5 points of eval mode in 0 of 6 (paired over "
                 "seeds). In 6 set-up(s) the 50-pass ensemble stays measurably above eval mode"),
}


@pytest.mark.parametrize("qid", [q.id for q in JUDGED_ANSWERS])
def test_each_answer_is_two_to_five_sentences(sources, qid):
    answer = _answer(sources, qid)
    assert 2 <= len(answer.sentences) <= 5, answer.sentences


@pytest.mark.parametrize("qid", sorted(VERDICT_WORDS))
def test_answer_sentences_follow_the_verdicts(sources, qid):
    yes, no = VERDICT_WORDS[qid]
    texts = {v: " ".join(_all_checks(sources, qid, v).sentences) for v in JUDGED}
    assert yes in texts["confirmed"] and yes not in texts["refuted"], texts
    assert no in texts["refuted"] and no not in texts["confirmed"], texts
    inconclusive = _all_checks(sources, qid, "inconclusive")
    assert inconclusive.notes and inconclusive.notes[-1].startswith("Inconclusive:"), inconclusive.notes


def test_an_inconclusive_answer_says_so_and_a_decided_one_does_not(sources):
    assert not any(n.startswith("Inconclusive") for n in _all_checks(sources, "p1-item2", "confirmed").notes)
    assert any(n.startswith("Inconclusive") for n in _all_checks(sources, "p1-item2", "inconclusive").notes)


# ---- claims files: every mistake is a clear usage error --------------------------------------------------

GOOD = "{id: a, quote: q, rule: {above: 0.5}, stats: [{path: [shallow, sigmas, 0, val_acc]}]}"


@pytest.mark.parametrize("text,words", [
    ("claims: []", "lists no claims"),
    ("claims:\n  - [a, b]", "claim 1 is not a mapping"),
    ("claims:\n  - {id: a, quote: q, rule: {direction: sideways}, stats: [{path: [shallow]}]}",
     "rule direction has a bad parameter 'sideways'"),
    ("claims:\n  - {id: a, quote: q, rule: {near: 0.7}, stats: [{path: [shallow]}]}", "rule near has a bad parameter"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1, below: 2}, stats: [{path: [shallow]}]}", "rule must be one of"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, stats: [{path: shallow}]}", "a path is a list"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, stats: [{path_options: [[shallow], 3]}]}", "a path is a list"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, stats: [{given: {values: [1, x]}}]}", "given must be"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, stats: [{given: {values: [1], minus: x}}]}", "must be numbers"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, stats: [{path: [shallow]}], comparable_if: [{path: [x]}]}",
     "comparable_if must be"),
    (f"claims:\n  - {GOOD}\n  - {GOOD}", "claim ids must be unique; repeated: a"),
    ("claims:\n  - {id: a, quote: q, rule: {above: 1}, holds_for: some, stats: [{path: [shallow]}]}",
     "holds_for must be 'all' (the default) or 'most'"),
    ("claims:\n  - {id: a, quote: q, rule: {highest: true}, holds_for: most, stats: [{path: [shallow]}]}",
     "holds_for: most needs a rule judged per statistic"),
])
def test_claims_file_mistakes_are_named(tmp_path, text, words):
    from trainlab.errors import UsageError

    bad = tmp_path / "claims.yaml"
    bad.write_text(text)
    with pytest.raises(UsageError, match=None) as e:
        load_claims(bad)
    assert words in str(e.value), str(e.value)


def test_claims_file_that_is_not_text_is_a_usage_error(tmp_path):
    from trainlab.errors import UsageError

    bad = tmp_path / "claims.yaml"
    bad.write_bytes(b"\xff\xfe\x00claims")
    with pytest.raises(UsageError, match="cannot read claims file"):
        load_claims(bad)


@pytest.mark.parametrize("args,words", [
    (("missing.yaml", "RUN"), "is not a file"),
    (("CLAIMS", "NOT_A_RUN"), "is not a trainlab run folder"),
    (("CLAIMS", "RUN", "--json", "nowhere/v.json"), "--json"),
    (("CLAIMS", "RUN", "--html", "nowhere/v.html"), "--html"),
])
def test_check_claims_bad_arguments_exit_2(quick_lab, tmp_path, args, words):
    claims = tmp_path / "c.yaml"
    claims.write_text(f"claims:\n  - {GOOD}\n")
    (tmp_path / "empty").mkdir()
    where = {"CLAIMS": str(claims), "RUN": str(quick_lab), "NOT_A_RUN": str(tmp_path / "empty"),
             "missing.yaml": str(tmp_path / "missing.yaml"), "nowhere/v.json": str(tmp_path / "no" / "v.json"),
             "nowhere/v.html": str(tmp_path / "no" / "v.html")}
    r = _cli("check-claims", *(where.get(a, a) for a in args))
    assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr


# ---- user strings are text: escaped in HTML, never markup on the console ------------------------------

HOSTILE = '<script>alert("x")</script>'


def _hostile_claims(tmp_path: Path) -> Path:
    f = tmp_path / "hostile.yaml"
    f.write_text(yaml_dump({"report": HOSTILE, "claims": [
        {"id": "a[/b] <i>", "section": HOSTILE, "quote": HOSTILE, "note": HOSTILE, "rule": {"above": 0.5},
         "stats": [{"label": HOSTILE, "path": ["shallow", "sigmas", 0, "val_acc"]}]},
        {"id": "b", "quote": "q", "rule": {"above": 0.5}, "stats": [{"path": ["shallow", "nothing"]}],
         "comparable_if": [{"path": ["shallow", "seeds"], "equals": -1, "reason": HOSTILE}]}]}))
    return f


def yaml_dump(obj) -> str:
    import yaml

    return yaml.safe_dump(obj)


def test_strings_from_a_claims_file_and_a_summary_are_escaped_in_html(sources, tmp_path):
    from trainlab.report.answers_page import claims_page, render

    fake = copy.deepcopy(sources)
    fake.summaries["dropout"]["data_source"] = HOSTILE
    fake.summaries["shallow"]["breakers"][0]["name"] = HOSTILE
    claims = _hostile_claims(tmp_path)
    for html in (render(fake, claims), claims_page(fake, claims)):
        assert "<script" not in html and "<i>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "a[/b] &lt;i&gt;" in claims_page(fake, claims)


def test_check_claims_prints_markup_as_text_and_writes_html(quick_lab, tmp_path):
    claims = _hostile_claims(tmp_path)
    page = tmp_path / "claims.html"
    r = _cli("check-claims", str(claims), str(quick_lab), "--html", str(page))
    assert r.returncode == 0, r.stderr
    assert "a[/b]" in r.stdout and "Traceback" not in r.stderr
    assert "1 not comparable" in r.stdout
    html = page.read_text()
    assert "<script" not in html and "&lt;script&gt;" in html


def test_an_overflow_followed_by_nan_counts_as_exploding(sources):
    """Past an overflow the next layer computes inf - inf = NaN: the check reads the last layer before NaN."""
    fake = copy.deepcopy(sources)
    block = next(b for b in fake.summaries["deep"]["setups"] if b["name"] == "report")
    stats = next(p for p in block["abs_draws"]["pairs"] if p["init"] == "N(0,1)" and p["activation"] == "relu")
    stats = stats["act_abs_mean"]
    stats[-3] = {"median": None, "lo": None, "hi": None, "n": 3, "flag": "overflow"}
    stats[-2] = stats[-1] = {"median": None, "lo": None, "hi": None, "n": 3, "flag": "nan"}
    answer = _answer(fake, "p2-item4")
    got = next(c for c in answer.checks
               if c.label.startswith("N(0, 1) + ReLU explodes") and f"{block['depth']} x" in c.label)
    assert got.verdict == "confirmed" and f"layer {block['depth'] - 2}, the last layer before NaN" in got.evidence[0].label
    assert f"inf (overflows float32) at layer {block['depth'] - 2} (NaN after it)" in " ".join(answer.sentences)
    stats[:] = [{"median": None, "lo": None, "hi": None, "n": 3, "flag": "nan"}] * len(stats)  # NaN throughout
    got = next(c for c in _answer(fake, "p2-item4").checks
               if c.label.startswith("N(0, 1) + ReLU explodes") and f"{block['depth']} x" in c.label)
    assert got.verdict == "inconclusive"


def test_a_claim_about_most_of_its_statistics(sources, tmp_path):
    """'Most inits start near ln 2': 3 of 5 confirmed and 2 refuted confirms it, where 'all' refutes it;
    2 of 4 refuted refutes it; 2 confirmed, 1 refuted and 2 straddling is inconclusive."""
    rule = Near(0.69, 0.05)
    ok, bad, open_ = (rule.example_one(v) for v in JUDGED)
    paths = [["shallow", "sigmas", k, "loss_at_init"] for k in range(5)]
    for holds_for, stats, expect in (("most", [ok, ok, ok, bad, bad], "confirmed"),
                                     ("all", [ok, ok, ok, bad, bad], "refuted"),
                                     ("most", [ok, ok, bad, bad], "refuted"),
                                     ("most", [ok, ok, bad, open_, open_], "inconclusive")):
        f = tmp_path / f"{holds_for}.yaml"
        f.write_text(yaml_dump({"claims": [{"id": "c", "quote": "q", "rule": {"near": {"value": 0.69, "tol": 0.05}},
                                            "holds_for": holds_for,
                                            "stats": [{"path": p} for p in paths[:len(stats)]]}]}))
        fake = copy.deepcopy(sources)
        for p, st in zip(paths, stats):
            set_at(fake, tuple(p), st)
        (claim,) = load_claims(f)[1]
        got = check_claim(fake, claim)
        assert got.verdict == expect, (holds_for, expect, got.reason)
        assert ("more than half" in got.reason) == (holds_for == "most")


@pytest.mark.parametrize("gap,val,words", [
    ("confirmed", ["confirmed", "refuted"], "pays in val error only in 2 and costs in 2"),
    ("confirmed", ["refuted", "refuted"], "the val error does not measurably drop (it rises in 4)"),
    ("confirmed", ["inconclusive", "inconclusive"], "the val error does not measurably drop: within"),
])
def test_dropout_answer_weighs_gap_against_val_error(sources, gap, val, words):
    """Mixed outcomes get their own sentence: a narrower gap with a val error that rises is not 'regularizes'."""
    fake = copy.deepcopy(sources)
    checks = _answer(sources, "p3-item4").checks
    for i, check in enumerate(checks):
        kind = check.label.rsplit(": ", 1)[1]
        verdict = {"the train-val gap narrows": gap, "the val error drops": val[(i // 3) % 2]}.get(kind, "confirmed")
        (e,) = check.evidence
        set_at(fake, e.where, check.rule.example_one(verdict))
    text = " ".join(_answer(fake, "p3-item4").sentences)
    assert words in text and "So dropout regularizes here" not in text, text
