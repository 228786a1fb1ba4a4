"""Where chunks train: in this process (``local``) or as tasks on a Ray cluster (``ray``).

Both run a list of ``ChunkTask`` and hand each finished chunk's rows to ``commit(task, rows)`` in
this (the driver) process, which writes it atomically. So the driver alone writes the folder, a
chunk counts once however often it ran, and the tables are the same whichever backend trained
them (each member's result depends only on its own seed and values, and the chunks are the same).

Ray: with no address a local Ray instance starts (``ray.init()``); with ``--address`` the tasks go
to an existing cluster (``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on
the others; trainlab must be installed on every node). A task whose worker dies (a crashed
process or node) is retried by Ray up to ``max_retries`` times; its result is committed once, when
it first comes back.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Optional

from trainlab.errors import UsageError
from trainlab.sweep.chunks import die_once_for_tests, train_chunk
from trainlab.sweep.plan import ChunkTask

Commit = Callable[[ChunkTask, list[dict]], None]


class LocalBackend:
    """Chunks one after another in this process, with per-step progress and optional callbacks."""

    name = "local"
    supports_callbacks = True

    def __init__(self, device: str = "cpu"):
        self.device = device

    def run(self, tasks: list[ChunkTask], commit: Commit, progress: Any = None,
            callbacks_for: Optional[Callable[[ChunkTask], list]] = None) -> None:
        for task in tasks:
            def step(n: int, total: Optional[int] = None, _k: int = task.n_members) -> None:
                if progress is not None and n:
                    progress.advance(n * _k)
            rows = train_chunk(task, self.device, step, callbacks_for(task) if callbacks_for else None)
            commit(task, rows)

    def close(self) -> None:
        pass


def _ray_task(task_json: dict, device: str) -> list[dict]:
    """What a Ray worker runs: one chunk (threads: Ray gives each 1-CPU task OMP_NUM_THREADS=1)."""
    die_once_for_tests()
    import torch

    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    return train_chunk(ChunkTask.from_json(task_json), device)


class RayBackend:
    """Chunks as Ray tasks; results committed by the driver as they come back (any order)."""

    name = "ray"
    supports_callbacks = False

    def __init__(self, address: Optional[str] = None, num_cpus: Optional[int] = None, max_retries: int = 3,
                 device: str = "cpu", max_in_flight: Optional[int] = None):
        try:
            import ray
        except ImportError:
            raise UsageError("--backend ray needs Ray: pip install 'trainlab[ray]'") from None
        self.ray = ray
        self.device = device
        self.started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            try:
                ray.init(**kwargs)
            except (ConnectionError, ValueError, RuntimeError) as e:
                raise UsageError(f"cannot start or reach Ray{f' at {address}' if address else ''}: {e}") from None
            self.started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.max_in_flight = max_in_flight or max(2 * cpus, 2)  # bounds the driver's memory for results
        self.remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_ray_task)

    def run(self, tasks: list[ChunkTask], commit: Commit, progress: Any = None,
            callbacks_for: Optional[Callable[[ChunkTask], list]] = None) -> None:
        ray = self.ray
        queue = list(tasks)
        running: dict[Any, ChunkTask] = {}
        try:
            while queue or running:
                while queue and len(running) < self.max_in_flight:
                    t = queue.pop(0)
                    running[self.remote.remote(t.to_json(), self.device)] = t
                ready, _ = ray.wait(list(running), num_returns=1)
                for ref in ready:
                    task = running.pop(ref)
                    rows = ray.get(ref)  # a task that failed for good raises here
                    commit(task, rows)
                    if progress is not None:
                        progress.advance(task.n_members * task.steps)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def make_backend(name: str, address: Optional[str] = None, device: str = "cpu", num_cpus: Optional[int] = None):
    if name == "local":
        if address:
            raise UsageError("--address needs --backend ray")
        return LocalBackend(device)
    if name == "ray":
        return RayBackend(address, num_cpus=num_cpus, device=device)
    raise UsageError(f"unknown --backend {name!r}; valid: local, ray")
