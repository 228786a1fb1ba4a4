"""Checking a report's claims against a run: `trainlab check-claims FILE.yaml RUN_DIR`.

A claims file lists what a report says, each claim with how to measure it in a trainlab run:

```yaml
report: "the report's name"
claims:
  - id: kaiming-normal-fails          # unique, short
    section: "II"                     # where the report says it
    quote: "how badly the Kaiming normal initialization performed"
    rule: {direction: negative}       # near: {value, tol} | within: {low, high} | above: x | below: x
                                      # | direction: positive|negative | highest: true | within_factor: f
    stats:                            # what the rule reads, in order
      - label: "He normal - Xavier normal, test acc, paired over seeds"
        path: [shallow, data_scaling, {case: standardized}, init_pairs, {a: kaiming_normal, b: xavier_normal}, diff]
      - label: "the report's own numbers"          # a statistic the report itself gives:
        given: {values: [87.03, 86.58], minus: 88.54, scale: 0.01}   # median, min and max of the differences
    holds_for: all                    # optional: all (default) | most (more than half of the stats)
    comparable_if:                    # optional: else the verdict is "not comparable"
      - {path: [dropout, data_source], startswith: "mnist", reason: "the run is not on MNIST"}
    note: "what differs from the report's set-up"   # optional, shown with the verdict
```

A path starts with the study and may select list items by their fields (``report/lookup.py``);
``path_options`` lists paths tried in order (the first the run holds is used). The verdict is
``confirmed``, ``refuted`` or ``inconclusive`` by the rule (``report/verdicts.py``), or ``not
comparable`` with a reason when the run lacks the study or fails ``comparable_if``. The claims of
the student report that seed 004 holds ship with trainlab (``STUDENT_004``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from trainlab.errors import UsageError
from trainlab.report.lookup import Missing, Sources, find, get
from trainlab.report.verdicts import (Above, Check, Direction, Evidence, Highest, Near, Rule, Within, WithinFactor,
                                      not_comparable, point)

STUDENT_004 = Path(__file__).with_name("claims") / "student_004.yaml"

# rule name in a claims file -> how its parameter builds the rule
RULES: dict[str, Any] = {
    "near": lambda p: Near(float(p["value"]), float(p["tol"])),
    "within": lambda p: Within(float(p["low"]), float(p["high"])),
    "above": lambda p: Above(float(p)),
    "below": lambda p: Above(float(p), below=True),
    "direction": lambda p: Direction({"positive": "positive", "negative": "negative"}[p]),
    "highest": lambda p: Highest(),
    "within_factor": lambda p: WithinFactor(float(p)),
}
CONDITIONS = {
    "equals": lambda v, x: v == x,
    "startswith": lambda v, x: isinstance(v, str) and v.startswith(x),
    "in": lambda v, x: v in x,
}


@dataclass
class Claim:
    """One claim of a claims file, validated."""

    id: str
    quote: str
    section: str
    rule: Rule
    rule_text: dict
    stats: list[dict]
    comparable_if: list[dict] = field(default_factory=list)
    note: str = ""
    most: bool = False  # ``holds_for: most``: the rule need hold for more than half of the statistics


def _rule(spec: Any, where: str) -> Rule:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise UsageError(f"{where}: rule must be one of {', '.join(RULES)} with its parameter, e.g. {{near: "
                         "{value: 0.69, tol: 0.05}}")
    (name, param), = spec.items()
    if name not in RULES:
        raise UsageError(f"{where}: unknown rule {name!r}; valid: {', '.join(RULES)}")
    try:
        return RULES[name](param)
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"{where}: rule {name} has a bad parameter {param!r} ({e})") from None


def _claim(raw: Any, i: int) -> Claim:
    where = f"claim {i + 1}"
    if not isinstance(raw, dict):
        raise UsageError(f"{where} is not a mapping with id, quote, rule and stats")
    for key in ("id", "quote", "rule", "stats"):
        if key not in raw:
            raise UsageError(f"{where} ({raw.get('id', '?')}) lacks {key!r}")
    stats = raw["stats"]
    if not isinstance(stats, list) or not stats or not all(
            isinstance(s, dict) and ("path" in s or "path_options" in s or "given" in s) for s in stats):
        raise UsageError(f"{where} ({raw['id']}): stats must be a list of {{label, path | path_options | given}}")
    for k, spec in enumerate(stats):
        _check_stat(spec, f"{where} ({raw['id']}), statistic {k + 1}")
    conds = raw.get("comparable_if", [])
    if not isinstance(conds, list) or not all(isinstance(c, dict) and _is_path(c.get("path"))
                                              and any(op in c for op in CONDITIONS) for c in conds):
        raise UsageError(f"{where} ({raw['id']}): comparable_if must be a list of {{path: [study, ...], "
                         f"{' | '.join(CONDITIONS)}: value, reason}}")
    holds_for = raw.get("holds_for", "all")
    if holds_for not in ("all", "most"):
        raise UsageError(f"{where} ({raw['id']}): holds_for must be 'all' (the default) or 'most', not {holds_for!r}")
    rule = _rule(raw["rule"], where)
    if holds_for == "most" and isinstance(rule, (Highest, WithinFactor)):
        raise UsageError(f"{where} ({raw['id']}): holds_for: most needs a rule judged per statistic, not "
                         f"{next(iter(raw['rule']))}")
    return Claim(str(raw["id"]), str(raw["quote"]), str(raw.get("section", "")), rule,
                 raw["rule"], stats, conds, str(raw.get("note", "")), holds_for == "most")


def _is_path(p: Any) -> bool:
    """A path into the summaries: a list that starts with a study name."""
    return isinstance(p, list) and bool(p) and isinstance(p[0], str)


def _check_stat(spec: dict, where: str) -> None:
    """One entry of ``stats``: a path, a list of paths, or the report's own numbers."""
    if "given" in spec:
        g = spec["given"]
        vals = g.get("values") if isinstance(g, dict) else None
        if not isinstance(vals, list) or not vals or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                             for v in vals):
            raise UsageError(f"{where}: given must be {{values: [numbers], minus: number, scale: number}}")
        if not all(isinstance(g.get(k, 0), (int, float)) for k in ("minus", "scale")):
            raise UsageError(f"{where}: given's minus and scale must be numbers")
        return
    paths = spec.get("path_options") if "path_options" in spec else [spec.get("path")]
    if not isinstance(paths, list) or not paths or not all(_is_path(p) for p in paths):
        raise UsageError(f"{where}: a path is a list that starts with the study, e.g. [shallow, sigmas, 0, val_acc]")


