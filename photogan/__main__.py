"""``python -m photogan`` runs the command line."""

from photogan.cli.main import main

raise SystemExit(main())
