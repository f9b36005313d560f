"""``python -m training``: see :mod:`training.cli`."""

import sys

from training.cli import main

if __name__ == "__main__":  # not when a process spawned by multiprocessing imports it
    sys.exit(main())
