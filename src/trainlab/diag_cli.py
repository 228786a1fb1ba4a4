"""Typer-free entry points for ``trainlab doctor`` and ``trainlab lr-find``.

The CLI stays thin: it parses arguments and calls ``doctor_main`` / ``lr_find_main``, which
return the process exit code (shared/design.md: 0 ok, 1 a doctor error or a failed test,
2 bad usage). The set-up to check comes from one of:

- ``python="file.py:function"``: the function returns (model, optimizer, batches[, loss_fn]);
- ``target`` (a config path) plus ``build``: a callable the CLI passes that turns the config
  into the same tuple (config-based model building lives with the config code);
- ``built``: the tuple itself, for library use and tests.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from trainlab.diagnose.doctor import default_loss_fn, load_python_target, print_report, run_doctor
from trainlab.diagnose.lr_find import lr_find, plot_lr_find
from trainlab.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError
from trainlab.runs.io import write_json_atomic

Built = Sequence[Any]  # (model, optimizer, batches) or (model, optimizer, batches, loss_fn)
Builder = Callable[[str], Built]


def _console(console: Any) -> Any:
    if console is not None:
        return console
    from rich.console import Console
    return Console()


def _error(given: Any, message: str) -> None:
    """A usage error: to the caller's console if it gave one, else to stderr (as the other commands do)."""
    if given is None:
        from rich.console import Console
        given = Console(stderr=True, soft_wrap=True)
    given.print(f"[red]error:[/red] {message}")


def resolve_setup(target: str | None = None, python: str | None = None,
                  build: Builder | None = None, built: Built | None = None) -> tuple[Any, Any, Any, Any]:
    """(model, optimizer, batches, loss_fn or None) from exactly one of the three sources."""
    given = [name for name, v in (("CONFIG", target), ("--python", python), ("built", built)) if v]
    if len(given) != 1:
        raise UsageError(f"give exactly one of CONFIG or --python FILE:FUNCTION (got {given or 'none'})")
    if python:
        return load_python_target(python)
    if target:
        if build is None:
            raise UsageError("this command cannot build a model from a config here; use --python FILE:FUNCTION")
        built = build(target)
    assert built is not None
    if len(built) not in (3, 4):
        raise UsageError(f"expected (model, optimizer, batches[, loss_fn]), got {len(built)} values")
    return built[0], built[1], built[2], built[3] if len(built) == 4 else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_json_atomic(Path(path), data)


def doctor_main(target: str | None = None, python: str | None = None, *, build: Builder | None = None,
                built: Built | None = None, n_classes: int | None = None, steps: int = 100,
                overfit_steps: int = 500, json_out: Path | None = None, console: Any = None,
                err_console: Any = None) -> int:
    """Run the doctor, print its report and findings; return 0, 1 (an error finding) or 2."""
    given, console = err_console or console, _console(console)
    try:
        model, optimizer, batches, loss_fn = resolve_setup(target, python, build, built)
        report = run_doctor(model, optimizer, batches, loss_fn=loss_fn, n_classes=n_classes,
                            steps=steps, overfit_steps=overfit_steps)
    except UsageError as e:
        _error(given, str(e))
        return EXIT_USAGE
    print_report(report, console)
    if json_out is not None:
        _write_json(Path(json_out), {"made_by": "trainlab doctor"} | report.to_dict())
    return report.exit_code


def lr_find_main(target: str | None = None, python: str | None = None, *, build: Builder | None = None,
                 built: Built | None = None, out: Path | None = None, lr_min: float = 1e-7,
                 lr_max: float = 10.0, steps: int = 100, console: Any = None, err_console: Any = None,
                 shown_out: Path | None = None) -> int:
    """Run the LR range test, print the suggestion, write lr_find.png/json under ``out``
    (``shown_out``: the folder to name in messages, when ``out`` is a temporary one).

    Returns 1 when no learning rate could be suggested (the loss diverged at once).
    """
    given, console = err_console or console, _console(console)
    try:
        model, optimizer, batches, loss_fn = resolve_setup(target, python, build, built)
        if loss_fn is None:
            first = next(iter(batches), None)
            if first is None:
                raise UsageError("batches is empty: give at least one (inputs, targets) batch")
            loss_fn = default_loss_fn(first[1])
        result = lr_find(model, optimizer, batches, loss_fn, lr_min=lr_min, lr_max=lr_max, steps=steps)
    except (UsageError, ValueError) as e:
        _error(given, str(e))
        return EXIT_USAGE
    console.print(f"LR range test: {len(result.lrs)} steps from {result.lrs[0]:.2g} to "
                  f"{result.lrs[-1]:.2g}" if result.lrs else "LR range test: no steps ran")
    if result.suggestion is None:
        console.print(f"[red]no suggestion:[/red] {result.reason}")
    else:
        console.print(f"suggested lr: [bold]{result.suggestion:.3g}[/bold] ({result.reason})")
    if out is not None:
        out = Path(out)
        plot_lr_find(result, out / "lr_find.png")
        _write_json(out / "lr_find.json", result.to_dict())
        shown = Path(shown_out) if shown_out is not None else out
        console.print(f"wrote {shown / 'lr_find.png'} and {shown / 'lr_find.json'}")
    return EXIT_OK if result.suggestion is not None else EXIT_FAILURE
