"""The PySide6 desktop app: the only package that imports Qt. Widgets talk to :mod:`photogan.app` through worker
threads and signals; no image maths lives here."""

from photogan.gui import qtcompat as _qtcompat  # noqa: F401  (must run before any widget is used)
