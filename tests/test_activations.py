"""The activation table (trainlab.nn.activations): every row's forward and backward against autograd.

Each row with a hand-written backward is checked against float64 autograd of its own ``apply``
over inputs from -40 to 40, very negative ones included, in float64 (the formula and constants)
and in float32 (the precision: no worse than float32 autograd, which reads z for ELU and SELU).
"""
from __future__ import annotations

import pytest
import torch

from trainlab.nn.activations import ACTIVATIONS, HAND_WRITTEN

aten = torch.ops.aten
Z = torch.cat([torch.linspace(-40.0, 40.0, 801, dtype=torch.float64),
               torch.tensor([-17.0, -15.0, -9.0, -1e-3, 0.0, 1e-3], dtype=torch.float64)])


def _autograd(name: str, z: torch.Tensor, g: torch.Tensor, strided: bool = False) -> torch.Tensor:
    """dL/dz by autograd of the row's ``apply``; ``strided``: on a column of a wider buffer."""
    wide = torch.zeros(z.numel(), 3 if strided else 1, dtype=z.dtype)
    wide[:, -1] = z
    wide.requires_grad_(True)
    ACTIVATIONS[name].apply(wide[:, -1], None).backward(g)
    return wide.grad[:, -1]


def _row(name: str, z: torch.Tensor, g: torch.Tensor, strided: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(f(z), dz) through the row as the fused step and the pass use it: forward in place on z
    unless the backward needs z, backward in place on g. ``strided``: z and the output are
    columns of wider buffers, as in the fused step's (K, width + 1, B) layout."""
    row = ACTIVATIONS[name]
    wide = lambda: torch.zeros(z.numel(), 3, dtype=z.dtype)[:, 1]  # noqa: E731 - stride 3
    zz = wide().copy_(z) if strided else z.clone()
    out = (wide() if strided else torch.empty_like(z)) if row.needs_z else zz
    a = row.apply_into(zz, out)
    dz = row.backward(g.clone(), a, zz, g.clone())
    return a, dz


def test_every_row_is_complete() -> None:
    assert set(HAND_WRITTEN) == set(ACTIVATIONS) - {"prelu", "maxout"}
    for name in HAND_WRITTEN:
        row = ACTIVATIONS[name]
        assert row.apply_into is not None and row.backward is not None
    assert ACTIVATIONS["selu"].constants["alpha"] == pytest.approx(1.6732632423543772)


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_forward_matches_apply(name: str) -> None:
    for dtype in (torch.float64, torch.float32):
        z = Z.to(dtype)
        a, _ = _row(name, z, torch.ones_like(z))
        assert torch.equal(a, ACTIVATIONS[name].apply(z, None))
        nonneg = bool((ACTIVATIONS[name].apply(Z, None) >= 0).all())
        assert ACTIVATIONS[name].nonneg == nonneg


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_backward_matches_float64_autograd(name: str) -> None:
    g = torch.linspace(-2.0, 3.0, Z.numel(), dtype=torch.float64)
    _, dz = _row(name, Z, g)
    torch.testing.assert_close(dz, _autograd(name, Z, g), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_float32_backward_is_as_precise_as_autograd(name: str, strided: bool) -> None:
    """Relative to float64 autograd, the row is within 1e-6 plus float32 autograd's own error on
    the same layout (torch's kernels for strided tensors round differently, GELU's most)."""
    g64 = torch.linspace(0.5, 2.0, Z.numel(), dtype=torch.float64)
    z32, g32 = Z.float(), g64.float()
    ref = _autograd(name, z32.double(), g32.double())
    own = (_autograd(name, z32, g32, strided).double() - ref).abs()
    _, dz = _row(name, z32, g32, strided)
    err = (dz.double() - ref).abs()
    assert bool((err <= 1e-6 * ref.abs() + own + 1e-45).all()), (name, float((err - own).max()))


@pytest.mark.parametrize("name,alpha,scale", [("elu", 1.0, 1.0), ("selu", 1.6732632423543772, 1.0507009873554805)])
def test_elu_and_selu_read_z_where_the_output_loses_it(name: str, alpha: float, scale: float) -> None:
    """From the output a, f'(z) = a + alpha * scale cancels in float32 for very negative z (ELU:
    2.6% off at z = -15, 44% at -17); the row reads z and stays exact."""
    z = torch.tensor([-15.0, -17.0])
    g = torch.ones(2)
    ref = _autograd(name, z.double(), g.double())
    a = ACTIVATIONS[name].apply(z, None)
    from_a = aten.elu_backward(g, alpha, scale, 1.0, True, a).double()
    assert float(((from_a - ref) / ref).abs().max()) > 0.02
    assert ACTIVATIONS[name].needs_z
    _, dz = _row(name, z, g)
    torch.testing.assert_close(dz.double(), ref, rtol=1e-6, atol=0)
