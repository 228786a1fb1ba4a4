"""Training-health diagnostics for any PyTorch model: a stand-alone product on the library.

- ``watch.py``: ``watch(model, optimizer, n_classes)``, hooks that measure on a schedule;
- ``watch_stats.py``: the tensor-to-number reductions the measurements use;
- ``checks.py``: the rules, pure functions from an ``Evidence`` record to findings;
- ``findings.py``: the fixed vocabulary of finding codes (``CODES``) and ``Finding``;
- ``doctor.py``: pre-training checks (loss at init, init scale, overfit one batch, a probe);
- ``lr_find.py``: the LR range test.

Imports go one way: this package uses ``errors`` and ``stats`` only, never ``experiments/``,
``report/`` or the CLI. Rendering (tables, plots) lives on the CLI side, in ``diag_cli.py``.
Submodules are imported by their full path (``trainlab.diagnose.watch``); the package re-exports
nothing, so ``trainlab.watch`` is always the function.
"""
