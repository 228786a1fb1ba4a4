"""Per-member random streams.

A member's randomness depends on (run seed, member seed, stream name) alone, never on which
population or chunk the member is trained in. ``stream_seed`` derives a 63-bit seed with
splitmix64; ``member_generator`` wraps it in a ``torch.Generator``. Dropout masks use
``counter_uniform``: a counter-based hash of (member key, step, position), so a whole
population's masks come from one tensor expression with no per-member generator state.
"""
from __future__ import annotations

import hashlib

import torch

_MASK64 = (1 << 64) - 1
_MASK32 = 0xFFFFFFFF


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def stream_seed(run_seed: int, member_seed: int, stream: str) -> int:
    """A seed for one named stream ("init", "shuffle", "dropout", ...) of one member."""
    h = _splitmix64(int(run_seed) & _MASK64)
    h = _splitmix64(h ^ (int(member_seed) & _MASK64))
    h = _splitmix64(h ^ _name_key(stream))
    return h & ((1 << 63) - 1)


def member_generator(run_seed: int, member_seed: int, stream: str) -> torch.Generator:
    """A CPU ``torch.Generator`` for one member's named stream."""
    g = torch.Generator()
    g.manual_seed(stream_seed(run_seed, member_seed, stream))
    return g


def member_keys(run_seed: int, member_seeds: list[int], stream: str = "dropout") -> torch.Tensor:
    """(K,) int64 keys, one per member, below 2**31, for ``counter_uniform``."""
    return torch.tensor([stream_seed(run_seed, s, stream) & 0x7FFFFFFF for s in member_seeds], dtype=torch.int64)


def _mix32(h: torch.Tensor) -> torch.Tensor:
    # a 32-bit avalanche mix (lowbias32-style); constants < 2**31 keep int64 products exact
    h = h & _MASK32
    h = h ^ (h >> 16)
    h = (h * 0x7FEB352D) & _MASK32
    h = h ^ (h >> 15)
    h = (h * 0x2C1B3C6D) & _MASK32
    h = h ^ (h >> 16)
    return h


def counter_uniform(keys: torch.Tensor, step: int, salt: int, shape: tuple[int, ...], device=None) -> torch.Tensor:
    """Uniform [0, 1) floats of ``(K, *shape)`` from a hash of (member key, step, salt, position).

    Member k's values depend only on ``keys[k]``, ``step``, ``salt`` and the position: the same
    member gets the same mask in any population.
    """
    device = device or keys.device
    k = keys.to(device=device, dtype=torch.int64).view(-1, *([1] * len(shape)))
    n = 1
    for s in shape:
        n *= s
    pos = torch.arange(n, device=device, dtype=torch.int64).view(*shape)
    base = _mix32(k ^ ((int(step) * 0x27D4EB2F + int(salt) * 0x165667B1) & _MASK32))
    h = _mix32(base + pos * 0x3C6EF372)
    h = _mix32(h ^ (pos >> 32))
    return (h >> 8).to(torch.float32) * (1.0 / (1 << 24))
