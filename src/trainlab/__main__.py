"""``trainlab`` and ``python -m trainlab``: the entry point, kept free of heavy imports.

The SIGINT handler goes in before typer, rich or torch are imported, so Ctrl-C during start-up
also ends with exit 130 and no traceback.
"""
from __future__ import annotations

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
    sys.exit(rc)


if __name__ == "__main__":
    main()
