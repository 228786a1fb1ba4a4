"""Paths picked by the running CPU's features (trainlab.cpu, nn/ckernel's rules), tested on made-up
CPUs so that the tests do not depend on the machine; and the fallback when no C compiler is there."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from trainlab import cpu
from trainlab.env import provenance
from trainlab.loop import TrainSpec, fit
from trainlab.nn import ckernel
from trainlab.nn.population import MemberInit, PopulationMLP
from trainlab.optim import PopulationOptimizer

X86 = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512_bf16 amx_tile amx_bf16 amx_int8
processor\t: 1
model name\t: other
flags\t\t: fpu
"""
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm sve\nCPU implementer\t: 0x41\n"


def test_cpuinfo_parsed_for_x86_and_arm():
    model, flags = cpu.parse_cpuinfo(X86)
    assert model == "Intel(R) Xeon(R) Platinum 8480+"
    assert cpu.features(flags) == ["avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "amx_tile", "amx_bf16",
                                   "amx_int8"]
    assert cpu.features(cpu.parse_cpuinfo(ARM)[1]) == ["asimd", "sve"]
    assert cpu.parse_cpuinfo("") == ("", frozenset())


def test_kernel_lanes_and_flags_follow_the_cpu():
    """16 points per block with Intel's AVX-512 (one register), 8 on AMD's (two 256-bit halves) and
    without AVX-512; 512-bit vectors asked for only with 16."""
    assert ckernel.lanes_for(cpu.parse_cpuinfo(X86)[1], cpu.parse_cpuinfo(X86)[0]) == 16
    assert ckernel.lanes_for(cpu.parse_cpuinfo(X86)[1], "AMD EPYC 9654 96-Core Processor") == 8
    assert ckernel.lanes_for({"avx2", "fma"}) == 8
    assert ckernel.lanes_for(cpu.parse_cpuinfo(ARM)[1]) == 8
    assert "-mprefer-vector-width=512" in ckernel.compile_flags(16)
    assert "-mprefer-vector-width=512" not in ckernel.compile_flags(8)
    assert "-march=native" in ckernel.compile_flags(8)


def test_kernel_cache_key_changes_with_the_cpu(monkeypatch):
    """A kernel built with -march=native for one CPU is never loaded on a CPU with other flags."""
    monkeypatch.setattr(ckernel, "cpu_info", lambda: ("same model", frozenset({"avx2"})))
    a = ckernel._cpu_id()
    monkeypatch.setattr(ckernel, "cpu_info", lambda: ("same model", frozenset({"avx2", "avx512f"})))
    assert ckernel._cpu_id() != a


def _train() -> list[torch.Tensor]:
    inits = [MemberInit(s, "normal", 0.5) for s in range(3)]
    pop = PopulationMLP.create([2, 6, 3, 2], "relu", inits, run_seed=3)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 2, generator=g), torch.randint(0, 2, (40,), generator=g)
    opt = PopulationOptimizer("sgd", pop.parameters(), {"lr": torch.tensor([0.05, 0.1, 0.3])})
    return fit(pop, opt, (x, y), (x, y), TrainSpec(steps=30)).model.parameters()


def test_no_c_compiler_falls_back_to_the_tensor_path(monkeypatch):
    """Without a compiler, training runs (the tensor path, same numbers as TRAINLAB_KERNEL=0) and the
    provenance says that the kernel was unavailable and why."""
    monkeypatch.setattr(ckernel, "_LIBS", {})
    monkeypatch.setattr(ckernel, "_STATUS", {})
    monkeypatch.setattr(ckernel, "_compiler", lambda: None)
    got = _train()
    assert "unavailable" in ckernel.status()["kernel"] and "no C compiler" in ckernel.status()["kernel"]
    assert provenance()["small_net_kernel"].startswith("unavailable")
    monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    for a, b in zip(got, _train()):
        assert torch.equal(a, b)


def test_provenance_names_the_cpu_and_the_kernel_state(monkeypatch):
    monkeypatch.setattr(ckernel, "_STATUS", {})
    p = provenance()
    assert set(p["cpu"]) == {"model", "features"}
    assert p["small_net_kernel"].startswith("not used in this process")
    monkeypatch.setenv("TRAINLAB_KERNEL", "0")
    assert provenance()["small_net_kernel"].startswith("off (TRAINLAB_KERNEL=0)")


def test_kernel_rule_bounds_the_parameters():
    """The unrolled kernel's compile time grows with the parameters: nets over MAX_PARAMS take the
    tensor path (a 2-32-32-2 net, 1,218 parameters, compiled for ~10 s)."""
    assert ckernel.applies((2, 6, 3, 2), "relu", "cross_entropy")
    assert ckernel.applies((2, 16, 16, 2), "relu", "cross_entropy")  # 354 parameters
    assert not ckernel.applies((2, 32, 32, 2), "relu", "cross_entropy")
    assert not ckernel.applies((2, ckernel.MAX_WIDTH + 1, 2), "relu", "cross_entropy")


def test_a_compiler_that_hangs_is_ended_with_its_children(tmp_path):
    """A timeout kills the compiler's whole process group (a grandchild included) and says why."""
    marker = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {marker}; wait"
    with pytest.raises(RuntimeError, match="took over"):
        ckernel._compile(["sh", "-c", script], timeout=1)
    stat = Path(f"/proc/{int(marker.read_text())}/stat")
    time.sleep(0.2)
    # gone, or a zombie waiting for its new parent to reap it: either way no longer running
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
