"""`kubeports` command line: argument parsing and printing only.

Rules of this room:
- `commands.py` is the one table of every command: its arguments and the function
  that runs it; no command registers itself, and commands that need Pulumi import it
  only when they run;
- a command parses, calls the core / render / plan rooms, prints, returns an exit code;
- nothing outside this room imports it (the console script and `python -m kubeports` call `main`).
"""
from .app import entry, main

__all__ = ["entry", "main"]