def load_claims(path: Path) -> tuple[str, list[Claim]]:
    """The report's name and its claims; a file that is not a claims file is a ``UsageError``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read claims file {path}: {e}") from None
    except yaml.YAMLError as e:
        raise UsageError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise UsageError(f"{path} is not a claims file: it needs a top-level 'claims:' list (see trainlab/report/claims.py)")
    if not data["claims"]:
        raise UsageError(f"{path} lists no claims: 'claims:' is empty")
    claims = [_claim(c, i) for i, c in enumerate(data["claims"])]
    ids = [c.id for c in claims]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise UsageError(f"{path}: claim ids must be unique; repeated: {', '.join(dup)}")
    return str(data.get("report", Path(path).stem)), claims


def given_stat(given: dict) -> dict[str, Any]:
    """The report's own numbers as a statistic: the median, min and max of ``(values - minus) * scale``."""
    vals = (np.asarray(given["values"], dtype=np.float64) - float(given.get("minus", 0.0))) * float(given.get("scale", 1.0))
    if vals.size == 1:
        return point(float(vals[0]))
    return {"median": float(np.median(vals)), "lo": float(vals.min()), "hi": float(vals.max()), "n": int(vals.size),
            "exact": True}


def negated(stat: Any) -> Any:
    """-x of a statistic: the median negated and the interval flipped (``negate: true`` in a claims file)."""
    if not isinstance(stat, dict) or stat.get("median") is None:
        return stat
    return stat | {"median": -stat["median"], "lo": -stat["hi"], "hi": -stat["lo"]}


