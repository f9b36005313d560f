"""Entry point of the bundled command line (``photogan``)."""

import sys

from photogan.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
