"""The lab's networks in plain PyTorch: small reference modules, written as the assignment asks.

Seed 000 asks the student to write ``nn.Module`` classes. These are those classes, one short
module each, so a student can read the plain version and trust the fast one
(``tests/test_lab_models.py`` trains member k of a population and its plain twin with
``torch.optim`` for 100 steps and finds the same weights to 1e-4):

- ``ShallowNet(sigma)``: Part 1's 2-6-3-2 ReLU net, weights N(0, sigma^2) (sigma is the standard
  deviation), zero biases, parametrized by sigma through ``init_weights`` as the lab suggests;
- ``DeepNet(depth=20, width=100)``: Part 2's deep net whose forward also collects the mean and
  std of |activation| per hidden layer (``net.stats`` after each forward);
- ``DropoutNet()``: Part 3's 784-800-800-10 net with dropout on the input and after every hidden
  layer, and ``mc_predict``: the MC-dropout ensemble (dropout kept on, logits averaged over passes).

Dropout masks are random, so to reproduce the population engine exactly ``DropoutNet`` takes
the engine's own keep masks through ``masks=`` (``population_masks`` draws them: the counter-based
masks of ``PopulationMLP``). ``load_member`` copies member k's weights into any of these modules.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from trainlab.rng import counter_uniform

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


class ShallowNet(nn.Module):
    """Part 1: a small fully connected ReLU net whose weights are drawn from N(0, sigma^2)."""

    def __init__(self, sigma: float, sizes: Sequence[int] = (2, 6, 3, 2)):
        super().__init__()
        self.sigma = sigma
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.apply(self.init_weights)

    def init_weights(self, m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight.data, 0.0, self.sigma)
            nn.init.zeros_(m.bias.data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, head = self.layers
        for layer in hidden:
            x = torch.relu(layer(x))
        return head(x)


def _init_deep(w: torch.Tensor, init: str, activation: str) -> None:
    """The inits Part 2 compares: N(0, 1), Glorot (Xavier) and He (Kaiming), normal or uniform."""
    gain_of = "relu" if activation == "relu" else "tanh"
    table = {
        "N(0,1)": lambda: nn.init.normal_(w, 0.0, 1.0),
        "xavier_normal": lambda: nn.init.xavier_normal_(w),
        "xavier_uniform": lambda: nn.init.xavier_uniform_(w),
        "he_normal": lambda: nn.init.kaiming_normal_(w, nonlinearity=gain_of),
        "he_uniform": lambda: nn.init.kaiming_uniform_(w, nonlinearity=gain_of),
    }
    if init not in table:
        raise ValueError(f"init {init!r}: valid are {', '.join(table)}")
    table[init]()


class DeepNet(nn.Module):
    """Part 2: ``depth`` hidden layers of ``width`` units; the forward collects |activation| statistics.

    After a forward, ``self.stats`` holds one ``(mean |a|, std |a|)`` per hidden layer, over all rows
    and units of the batch: the statistic the lab asks for.
    """

    def __init__(self, depth: int = 20, width: int = 100, in_dim: int = 2, n_classes: int = 2,
                 activation: str = "relu", init: str = "he_normal"):
        super().__init__()
        self.act = ACTIVATIONS[activation]
        sizes = [in_dim] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(width, n_classes)
        for layer in (*self.hidden, self.head):
            _init_deep(layer.weight.data, init, activation)
            nn.init.zeros_(layer.bias.data)
        self.stats: list[tuple[float, float]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.stats = []
        for layer in self.hidden:
            x = self.act(layer(x))
            a = x.detach().abs()
            self.stats.append((float(a.mean()), float(a.std(unbiased=False))))
        return self.head(x)


class DropoutNet(nn.Module):
    """Part 3: 784-800-800-10, dropout on the input (``p_input``) and after each hidden layer (``p_hidden``).

    Inverted dropout: kept units are scaled by 1/(1-p) in training, so evaluation uses the weights
    as they are. ``forward(x, masks)`` uses the given keep masks (0/1, one per dropout site: the
    input, then each hidden layer, each (batch, width)) instead of drawing its own.
    """

    def __init__(self, p_input: float = 0.2, p_hidden: float = 0.5, sizes: Sequence[int] = (784, 800, 800, 10),
                 std: float = 0.1):
        super().__init__()
        self.p_input, self.p_hidden = p_input, p_hidden
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.head = nn.Linear(sizes[-2], sizes[-1])
        for layer in (*self.hidden, self.head):
            nn.init.normal_(layer.weight.data, 0.0, std)  # the lab's N(0, 0.1), 0.1 read as the std
            nn.init.zeros_(layer.bias.data)

    def _drop(self, h: torch.Tensor, p: float, masks: Optional[Sequence[torch.Tensor]], site: int) -> torch.Tensor:
        if not self.training or p == 0:
            return h
        if masks is None:
            return F.dropout(h, p, training=True)
        return h * masks[site] / (1.0 - p)

    def forward(self, x: torch.Tensor, masks: Optional[Sequence[torch.Tensor]] = None) -> torch.Tensor:
        h = self._drop(x, self.p_input, masks, 0)
        for i, layer in enumerate(self.hidden):
            h = self._drop(torch.relu(layer(h)), self.p_hidden, masks, i + 1)
        return self.head(h)

    @torch.no_grad()
    def mc_predict(self, x: torch.Tensor, passes: int,
                   masks: Optional[Sequence[Sequence[torch.Tensor]]] = None) -> torch.Tensor:
        """MC-dropout ensemble: ``passes`` forward passes with dropout on, logits averaged, then argmax.

        ``masks[t]`` are the keep masks of pass t (None: each pass draws its own).
        """
        was = self.training
        self.train()
        total = torch.zeros(())
        for t in range(passes):
            total = total + self(x, None if masks is None else masks[t])
        self.train(was)
        return (total / passes).argmax(dim=-1)


def linears(module: nn.Module) -> list[nn.Linear]:
    """The module's linear layers in forward order (registration order)."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


@torch.no_grad()
def load_member(module: nn.Module, population, k: int) -> nn.Module:
    """Copy member ``k`` of a ``PopulationMLP`` into ``module`` (its (K, fan_in, fan_out) weights, transposed)."""
    layers = linears(module)
    if len(layers) != len(population.weights):
        raise ValueError(f"{type(module).__name__} has {len(layers)} linear layers, the population {len(population.weights)}")
    for layer, w, b in zip(layers, population.weights, population.biases):
        layer.weight.copy_(w[k].t())
        layer.bias.copy_(b[k])
    return module


def population_masks(population, k: int, step: int, batch: int) -> list[torch.Tensor]:
    """The keep masks (1.0 kept, 0.0 dropped) the population engine draws for member ``k`` at ``step``:
    one (batch, width) mask per dropout site, the input first (salt 0), then hidden layer l (salt l)."""
    keys = population.dropout_keys[k:k + 1]
    widths = [population.sizes[0]] + population.sizes[1:-1]
    ps = [float(population.p_input[k])] + [float(population.p_hidden[k])] * (len(widths) - 1)
    return [(counter_uniform(keys, step, salt, (batch, w))[0] >= p).float() for salt, (w, p) in enumerate(zip(widths, ps))]
