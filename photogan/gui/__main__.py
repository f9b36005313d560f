import sys

from photogan.gui.app import main

sys.exit(main())
