"""Entry point of the bundled desktop app (``photogan-gui``)."""

import sys

from photogan.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
