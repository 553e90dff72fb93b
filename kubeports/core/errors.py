"""Errors that reach a user: always one line, `path:line: field: message`.

Code in the core collects these instead of raising on the first problem, so that
`kubeports lint` can report every problem in every file at once.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{_printable(self.path)}:{self.line}: {_printable(self.field)}: {_printable(self.message)}"


def _printable(text: str) -> str:
    """Escape what would break the one-line promise or reach a terminal raw (newlines,
    U+2028, escape sequences): a message may quote a hostile file."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class At(ValueError):
    """A validator's error about a part of the value it checks: `loc` extends the
    location pydantic reports, so the problem names that key and carries its line."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc


class KubeportsError(Exception):
    """Raised with every problem found; `str()` is one line per problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class ProgramError(Exception):
    """An exception raised in the user's own Pulumi program (or a module of its project)
    while kubeports ran it: a user error naming the program's line, not kubeports' bug.
    `trace` is the full traceback, which `--debug` (or KUBEPORTS_DEBUG=1) prints."""

    def __init__(self, problem: Problem, trace: str):
        self.problem = problem
        self.trace = trace
        super().__init__(str(problem))
