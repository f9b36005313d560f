"""The ``photogan`` command line: argument parsing and terminal progress over :mod:`photogan.app`."""
