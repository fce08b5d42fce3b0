"""PyInstaller entry point of both executables (``playground`` windowed, ``playground-cli`` console).

Same behaviour as the ``playground`` console script (``playground.cli:main``): no arguments opens the
app, sub-commands (train, info, export, bench, sweep) run in the terminal.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app re-executes itself for worker processes
    from playground.cli import main

    sys.exit(main())
