"""Training-health diagnostics for any PyTorch model: a stand-alone product on the library.

- ``watch.py``: ``watch(model, optimizer, n_classes, n_samples)``, hooks that measure on a schedule;
- ``measurements.py``, ``measure_wiring.py``: what watch measures, one small class each;
  ``watch_stats.py`` and ``graph.py``: the tensor reductions and the autograd-graph walks they use;
- ``evidence.py``: ``Evidence``, the measured numbers every rule reads;
- ``checks.py``, ``checks_wiring.py``: the rules, pure functions from evidence to findings;
- ``findings.py``: the fixed vocabulary of finding codes (``CODES``, every threshold) and ``Finding``;
- ``causes.py``: the cause-and-effect table; findings grouped under their root causes;
- ``doctor.py``: pre-training checks (loss at init, init scale, overfit one batch, a probe), with
  ``numeric.py``'s gradient and regularization checks;
- ``fixes.py``, ``setup_fixes.py``, ``verify.py``: the fix table (config- and set-up-level fixes) and
  ``doctor --verify``, which tries each root cause's fix on a copy;
- ``lr_find.py``: the LR range test.

Imports go one way: this package uses ``errors`` and ``stats`` only, never ``experiments/``,
``report/`` or the CLI. Rendering (tables, plots) lives on the CLI side, in ``diag_cli.py``.
Submodules are imported by their full path (``trainlab.diagnose.watch``); the package re-exports
nothing, so ``trainlab.watch`` is always the function.
"""
