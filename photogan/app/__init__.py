"""Services shared by the command line and the desktop app (no Qt, no torch)."""
