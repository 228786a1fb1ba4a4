"""Errors a user can cause, and the exit codes (README, "Commands").

A ``UsageError`` is a bad config, bad data or bad usage: the CLI prints its one-line message
(no traceback) and exits 2. Everything else is a bug or a failed run.
"""
from __future__ import annotations

import difflib
from typing import Iterable

EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found failure (a doctor error, a failed study)
EXIT_USAGE = 2  # bad usage, config or data
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad config, data or usage. Its message names the bad value and what would be valid."""


class DataError(UsageError):
    """Data that is missing, corrupt or of the wrong shape. The message names the file and the fix."""


def unknown_choice(what: str, value: object, valid: Iterable[str], *, where: str = "", verdict: str = "",
                   label: str = "valid", cutoff: float = 0.6, suggestion: str | None = None,
                   show_valid: bool = True) -> str:
    """The one message for a name that is not in a table, with the nearest valid name.

    ``unknown {what} {value!r}{where} (did you mean 'x'?); {label}: a, b, c``. ``where`` places the
    name (`` for transform 'scale'``); ``verdict`` replaces "unknown" when the name exists but is
    not allowed here (``{what} {value!r} {verdict} (did you mean ...``); ``suggestion`` replaces the
    nearest match (for a caller that searches in stages); ``show_valid=False`` leaves the list out.
    Callers raise it as the error type of their layer (``UsageError``, or ``ValueError`` inside a
    pydantic validator).
    """
    valid = [str(v) for v in valid]
    if suggestion is None:
        near = difflib.get_close_matches(str(value), valid, n=1, cutoff=cutoff)
        suggestion = near[0] if near else None
    hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
    listed = f"; {label}: {', '.join(valid) or 'none'}" if show_valid else ""
    named = f"{what} {value!r}{where} {verdict}" if verdict else f"unknown {what} {value!r}{where}"
    return f"{named}{hint}{listed}"
