"""Where things are, and how paths are shown: relative to the repository when inside it,
so that `sources` and error messages read the same from any working directory.

Two layouts:
- a source checkout (also an editable install): ROOT is the checkout and the catalog
  is its `portspecs/`, the only copy in the repository;
- an installed wheel (`pip install git+…`): there is no checkout, so ROOT is the
  current directory (your own Pulumi project) and the catalog is the copy shipped as
  package data in `kubeports/_portspecs/` (built from `portspecs/`, see pyproject.toml).
"""
from __future__ import annotations

import os
from importlib import resources

_SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SOURCE_PORTSPECS = os.path.join(_SOURCE_ROOT, "portspecs")
IN_SOURCE_TREE = os.path.isdir(_SOURCE_PORTSPECS)


def packaged_portspecs() -> str:
    """The catalog shipped inside the installed package (a directory on disk)."""
    return str(resources.files("kubeports") / "_portspecs")


ROOT = _SOURCE_ROOT if IN_SOURCE_TREE else os.getcwd()
PORTSPECS = _SOURCE_PORTSPECS if IN_SOURCE_TREE else packaged_portspecs()


def display_path(path: str) -> str:
    """Relative to ROOT when inside it; the packaged catalog reads `portspecs/<file>`, as
    in a checkout, so rule sources do not depend on where the package is installed."""
    full = os.path.abspath(path)
    if not IN_SOURCE_TREE and full.startswith(PORTSPECS + os.sep):
        return os.path.join("portspecs", os.path.relpath(full, PORTSPECS))
    if full == ROOT or full.startswith(ROOT + os.sep):
        return os.path.relpath(full, ROOT)
    return path
