"""Errors a user can cause, and the exit codes of shared/design.md.

A ``UsageError`` is a bad config, bad data or bad usage: the CLI prints its one-line message
(no traceback) and exits 2. Everything else is a bug or a failed run.
"""
from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the command ran and found failure (a doctor error, a failed study)
EXIT_USAGE = 2  # bad usage, config or data
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad config, data or usage. Its message names the bad value and what would be valid."""


class DataError(UsageError):
    """Data that is missing, corrupt or of the wrong shape. The message names the file and the fix."""
