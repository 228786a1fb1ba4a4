"""Write examples/corpus_split.yaml: the dev/test split of the evaluation corpus.

Run once; the committed YAML is the split (rerunning with the same tables gives the same file).
Broken programs are stratified by bug family, healthy ones by kind; within each stratum the
names are shuffled with a fixed seed and dealt alternately to dev and test, the odd one out going
to whichever part is smaller so far. A broken port and its fixed version (healthy/fixed_<name>)
always land in the same part, so no rule tuned on dev has seen a test bug's fix, or the reverse.
Usage: python scripts/make_corpus_split.py
"""
from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 14

BROKEN_FAMILIES = {
    "params_not_updating": ["plain_list_layers", "frozen_random_backbone", "rnn_model_recreated",
                            "weight_data_in_forward"],
    "output_activation_vs_loss": ["softmax_into_ce", "nll_after_softmax", "bce_logits_after_sigmoid",
                                  "softmax_single_unit", "autotrainer_relu_output"],
    "collapsed_predictions": ["mse_shape_broadcast", "labels_shuffled_separately"],
    "train_eval_mode": ["batchnorm_batch1", "dropout_on_at_eval"],
    "data_order_and_scaling": ["class_sorted_unshuffled", "inputs_scaled_twice", "repeated_batch_xor",
                               "raw_pixels_255", "cnn_raw_pixels", "inputs_offset_10"],
    "optimizer_and_schedule": ["schedule_per_batch", "lr_10", "lr_tiny", "sgd_batch1",
                               "autotrainer_oscillating_loss", "missing_zero_grad"],
    "init_and_activations": ["big_sigma_init", "dead_relu_bias", "dead_relu_functional",
                             "deep_relu_normal_init", "deep_sigmoid", "tanh_saturation", "zero_init",
                             "autotrainer_gradient_vanish", "deepdiagnosis_exponential"],
    "capacity_and_generalization": ["linear_plateau", "overfit_tiny_data"],
}
HEALTHY_KINDS = {
    "mlp_basic": ["adam_mlp_circles", "sgd_momentum_blobs", "tanh_xavier", "no_optimizer",
                  "intended_accumulation", "full_batch_gd_moons"],
    "output_and_loss": ["sigmoid_output_bce", "bce_single_logit_mlp", "class_imbalance_95_5"],
    "normalization_and_schedules": ["batchnorm_mlp", "layernorm_residual_mlp", "adamw_warmup_cosine",
                                    "onecycle_per_batch_cnn"],
    "data_regimes": ["tiny_data_fullbatch", "large_data_one_pass", "label_noise_30pct", "inputs_mean2",
                     "loss_init_35pct_above", "slow_start_xor"],
    "validation_curves": ["val_monitoring", "tiny_loss_keeps_training", "val_gap_grows_val_falls",
                          "val_loss_009_steady_acc"],
    "regression": ["custom_regression_mse", "l1_regression_heavy_tails", "sigmoid_151_fullbatch_sgd",
                   "sin_regression_still_learning"],
    "images_and_sequences": ["mnist_mlp_adam", "small_cnn", "gru_sequence_classifier",
                             "grad_clip_rnn_regression"],
}
# The evidence suite: programs that predate the corpus and shaped today's rules.
EVIDENCE = ["big_sigma_init", "cnn_raw_pixels", "dead_relu_bias", "dead_relu_functional",
            "deep_relu_normal_init", "deep_sigmoid", "inputs_offset_10", "linear_plateau", "lr_10",
            "lr_tiny", "missing_zero_grad", "overfit_tiny_data", "raw_pixels_255", "sgd_batch1",
            "softmax_into_ce", "tanh_saturation", "zero_init", "adam_mlp_circles",
            "custom_regression_mse", "intended_accumulation", "mnist_mlp_adam", "no_optimizer",
            "sgd_momentum_blobs", "sigmoid_output_bce", "small_cnn", "tanh_xavier", "val_monitoring"]


def deal(strata: dict[str, list[str]], rng: random.Random, count: dict[str, int]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {"dev": {}, "test": {}}
    for name, members in strata.items():
        names = sorted(members)
        rng.shuffle(names)
        first = "dev" if count["dev"] <= count["test"] else "test"
        second = "test" if first == "dev" else "dev"
        for i, prog in enumerate(names):
            part = first if i % 2 == 0 else second
            out[part].setdefault(name, []).append(prog)
            count[part] += 1
    return out


def main() -> None:
    rng = random.Random(SEED)
    broken = deal(BROKEN_FAMILIES, rng, {"dev": 0, "test": 0})
    healthy = deal(HEALTHY_KINDS, rng, {"dev": 0, "test": 0})
    fixed = {part: {f"fixed_{fam}": [f"fixed_{p}" for p in progs
                                     if (ROOT / "examples" / "healthy" / f"fixed_{p}.py").exists()]
                    for fam, progs in broken[part].items()} for part in ("dev", "test")}
    for part in ("dev", "test"):
        healthy[part] |= {k: v for k, v in fixed[part].items() if v}
    on_disk = {p.stem for d in ("broken", "healthy") for p in (ROOT / "examples" / d).glob("*.py")
               if not p.name.startswith("_") and p.name != "run_all.py"}
    listed = [p for part in ("dev", "test") for tab in (broken, healthy) for v in tab[part].values() for p in v]
    assert sorted(listed) == sorted(on_disk), set(listed) ^ on_disk

    lines = [
        "# Dev/test split of the evaluation corpus (examples/README.md, examples/corpus_eval.py).",
        "# Committed before any detection rule is tuned on the corpus: tune on `dev` only; `test` is",
        "# for reporting and is never tuned on. Made by scripts/make_corpus_split.py (seed "
        f"{SEED}):",
        "# broken programs stratified by bug family, healthy ones by kind, each stratum shuffled and",
        "# dealt alternately; a broken port and its healthy/fixed_<name> twin are in the same part.",
        "# `evidence_suite` lists the 27 programs that predate the corpus: today's rules were built",
        "# with them in view, so corpus_eval.py also reports each part without them.",
        f"seed: {SEED}",
    ]
    for part in ("dev", "test"):
        lines.append(f"{part}:")
        for label, tab in (("broken", broken), ("healthy", healthy)):
            lines.append(f"  {label}:")
            for stratum in sorted(tab[part]):
                lines.append(f"    {stratum}: [{', '.join(sorted(tab[part][stratum]))}]")
    lines.append(f"evidence_suite: [{', '.join(EVIDENCE)}]")
    (ROOT / "examples" / "corpus_split.yaml").write_text("\n".join(lines) + "\n")
    for part in ("dev", "test"):
        nb = sum(len(v) for v in broken[part].values())
        nh = sum(len(v) for v in healthy[part].values())
        print(f"{part}: {nb} broken, {nh} healthy")


if __name__ == "__main__":
    main()
