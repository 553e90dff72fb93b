"""Where things are, and how paths are shown: relative to the repository when inside it,
so that `sources` and error messages read the same from any working directory."""
from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTSPECS = os.path.join(ROOT, "portspecs")


def display_path(path: str) -> str:
    full = os.path.abspath(path)
    if full == ROOT or full.startswith(ROOT + os.sep):
        return os.path.relpath(full, ROOT)
    return path
