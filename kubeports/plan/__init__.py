"""Offline plans and their diffs: the real Pulumi program under Pulumi's mock runtime.

Rules of this room:
- `offline` runs `__main__.py` unchanged with `set_mocks(..., preview=False)`; no cloud
  is contacted and no provider plugin runs, and every output says so;
- `compare` is pure (plan JSON in, diff out) and holds the replace/update table;
- `refs` materialises git refs and runs each side's own code in a subprocess;
- imports the core, render and this room: never the cli.
"""