def _evidence(sources: Sources, claim: Claim, k: int, spec: dict) -> Evidence:
    label = str(spec.get("label", f"statistic {k + 1}"))
    if "given" in spec:
        return Evidence(label, ("given", claim.id, k), given_stat(spec["given"]))
    options = spec.get("path_options") or [spec["path"]]
    sign = -1 if spec.get("negate") else 1
    last: Optional[Missing] = None
    for path in options:
        try:
            value, where = find(sources, *path)
        except Missing as e:
            last = e
            continue
        shown = label + (f" (from {path[-1]})" if len(options) > 1 else "")
        return Evidence(shown, where, negated(value) if sign < 0 else value, sign)
    raise last or Missing(f"{label}: no path")


def _comparable(sources: Sources, claim: Claim) -> Optional[str]:
    """None when the claim can be judged on this run, else why not."""
    for cond in claim.comparable_if:
        value = get(sources, *cond["path"])
        for op, test in CONDITIONS.items():
            if op in cond and not test(value, cond[op]):
                return str(cond.get("reason", f"{'/'.join(map(str, cond['path']))} is {value!r}, not {op} {cond[op]!r}"))
    return None


def check_claim(sources: Sources, claim: Claim) -> Check:
    """The claim judged on the run (a ``Check`` with its verdict and a one-line reason)."""
    studies = {s["path"][0] for s in claim.stats if "path" in s} | {
        p[0] for s in claim.stats for p in s.get("path_options", [])}
    absent = sorted(s for s in studies if not sources.has(s))
    if absent:
        return not_comparable(claim.id, f"this run has no {', '.join(absent)} study")
    why = _comparable(sources, claim)
    if why:
        return not_comparable(claim.id, why)
    try:
        evidence = [_evidence(sources, claim, k, spec) for k, spec in enumerate(claim.stats)]
    except Missing as e:
        return not_comparable(claim.id, f"the run does not hold what the claim needs: {e}")
    check = Check(claim.id, evidence, claim.rule).run()
    if claim.most:
        check.verdict = most_of([claim.rule.judge([e.stat]) for e in evidence])
    measured = "; ".join(f"{e.label}: {fmt_stat(e.stat)}" for e in evidence)
    when = (f"for more than half of the {len(evidence)} statistics " if claim.most else "") + claim.rule.words()
    check.reason = f"{measured}. Confirmed when {when}." + (f" Note: {claim.note}." if claim.note else "")
    return check


def most_of(verdicts: list[str]) -> str:
    """'Most hold': confirmed when more than half are confirmed, refuted when at least half are refuted."""
    n = len(verdicts)
    if sum(v == "confirmed" for v in verdicts) * 2 > n:
        return "confirmed"
    if sum(v == "refuted" for v in verdicts) * 2 >= n:
        return "refuted"
    return "inconclusive"


def check_claims(path: Path, run_dir: Path) -> tuple[str, list[tuple[Claim, Check]]]:
    """Every claim of the file judged on the run folder."""
    name, claims = load_claims(path)
    sources = Sources.load(Path(run_dir))
    return name, [(c, check_claim(sources, c)) for c in claims]


def fmt_stat(stat: Any) -> str:
    """'median [lo, hi] (n)' for a statistic; the flag when it is not a number."""
    if not isinstance(stat, dict):
        return "n/a" if stat is None else f"{stat:.4g}" if isinstance(stat, (int, float)) else str(stat)
    if stat.get("median") is None:
        return f"n/a ({stat.get('flag', 'no finite values')})"
    if stat.get("exact") and stat.get("n", 1) == 1:
        return f"{stat['median']:.4g}"
    n = f", {stat['n']} values" if stat.get("exact") else f", n={stat.get('n', '?')}"
    return f"{stat['median']:.4g} [{stat['lo']:.4g}, {stat['hi']:.4g}{n}]"
