"""Dropout masks compiled: the very masks of ``rng.counter_uniform``, bit for bit, in one pass.

Why: the counter hash takes three 32-bit mixes per element. As torch operations on int64 tensors
that is ~20 full passes over (K, B, width) values, each streamed through memory; issue 18 measured
the masks at a third of a dropout population's step on a machine with fast GEMMs. Here one C loop
hashes a position, compares with the member's rate and writes ``keep / (1 - p)`` directly in the
layout the caller needs (the fused step's feature-major (K, width, B), or the module's
(K, B, width)): one write per element, in uint32 arithmetic that vectorizes.

The contract does not change: a member's mask depends only on (run seed, member seed, step, layer,
position), the same function as ``counter_uniform`` (tests compare every bit). Without a C
compiler, or with ``TRAINLAB_KERNEL=0``, ``scale`` returns None and the caller takes the torch
expression; ``status()`` says which ran.
"""
from __future__ import annotations

import ctypes
import subprocess
import threading
from typing import Optional

import torch

from trainlab.nn import ckernel

_MASK32 = 0xFFFFFFFF

_SRC = r"""
#pragma GCC optimize("O3")
#include <stdint.h>
static inline uint32_t mix32(uint32_t h) {  /* rng._mix32 on 32-bit words */
    h ^= h >> 16; h *= 0x7FEB352Du; h ^= h >> 15; h *= 0x2C1B3C6Du; h ^= h >> 16; return h;
}
static inline float keep_scale(uint32_t base, uint64_t pos, float pk, float s) {
    uint32_t h = mix32(base + (uint32_t)pos * 0x3C6EF372u);
    h = mix32(h ^ (uint32_t)(pos >> 32));
    const float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    return u >= pk ? s : 0.0f * s;  /* torch: keep / (1 - p), so p = 1 gives 0 / 0 */
}
/* out[k] = keep / (1 - p[k]) (keep_only: keep, 1 or 0) with keep = u(k, pos) >= p[k], u = (hash >> 8) * 2^-24, pos = b * W + j;
   feature-major (t = 1): out[k][j][b], else out[k][b][j]. Members k0 <= k < k1. */
void scale(int64_t k0, int64_t k1, const int64_t* keys, uint32_t sm, int64_t B, int64_t W, const float* p,
           int32_t t, int32_t keep_only, float* out) {
  for (int64_t k = k0; k < k1; k++) {
    const uint32_t base = mix32((uint32_t)keys[k] ^ sm);
    const float pk = p[k], s = keep_only ? 1.0f : 1.0f / (1.0f - pk);
    float* o = out + k * B * W;
    if (t) {
      for (int64_t j = 0; j < W; j++)
        for (int64_t b = 0; b < B; b++) o[j * B + b] = keep_scale(base, (uint64_t)(b * W + j), pk, s);
    } else {
      for (int64_t i = 0; i < B * W; i++) o[i] = keep_scale(base, (uint64_t)i, pk, s);
    }
  }
}
"""
_SIG = {"scale": [ckernel._I64, ckernel._I64, ckernel._PTR, ctypes.c_uint32, ckernel._I64, ckernel._I64,
                  ckernel._PTR, ctypes.c_int32, ctypes.c_int32, ckernel._PTR]}
_lock = threading.Lock()
_LIB: dict[str, Optional[ctypes.CDLL]] = {}
_STATUS: dict[str, str] = {}


def library() -> Optional[ctypes.CDLL]:
    """The compiled mask function (built on first use), or None where it cannot be built."""
    if not ckernel.enabled():
        return None
    with _lock:
        if "lib" not in _LIB:
            try:
                _LIB["lib"] = ckernel.build(_SRC, _SIG)
                _STATUS["masks"] = "compiled C"
            except (OSError, subprocess.SubprocessError, RuntimeError) as e:
                _LIB["lib"] = None
                _STATUS["masks"] = f"torch expression (compiled masks unavailable: {str(e)[:200]})"
        return _LIB["lib"]


def status() -> dict[str, str]:
    return dict(_STATUS)


def scale(keys: torch.Tensor, step: int, salt: int, batch: int, width: int, p: torch.Tensor,
          feature_major: bool, keep_only: bool = False) -> Optional[torch.Tensor]:
    """keep / (1 - p) per member as float32 (K, width, B) (``feature_major``) or (K, B, width), keep
    drawn by ``counter_uniform(keys, step, salt, (batch, width))`` (``keep_only``: keep itself, 1 or
    0); None where the C code is not there (CPU tensors only)."""
    if keys.device.type != "cpu":
        return None
    lib = library()
    if lib is None:
        return None
    k = keys.shape[0]
    keys64 = keys.to(torch.int64).contiguous()
    pf = p.to(torch.float32).expand(k).contiguous()
    out = torch.empty((k, width, batch) if feature_major else (k, batch, width), dtype=torch.float32)
    sm = (int(step) * 0x27D4EB2F + int(salt) * 0x165667B1) & _MASK32
    ckernel._run_split(lib.scale, k, lambda: (keys64.data_ptr(), sm, batch, width, pf.data_ptr(),
                                              int(feature_major), int(keep_only), out.data_ptr()))
    return out
