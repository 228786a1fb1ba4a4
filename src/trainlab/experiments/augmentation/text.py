"""What the augmentation study says, computed from its summary by rules (never canned).

Verdicts are recomputed from the stored paired differences (``claims.verdict``). When the data
fell back to mnist-5k (no full MNIST offline), the first key finding says so.
"""
from __future__ import annotations

from trainlab.experiments import claims
from trainlab.report.folder import RunData


def pct(stat: dict) -> str:
    if stat["median"] is None:
        return "n/a"
    return f"{100 * stat['median']:.2f}% [{100 * stat['lo']:.2f}, {100 * stat['hi']:.2f}]"


def _arm(summary: dict, name: str) -> dict:
    return next(a for a in summary["arms"] if a["name"] == name)


def data_sentence(summary: dict) -> str:
    t = summary["task"]
    where = ("full MNIST was unavailable, so it fell back to mnist-5k (5,000 real digits, its fixed split)"
             if summary["fallback"] else f"data: {summary['data_source']}")
    return (f"The dropout study's data and split: {t['n_train']} training and {t['n_val']} validation images; {where}")


def _setup(summary: dict) -> str:
    t = summary["task"]
    return (f"{'-'.join(map(str, t['sizes']))} ReLU, AdamW lr {t['optimizer']['lr']:g}, {t['epochs']} epochs of "
            f"batches of {t['batch_size']}, {t['seeds']} seeds per arm; shifts of up to {t['max_shift']} pixels in "
            f"each direction, drawn per image and step, no flips")


def _arm_sentence(arm: dict) -> str:
    return (f"{arm['label']}: training error {pct(arm['train_err'])}, val error {pct(arm['val_err'])}, gap "
            f"{pct(arm['gap'])}")


def _claim_sentence(c: dict) -> str:
    return claims.sentence(c)


def observations(run: RunData) -> list[str]:
    s = run.summary
    out = [data_sentence(s), _setup(s)] + [_arm_sentence(a) for a in s["arms"]]
    out += [_claim_sentence(c) for c in s["claims"]]
    if s["frozen"]:
        out.append(f"{len(s['frozen'])} members went non-finite and were frozen")
    return out


def tables(run: RunData) -> list[dict]:
    s = run.summary
    rows = [[a["label"], a["max_shift"], pct(a["train_err"]), pct(a["val_err"]), pct(a["gap"]),
             f"{a['val_loss']['median']:.3g}" if a["val_loss"]["median"] is not None else "n/a"] for a in s["arms"]]
    return [
        {"title": "After the last epoch, median [95% CI] over seeds", "columns": [
            "arm", "max shift (px)", "training error", "val error", "gap (val - train)", "val loss"], "rows": rows},
        claims.claims_table(s["claims"], "Claims (paired by seed)"),
    ]


def key_findings(run: RunData) -> list[str]:
    s = run.summary
    none, shift = _arm(s, "none"), _arm(s, "shift")
    out = [data_sentence(s) + ".",
           f"Without augmentation the net ends at training error {pct(none['train_err'])} and val error "
           f"{pct(none['val_err'])}; with shifts of up to {s['task']['max_shift']} pixels, training error "
           f"{pct(shift['train_err'])} and val error {pct(shift['val_err'])}."]
    out += [_claim_sentence(c) for c in s["claims"]]
    return out[:5]


def headline(summary: dict) -> str:
    none, shift = _arm(summary, "none"), _arm(summary, "shift")
    word = claims.verdict(summary["claims"][0])
    return (f"val error {pct(none['val_err'])} -> {pct(shift['val_err'])} with shifts ({word})"
            + (" [mnist-5k fallback]" if summary["fallback"] else ""))
