"""Whose bug is it: an exception out of the Pulumi program that `kubeports plan` ran.

Rules of this file:
- a frame counts as the user's when its file is under the program's directory and is not
  kubeports' own code (in a checkout the program sits beside kubeports/ and components/);
- of the user's and kubeports' frames, the last one decides: the user's names the line (a
  bug in their code, a wrong call of kubeports); kubeports' makes it an internal error
  (exit 70), even when the user's code called it; other packages' frames decide nothing;
- the message stays one line; the traceback is kept for `--debug`.
"""
from __future__ import annotations

import importlib.util
import os
import traceback

from kubeports.core.errors import Problem, ProgramError
from kubeports.core.paths import display_path


def _own_dirs() -> tuple[str, ...]:
    """kubeports' package directories: located, not imported (this room never imports the components)."""
    dirs = []
    for name in ("kubeports", "kubeports.components"):
        spec = importlib.util.find_spec(name)
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.abspath(location) + os.sep)
    return tuple(dirs)


def user_frame(exc: BaseException, program: str) -> traceback.FrameSummary | None:
    """The frame of `exc` to blame on the user: the last frame that is the user's or
    kubeports', when it is the user's. Frames of the standard library, Pulumi or other
    packages are tools either side called, so they decide nothing."""
    home = os.path.dirname(os.path.abspath(program)) + os.sep
    own = _own_dirs()
    last: tuple[str, traceback.FrameSummary] | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.abspath(frame.filename)
        if path.startswith(own):
            last = ("kubeports", frame)
        elif path.startswith(home) and f"{os.sep}site-packages{os.sep}" not in path:
            last = ("user", frame)
    return last[1] if last is not None and last[0] == "user" else None


def program_failure(exc: Exception, program: str) -> ProgramError | None:
    """A ProgramError naming the user's line, or None when the exception is not theirs."""
    frame = user_frame(exc, program)
    if frame is None:
        return None
    message = (f"{type(exc).__name__}: {exc}".strip().splitlines() or [type(exc).__name__])[0]
    trace = "".join(traceback.format_exception(exc))
    return ProgramError(Problem(display_path(frame.filename), frame.lineno or 1, "(program)", message), trace)
