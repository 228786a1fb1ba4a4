"""A compiled training step and evaluation for populations of *small* MLPs (widths up to a few dozen).

Why: for nets like the lab's 2-6-3-2 the tensor path (``nn/fused.py``) spends its time in ~40
small batched operations per step, each streaming (K, width, B) tensors through memory, and in
MKL's batched GEMMs with inner dimensions of 3-7, which run at a few percent of the machine's peak
(benchmarks/README.md, "sweep"). Here one C function does a member's whole forward pass, loss and
backward pass on blocks of V points at a time (8 or 16, by the CPU: ``lanes_for``): the block's
activations live in registers and L1 from the forward to the backward pass, and the weight gradients are summed per lane and reduced
once per member. The widths are compile-time constants, so the compiler unrolls every layer.

How: for each structure (widths, activation, loss, input affine or not) this module writes a C
source, compiles it once with the system C compiler (``cc -O2 -march=native``, see ``compile_flags``) into a cache folder
(``$TRAINLAB_KERNEL_CACHE``, else ``~/.cache/trainlab/kernels``; compile time is a second or so,
counted in the benchmarks) and calls it through ctypes, which releases the GIL: the members are
split over ``torch.get_num_threads()`` Python threads.

Numbers: the same contract as ``fused.loss_and_grads`` (to float rounding; the tests hold it to the
same tolerance against autograd). exp, log and tanh are Cephes-style polynomials (about 1 ulp),
written branch-free so that they vectorize; NaN and inf propagate as in torch (ReLU keeps a NaN,
its backward passes the gradient where the output is NaN, a frozen member's gradient is scaled by
0 as in the tensor path). No ``-ffast-math``: the compiler must keep NaN comparisons.

When it does not apply (dropout, an activation or loss outside the table, widths over the rule,
no C compiler, ``TRAINLAB_KERNEL=0``), ``step_kernel`` returns None and the caller uses the tensor
path. ``status()`` says what happened, for ``provenance``.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import torch

from trainlab.cpu import cpu_info
from trainlab.nn.activations import LEAKY_SLOPE


def lanes_for(flags, model: str = "") -> int:
    """The rule for points per block, from the running CPU: 16 (one 512-bit register of floats) on
    AVX-512 CPUs with full-width 512-bit units, else 8. AMD's AVX-512 (Zen 4) runs a 512-bit
    operation as two 256-bit halves, and 8 lanes measured 3-10% faster there (benchmarks/README.md,
    "speed on every CPU"); with 8 lanes a batch of 100 is padded to 104 points instead of 112.
    Without AVX-512, 16 lanes need twice the 16 vector registers and spill: measured 5x slower."""
    return 16 if "avx512f" in flags and "AMD" not in model.upper() else 8


def compile_flags(lanes: int) -> list[str]:
    """The compiler flags for a kernel of ``lanes`` points per block (``-march=native``: the
    running CPU's instruction set; the cache key holds the CPU's flags, so another CPU recompiles)."""
    if os.environ.get("TRAINLAB_KERNEL_FLAGS"):  # for measuring other compiler settings
        head = os.environ["TRAINLAB_KERNEL_FLAGS"].split()
    else:
        head = ["-O2", "-march=native", *(["-mprefer-vector-width=512"] if lanes == 16 else []), "-fno-math-errno",
                "-fno-trapping-math"]
    return head + ["-ffp-contract=fast", "-fPIC", "-shared", "-std=gnu99"]


V = int(os.environ.get("TRAINLAB_KERNEL_LANES") or lanes_for(cpu_info()[1], cpu_info()[0]))
MAX_WIDTH = 64  # the rule: widest layer (incl. input) the kernel takes; wider layers are GEMM-bound
# per member: the fully unrolled code grows with the parameters and so does its compile time,
# faster than linearly (cc -O2, CPU seconds at load 6-8: 47 params 0.2 s, 114 0.4 s, 354 1.4 s,
# 1,218 9.7 s; a 7,554-parameter net ran for minutes); 512 keeps a first build to a few seconds
# and covers the lab's, the sweeps' and play's nets (47-114); its per-lane gradient sums stay in L1/L2
MAX_PARAMS = 512
FLAGS = compile_flags(V)

# activation -> (forward of z, backward: dz from g and the output a), on vectors of V floats; NaN
# behaves as in torch's kernels (ReLU keeps NaN, its backward passes g where the output is NaN)
ACTS: dict[str, tuple[str, str]] = {
    "relu": ("sel(z < 0.0f, ZERO, z)", "sel(a <= 0.0f, ZERO, g)"),  # clamp_min / threshold_backward
    "leaky_relu": (f"sel(z > 0.0f, z, z * {LEAKY_SLOPE!r}f)", f"sel(a > 0.0f, g, g * {LEAKY_SLOPE!r}f)"),
    "identity": ("z", "g"),
    "tanh": ("k_tanh(z)", "(g * (1.0f - a * a))"),
    "sigmoid": ("(1.0f / (1.0f + k_exp(-z)))", "(g * a * (1.0f - a))"),
}
LOSSES = ("cross_entropy", "mse_softmax", "mse_sigmoid")

_PRELUDE = r"""
#include <stdint.h>
#include <string.h>
#define V @V@
typedef float vf __attribute__((vector_size(V * 4)));
typedef int32_t vi __attribute__((vector_size(V * 4)));
#define ZERO ((vf){0})
#define ONE (ZERO + 1.0f)
static inline vf sel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }
static inline vf load(const float* p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline vi loadi(const int32_t* p) { vi v; memcpy(&v, p, sizeof v); return v; }
typedef float vh __attribute__((vector_size(32)));
typedef float vq __attribute__((vector_size(16)));
static inline float hsum(vf v) {  /* a tree: halves, quarters, then four floats */
#if V == 16
    vh a, b; memcpy(&a, &v, 32); memcpy(&b, (char*)&v + 32, 32); a += b;
#else
    vh a; memcpy(&a, &v, 32);
#endif
    vq c, d; memcpy(&c, &a, 16); memcpy(&d, (char*)&a + 16, 16); c += d;
    return (c[0] + c[2]) + (c[1] + c[3]);
}
#define U _Pragma("GCC unroll 128")  /* the widths are constants: unroll, keep the values in registers */

/* exp(x): Cephes expf, branch-free, scaled by 2^n in two halves so that n = 128 (x up to 88.72)
   and the subnormal results (x down to -103.97) come out right. NaN -> NaN, x > 88.72 -> inf. */
static inline vf k_exp(vf x) {
    vf xc = sel(x > 88.72283935546875f, ZERO + 88.72283935546875f, x);
    xc = sel(xc < -103.97208f, ZERO - 103.97208f, xc);
    vf t = xc * 1.44269504088896341f + 12582912.0f;  /* round to nearest via 1.5 * 2^23 */
    vf n = t - 12582912.0f;
    vf r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    vf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    vi ni = ((vi)t) - 0x4B400000;
    vi n1 = ni >> 1, n2 = ni - n1;
    vf y = p * (vf)((n1 + 127) << 23) * (vf)((n2 + 127) << 23);
    y = sel(x > 88.72283935546875f, ZERO + __builtin_inff(), y);
    return sel(x < -103.97208f, ZERO, y);
}

/* log(x) for x > 0: Cephes logf, branch-free. inf -> inf, NaN -> NaN, 0 -> -inf. */
static inline vf k_log(vf x) {
    vi u = (vi)x;
    vi e = ((u >> 23) & 0xff) - 126;
    vf m = (vf)((u & 0x007fffff) | 0x3f000000);
    vi small = m < 0.707106781186547524f;
    vf ef = __builtin_convertvector(e + small, vf);  /* small is -1 where true */
    m = sel(small, m + m - 1.0f, m - 1.0f);
    vf z = m * m;
    vf y = m * 7.0376836292e-2f - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y = y - ef * 2.12194440e-4f;
    y = y - z * 0.5f;
    y = m + y + ef * 0.693359375f;
    y = sel(x == __builtin_inff(), x, y);
    y = sel(x == 0.0f, ZERO - __builtin_inff(), y);
    y = sel(x < 0.0f, ZERO + __builtin_nanf(""), y);
    return sel(x != x, x, y);
}

/* tanh(x): Cephes tanhf polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above. */
static inline vf k_tanh(vf x) {
    vf ax = (vf)((vi)x & 0x7fffffff);
    vf z = x * x;
    vf p = z * -5.70498872745e-3f + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    vf lo = x + x * z * p;
    vf hi = 1.0f - 2.0f / (k_exp(ax * 2.0f) + 1.0f);
    hi = sel(x < 0.0f, -hi, hi);
    return sel(ax < 0.625f, lo, hi);
}
"""


def _c_float(v: float) -> str:
    return f"{float(v)!r}f"


class _Gen:
    """Writes the C source of one structure: ``step`` (training) and ``evaluate`` (loss, accuracy).

    Every value of a block is a ``vf`` (GCC/Clang vector of V floats, one per point), so the
    code is SIMD as written, whatever the optimizer decides."""

    def __init__(self, sizes: tuple[int, ...], activation: str, loss: str, affine: bool):
        self.sizes, self.act, self.loss, self.affine = sizes, activation, loss, affine
        self.n = len(sizes) - 1
        self.lines: list[str] = []

    def w(self, line: str = "") -> None:
        self.lines.append(line)

    # ---- shared pieces ------------------------------------------------------------------
    def _member_setup(self) -> None:
        s = self.sizes
        for l in range(self.n):
            self.w(f"    const float* W{l} = P[{2 * l}] + k * {s[l] * s[l + 1]};")
            self.w(f"    const float* c{l} = P[{2 * l + 1}] + k * {s[l + 1]};")
        if self.affine:
            self.w("    const float sc = scale[k], of = offset[k];")

    def _forward_block(self) -> None:
        """Load the block's inputs into a0 and run every layer: a{l} (hidden outputs), z{n} logits."""
        s, fwd = self.sizes, ACTS[self.act][0]
        self.w("      const vi valid = LANES + (int32_t)b0 < (int32_t)B;")
        self.w(f"      vf a0[{s[0]}];")
        self.w("      const float* xb = xt + k * x_ks + b0;")
        load = "load(xb + i * Bp) * sc + of" if self.affine else "load(xb + i * Bp)"
        self.w(f"      U for (int i = 0; i < {s[0]}; i++) a0[i] = {load};")
        for l in range(self.n):
            fi, fo = s[l], s[l + 1]
            out = f"z{l + 1}" if l == self.n - 1 else f"a{l + 1}"
            self.w(f"      vf {out}[{fo}];")
            self.w(f"      U for (int j = 0; j < {fo}; j++) {out}[j] = ZERO + c{l}[j];")
            self.w(f"      U for (int i = 0; i < {fi}; i++) U for (int j = 0; j < {fo}; j++)"
                   f" {out}[j] += a{l}[i] * W{l}[i * {fo} + j];")
            if l < self.n - 1:
                self.w(f"      U for (int j = 0; j < {fo}; j++) {{ const vf z = {out}[j]; {out}[j] = {fwd}; }}")

    def _head(self, train: bool) -> None:
        """Per point: the loss term ``lv``, and (train) dz{n} = dL/dz of the logits."""
        c, last = self.sizes[-1], f"z{self.n}"
        self.w("      const vi yv = loadi(yt + k * y_ks + b0);")
        if train:
            self.w(f"      vf dz{self.n}[{c}];")
        if self.loss in ("cross_entropy", "mse_softmax"):
            self.w(f"      vf mx = {last}[0];")
            self.w(f"      U for (int j = 1; j < {c}; j++) mx = sel({last}[j] > mx, {last}[j], mx);")
            # a NaN logit: the max may skip it, but exp(NaN - m) makes the sum NaN, as in torch
            self.w(f"      vf ex[{c}], se = ZERO;")
            self.w(f"      U for (int j = 0; j < {c}; j++) {{ ex[j] = k_exp({last}[j] - mx); se += ex[j]; }}")
            self.w("      const vf lse = k_log(se), rse = 1.0f / se;")
        if self.loss == "cross_entropy":
            self.w(f"      vf zy = ZERO; U for (int j = 0; j < {c}; j++) zy = sel(yv == j, {last}[j], zy);")
            self.w("      const vf lv = lse - (zy - mx);")
            if train:
                self.w(f"      U for (int j = 0; j < {c}; j++) dz{self.n}[j] ="
                       f" sel(valid, (ex[j] * rse - sel(yv == j, ONE, ZERO)) * cf, ZERO);")
        else:
            prob = ("ex[j] * rse" if self.loss == "mse_softmax"
                    else "(1.0f / (1.0f + k_exp(-{z}[j])))").format(z=last)
            self.w(f"      vf pr[{c}], df[{c}];")
            self.w(f"      U for (int j = 0; j < {c}; j++) {{ pr[j] = {prob}; df[j] = pr[j] - sel(yv == j, ONE, ZERO); }}")
            self.w(f"      vf lv = ZERO; U for (int j = 0; j < {c}; j++) lv += df[j] * df[j];")
            if train:
                # g = (p - onehot) * alive * 2 / (C B): the tensor path's diff * coef * (2 / (C B)) * B
                g = f"(df[j] * (cf * {_c_float(2.0 / c)}))"
                if self.loss == "mse_softmax":  # softmax JVP: p * (g - sum_c g p)
                    self.w(f"      vf gp = ZERO; U for (int j = 0; j < {c}; j++) gp += {g} * pr[j];")
                    self.w(f"      U for (int j = 0; j < {c}; j++) dz{self.n}[j] = sel(valid, ({g} - gp) * pr[j], ZERO);")
                else:
                    self.w(f"      U for (int j = 0; j < {c}; j++) dz{self.n}[j] = sel(valid, {g} * pr[j] * (1.0f - pr[j]), ZERO);")

    def source(self) -> str:
        s, n = self.sizes, self.n
        self.w(_PRELUDE.replace("@V@", str(V)))
        self.w(f"static const vi LANES = {{{', '.join(str(i) for i in range(V))}}};")
        self.w(f"/* structure {list(s)}, activation {self.act}, loss {self.loss}, affine {int(self.affine)} */")
        sig = ("int64_t k0, int64_t k1, int64_t B, int64_t Bp, const float* xt, int64_t x_ks, const int32_t* yt,"
               " int64_t y_ks, const float* scale, const float* offset, const float* const* P")
        # ---- training step ----
        self.w(f"void step({sig}, const float* coef, float* const* G, float* loss) {{")
        self.w("  for (int64_t k = k0; k < k1; k++) {")
        self._member_setup()
        self.w("    const float cf = coef[k];")
        for l in range(n):
            self.w(f"    vf gW{l}[{s[l] * s[l + 1]}], gc{l}[{s[l + 1]}];")
            self.w(f"    U for (int i = 0; i < {s[l] * s[l + 1]}; i++) gW{l}[i] = ZERO;")
            self.w(f"    U for (int i = 0; i < {s[l + 1]}; i++) gc{l}[i] = ZERO;")
        self.w("    vf lacc = ZERO;")
        self.w("    for (int64_t b0 = 0; b0 < Bp; b0 += V) {")
        self._forward_block()
        self._head(train=True)
        self.w("      lacc += sel(valid, lv, ZERO);")
        bwd = ACTS[self.act][1]
        for l in range(n - 1, -1, -1):
            fi, fo = s[l], s[l + 1]
            self.w(f"      U for (int j = 0; j < {fo}; j++) gc{l}[j] += dz{l + 1}[j];")
            self.w(f"      U for (int i = 0; i < {fi}; i++) U for (int j = 0; j < {fo}; j++)"
                   f" gW{l}[i * {fo} + j] += a{l}[i] * dz{l + 1}[j];")
            if l > 0:  # dz of the layer below: (W dz) * f'(z), f' read from the output a
                self.w(f"      vf dz{l}[{fi}];")
                self.w(f"      U for (int i = 0; i < {fi}; i++) {{ vf g = ZERO;"
                       f" U for (int j = 0; j < {fo}; j++) g += dz{l + 1}[j] * W{l}[i * {fo} + j];"
                       f" const vf a = a{l}[i]; dz{l}[i] = {bwd}; }}")
        self.w("    }")
        for l in range(n):
            fi, fo = s[l], s[l + 1]
            self.w(f"    U for (int i = 0; i < {fi * fo}; i++) G[{2 * l}][k * {fi * fo} + i] = hsum(gW{l}[i]);")
            self.w(f"    U for (int j = 0; j < {fo}; j++) G[{2 * l + 1}][k * {fo} + j] = hsum(gc{l}[j]);")
        norm = "(float)B" if self.loss == "cross_entropy" else f"((float)B * {s[-1]}.0f)"
        self.w(f"    loss[k] = hsum(lacc) / {norm};")
        self.w("  }")
        self.w("}")
        self._evaluate_fn(sig)
        return "\n".join(self.lines) + "\n"

    def _evaluate_fn(self, sig: str) -> None:
        """The evaluation: loss sum and correct count per member."""
        s, n = self.sizes, self.n
        self.w(f"void evaluate({sig}, double* loss_sum, double* correct) {{")
        self.w("  for (int64_t k = k0; k < k1; k++) {")
        self._member_setup()
        self.w("    vf lacc = ZERO, cacc = ZERO;")
        self.w("    for (int64_t b0 = 0; b0 < Bp; b0 += V) {")
        self._forward_block()
        self._head(train=False)
        c, last = s[-1], f"z{n}"
        # argmax: the first maximal logit, as torch.argmax; a NaN logit counts as the maximum
        self.w(f"      vf m = {last}[0]; vi am = (vi){{0}};")
        self.w(f"      U for (int j = 1; j < {c}; j++) {{ const vf z = {last}[j];"
               f" const vi take = (z > m) | ((z != z) & (m == m)); am = (take & j) | (~take & am);"
               f" m = sel(take, z, m); }}")
        self.w("      lacc += sel(valid, lv, ZERO);")
        self.w("      cacc += sel(valid & (am == yv), ONE, ZERO);")
        self.w("    }")
        self.w("    loss_sum[k] += hsum(lacc); correct[k] += hsum(cacc);")
        self.w("  }")
        self.w("}")


# ---- compile and cache -------------------------------------------------------------------------
_lock = threading.Lock()
_LIBS: dict[tuple, Optional[ctypes.CDLL]] = {}
_STATUS: dict[str, str] = {}
_POOL: Optional[ThreadPoolExecutor] = None


def enabled() -> bool:
    return os.environ.get("TRAINLAB_KERNEL", "1") not in ("0", "false", "no", "off")


def _compiler() -> Optional[str]:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    return cc if cc and platform.system() in ("Linux", "Darwin") else None


def cache_dir() -> Path:
    root = os.environ.get("TRAINLAB_KERNEL_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "trainlab" / "kernels"


def _cpu_id() -> str:
    """The cache key's CPU part: the model and every flag (``-march=native`` code may not run elsewhere)."""
    model, flags = cpu_info()
    return f"{model}|{platform.machine()}|{' '.join(sorted(flags))}"


def applies(sizes: tuple[int, ...], activation: str, loss: str) -> bool:
    """The rule: small widths, a tabled activation and loss. (Dropout is checked by the caller.)"""
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    return (activation in ACTS and loss in LOSSES and max(sizes) <= MAX_WIDTH and n_params <= MAX_PARAMS
            and len(sizes) >= 2)


def library(sizes: tuple[int, ...], activation: str, loss: str, affine: bool) -> Optional[ctypes.CDLL]:
    """The compiled kernel of one structure (compiled on first use, then from the cache), or None."""
    key = (sizes, activation, loss, affine)
    with _lock:
        if key in _LIBS:
            return _LIBS[key]
        lib = None
        try:
            lib = build(_Gen(sizes, activation, loss, affine).source())
            _STATUS["kernel"] = f"compiled C ({' '.join(FLAGS[:2])}), {V}-point blocks"
        except (OSError, subprocess.SubprocessError, RuntimeError) as e:
            _STATUS["kernel"] = (f"unavailable ({type(e).__name__}: {str(e)[:200]}); the tensor path ran "
                                 "(same results, slower for small nets)")
        _LIBS[key] = lib
        return lib


def build(src: str, signatures: Optional[dict[str, list]] = None) -> ctypes.CDLL:
    """Compile ``src`` (cached by source, compiler, flags and CPU) and load it; ``signatures``: each
    function's ctypes argument types (all return void), by default the MLP kernel's."""
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (set CC)")
    tag = hashlib.sha256("\n".join([src, cc, " ".join(FLAGS), _cpu_id()]).encode()).hexdigest()[:24]
    folder = cache_dir()
    so = folder / f"mlp_{tag}.so"
    if not so.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            c_file, out = Path(tmp) / "k.c", Path(tmp) / "k.so"
            c_file.write_text(src)
            _compile([cc, *FLAGS, str(c_file), "-o", str(out), "-lm"])
            os.replace(out, so)  # atomic: concurrent builders write identical files
    lib = ctypes.CDLL(str(so))
    for name, argtypes in (signatures or _MLP_SIGNATURES).items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, None
    return lib


def _compile(cmd: list[str], timeout: float = 300) -> None:
    """Run the compiler in its own process group, so that a timeout ends the compiler proper (cc1)
    too, not only the driver (an orphaned cc1 kept a core busy for minutes)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"{cmd[0]} took over {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.strip()[:500]}")


_I64, _PTR = ctypes.c_int64, ctypes.c_void_p
_HEAD = [_I64, _I64, _I64, _I64, _PTR, _I64, _PTR, _I64, _PTR, _PTR, _PTR]
_MLP_SIGNATURES = {"step": _HEAD + [_PTR, _PTR, _PTR], "evaluate": _HEAD + [_PTR, _PTR]}


_MATH_SRC = """
void apply(int32_t which, const float* x, float* y, int64_t n) {  /* n: a multiple of V */
  for (int64_t i = 0; i < n; i += V) {
    const vf v = load(x + i);
    const vf r = which == 0 ? k_exp(v) : which == 1 ? k_log(v) : k_tanh(v);
    memcpy(y + i, &r, sizeof r);
  }
}
"""


def math_check(fn: str, values: torch.Tensor) -> torch.Tensor:
    """The kernel's own ``exp``, ``log`` or ``tanh`` applied to ``values`` (for the tests)."""
    with _lock:
        lib = _LIBS.get(("math",))
        if lib is None:
            lib = _LIBS[("math",)] = build(_PRELUDE.replace("@V@", str(V)) + _MATH_SRC,
                                            {"apply": [ctypes.c_int32, _PTR, _PTR, _I64]})
    n = values.numel()
    x = torch.zeros(padded(n))
    x[:n] = values.float().reshape(-1)
    y = torch.empty_like(x)
    lib.apply(("exp", "log", "tanh").index(fn), x.data_ptr(), y.data_ptr(), x.numel())
    return y[:n].view(values.shape)


def status() -> dict[str, str]:
    """What the kernel did in this process: compiled, unavailable (and why), or never asked."""
    return dict(_STATUS)


def describe() -> str:
    """One line for ``provenance``: the kernel's state in this process, and the rule's settings."""
    state = _STATUS.get("kernel", "not used in this process" if enabled() else "off (TRAINLAB_KERNEL=0)")
    return f"{state}; lanes rule: {V} (CPU flags), widths <= {MAX_WIDTH}, params <= {MAX_PARAMS}, no dropout"


def _run_split(fn, k: int, args_for) -> None:
    """Call ``fn(k0, k1, ...)`` over [0, k), split into torch.get_num_threads() member ranges."""
    global _POOL
    threads = max(1, min(torch.get_num_threads(), k // 64 or 1))
    if threads == 1:
        fn(0, k, *args_for())
        return
    if _POOL is None or _POOL._max_workers < threads:
        _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="trainlab-kernel")
    bounds = [k * i // threads for i in range(threads + 1)]
    args = args_for()
    list(_POOL.map(lambda i: fn(bounds[i], bounds[i + 1], *args), range(threads)))


# ---- inputs in the kernel's layout --------------------------------------------------------------
def padded(b: int) -> int:
    return -(-b // V) * V


def inputs_t(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """x (B, d) or (K, B, d) into ``out`` (d, Bp) or (K, d, Bp), feature-major, zero-padded."""
    b = x.shape[-2]
    out[..., b:].zero_()
    out[..., :b].copy_(x.transpose(-1, -2))
    return out


def labels_t(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    b = y.shape[-1]
    out[..., b:].zero_()
    out[..., :b].copy_(y)
    return out


def _ptr(t: Optional[torch.Tensor]) -> Optional[int]:
    return None if t is None else t.data_ptr()


def _ptr_array(ts: list[torch.Tensor]):
    arr = (ctypes.c_void_p * len(ts))(*[t.data_ptr() for t in ts])
    return arr


def call_step(lib: ctypes.CDLL, params: list[torch.Tensor], xt: torch.Tensor, yt: torch.Tensor, b: int,
              coef: torch.Tensor, scale: Optional[torch.Tensor], offset: Optional[torch.Tensor]
              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Per-member loss (K,) and gradients (fresh tensors shaped like ``params``) of one step."""
    k = params[0].shape[0]
    ps = [p.contiguous() for p in params]
    grads = [torch.empty_like(p) for p in ps]
    loss = torch.empty(k, dtype=torch.float32)
    x_ks = xt.shape[-2] * xt.shape[-1] if xt.dim() == 3 else 0
    y_ks = yt.shape[-1] if yt.dim() == 2 else 0
    bp = xt.shape[-1]
    parr, garr = _ptr_array(ps), _ptr_array(grads)

    def args():
        return (b, bp, xt.data_ptr(), x_ks, yt.data_ptr(), y_ks, _ptr(scale), _ptr(offset), parr,
                coef.data_ptr(), garr, loss.data_ptr())

    _run_split(lib.step, k, args)
    return loss, grads


def call_evaluate(lib: ctypes.CDLL, params: list[torch.Tensor], xt: torch.Tensor, yt: torch.Tensor, b: int,
                  scale: Optional[torch.Tensor], offset: Optional[torch.Tensor],
                  loss_sum: torch.Tensor, correct: torch.Tensor) -> None:
    """Adds each member's summed loss and correct count over the B points to the float64 (K,) tensors."""
    k = params[0].shape[0]
    ps = [p.contiguous() for p in params]
    x_ks = xt.shape[-2] * xt.shape[-1] if xt.dim() == 3 else 0
    y_ks = yt.shape[-1] if yt.dim() == 2 else 0
    parr = _ptr_array(ps)

    def args():
        return (b, xt.shape[-1], xt.data_ptr(), x_ks, yt.data_ptr(), y_ks, _ptr(scale), _ptr(offset), parr,
                loss_sum.data_ptr(), correct.data_ptr())

    _run_split(lib.evaluate, k, args)
