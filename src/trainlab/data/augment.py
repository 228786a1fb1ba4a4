"""Live data augmentation for populations: each member's batch transformed at each step.

``RandomShift`` moves every image of a batch by its own whole-pixel offset (dy, dx), each drawn
uniformly from -max_shift..max_shift, and fills the uncovered border with ``fill`` (the value of a
blank pixel: after normalization, that is ``-mean / std``, not 0). No flips: a mirrored digit is
another symbol or none.

The offsets come from ``rng.counter_uniform``, a hash of (member key, step, position), so a
member draws the same shifts in any population or chunk, and one tensor operation shifts the
whole population's batch. ``trainlab.loop.fit`` calls an augmentation as
``augment(xb, yb, step, keys)`` on each training batch, xb of shape (K, B, D), and trains on what
it returns; labels pass through unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from trainlab.rng import counter_uniform

SHIFT_SALT = 0x5111F7  # separates the shift stream from the other uses of counter_uniform


def shift_offsets(keys: torch.Tensor, step: int, batch: int, max_shift: int | torch.Tensor,
                  device=None) -> torch.Tensor:
    """(K, batch, 2) integer offsets (dy, dx), each uniform in -max_shift..max_shift.

    ``max_shift`` is one int, or a (K,) tensor of per-member bounds (0: that member is not shifted).
    """
    u = counter_uniform(keys, step, SHIFT_SALT, (batch, 2), device=device)
    m = torch.as_tensor(max_shift, device=u.device).to(torch.int64).reshape(-1, 1, 1)
    return (u * (2 * m + 1)).floor().to(torch.int64) - m


def shift_images(x: torch.Tensor, offsets: torch.Tensor, shape: tuple[int, int], fill: float) -> torch.Tensor:
    """Images ``x`` (..., H*W) moved by ``offsets`` (..., 2) = (dy, dx): out[i, j] = in[i - dy, j - dx].

    Pixels shifted in from outside the image take ``fill``. The images are grouped by offset and
    each group is one slice of the padded batch: at most (2m + 1)^2 copies for a bound m (25 at
    m = 2), about twice as fast on CPU as one gather with three index tensors.
    """
    h, w = shape
    lead = x.shape[:-1]
    m = int(offsets.abs().max()) if offsets.numel() else 0
    imgs = x.reshape(-1, h, w)
    padded = torch.nn.functional.pad(imgs, (m, m, m, m), value=fill)
    off = offsets.reshape(-1, 2)
    side = 2 * m + 1
    code = (off[:, 0] + m) * side + (off[:, 1] + m)  # one integer per offset
    order = torch.argsort(code)
    out = torch.empty_like(imgs)
    start = 0
    for c, n in enumerate(torch.bincount(code, minlength=side * side).tolist()):
        if n:
            dy, dx = c // side - m, c % side - m
            idx = order[start:start + n]
            out[idx] = padded[idx, m - dy:m - dy + h, m - dx:m - dx + w]
            start += n
    return out.reshape(*lead, h * w)


@dataclass(frozen=True)
class RandomShift:
    """Shift each image by up to ``max_shift`` pixels in each direction, fresh offsets every step."""

    shape: tuple[int, int]  # (H, W) of one image; x rows are flattened images
    max_shift: int | torch.Tensor = 2  # or (K,) per member: members at 0 train on the original images
    fill: float = 0.0  # the value of a blank pixel, in the inputs' units

    def offsets(self, keys: torch.Tensor, step: int, batch: int, device=None) -> torch.Tensor:
        return shift_offsets(keys, step, batch, self.max_shift, device)

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor, step: int, keys: torch.Tensor):
        """The batch (K, B, D) with every image shifted; the labels unchanged."""
        off = self.offsets(keys, step, xb.shape[1], xb.device)
        return shift_images(xb, off, self.shape, self.fill), yb
