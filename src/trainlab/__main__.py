"""``trainlab`` and ``python -m trainlab``: the entry point, kept free of heavy imports.

The SIGINT handler goes in before typer, rich or torch are imported, so Ctrl-C during start-up
also ends with exit 130 and no traceback.
"""
from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130  # trainlab.errors.EXIT_INTERRUPTED, repeated to import nothing here


def main() -> None:
    try:
        from trainlab import interrupts

        interrupts.install()
        from trainlab.cli import run

        rc = run()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        rc = EXIT_INTERRUPTED
    if rc == EXIT_INTERRUPTED:
        # CPython remembers a KeyboardInterrupt that escaped code run through PyRun_* (as some
        # imports do) and then ends the process by SIGINT instead of the exit code we chose (-2, not
        # 130). Every file is already written or cleaned up: flush and leave with 130 ourselves.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    sys.exit(rc)


if __name__ == "__main__":
    main()
