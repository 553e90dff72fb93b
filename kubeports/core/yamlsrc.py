"""Read YAML into plain Python values plus a map from each value's path to its line.

Why not `yaml.safe_load`: it forgets where things were, and every error we print
must name `path:line`. It also silently keeps the last of two duplicate keys, which
hides typos in a port table. Rules of this file:
- only plain data: mappings with scalar keys, sequences, scalars (no merge keys);
- a syntax error, a duplicate key, an empty document or too deep a nesting is a
  Problem, never an exception escaping to the user;
- `load_shared` parses a given text once per process (the catalog: a `kubeports diff`
  side loads it three times per stack, and composing YAML in pure Python was over half
  of that process's CPU); its callers only read what it returns;
- libyaml composes what it accepts and nests within MAX_DEPTH (the same nodes, tags and
  lines as the pure-Python composer); anything else goes through the pure-Python
  composer, so every error and limit reads as it always did.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .errors import Problem
from .paths import display_path

Path = tuple[str | int, ...]
MAX_DEPTH = 64  # hostile input: deeply nested or self-referencing aliases
MAX_NODES = 100_000  # hostile input: aliases of aliases that expand exponentially ("billion laughs")


class _Loader(yaml.SafeLoader):
    """PyYAML composes nested collections recursively, so `[[[[...]]]]` a few thousand
    deep raised RecursionError: stop composing past MAX_DEPTH (with a mark, so a line)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 2:  # a little slack: _build reports 65-deep with the key's path
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


@dataclass
class Located:
    """A parsed document and the 1-based line of every key and item in it."""

    path: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, loc: Path) -> int:
        """The line of the deepest known prefix of `loc` (a pydantic error location)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1


class _Reject(Exception):
    def __init__(self, line: int, field_: str, message: str):
        self.line, self.field, self.message = line, field_, message


def dotted(loc: Path) -> str:
    """`("flows", 3, "ports")` -> `flows[3].ports`; the empty path is the document.
    A key that would not read as one (empty, blank-edged, unprintable) is shown quoted."""
    out = ""
    for part in loc:
        if not isinstance(part, int):
            text = str(part)
            part = text if text and text.isprintable() and text == text.strip() else repr(text)
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


class _TooDeep(Exception):
    pass


_CLoader = getattr(yaml, "CSafeLoader", None)  # PyYAML built with libyaml (its wheels are)


def _compose(text: str) -> yaml.Node | None:
    """libyaml's composer (some 10x faster) once libyaml's own events show the document
    nests no deeper than the pure-Python composer allows (libyaml composes recursively in
    C, where depth is not bounded); otherwise, and for every document libyaml refuses,
    the pure-Python composer, whose depth stop and error messages this file reports."""
    if _CLoader is not None:
        try:
            depth = 0
            for event in yaml.parse(text, Loader=_CLoader):
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > MAX_DEPTH + 2:
                        raise _TooDeep
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
            return yaml.compose(text, Loader=_CLoader)  # type: ignore[no-any-return]
        except (yaml.YAMLError, _TooDeep):
            pass
    return yaml.compose(text, Loader=_Loader)  # type: ignore[no-any-return]


def load_text(text: str, path: str) -> tuple[Located | None, list[Problem]]:
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or exc.context or "invalid YAML").strip()
        return None, [Problem(path, line, "(syntax)", f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:  # reader errors (bad bytes) carry no mark
        return None, [Problem(path, 1, "(syntax)", f"YAML syntax error: {exc}".splitlines()[0])]
    if node is None:
        return None, [Problem(path, 1, "(document)", "file is empty")]
    doc = Located(path, None)
    try:
        doc.data = _build(node, (), doc.lines, SafeConstructor(), 0, [0])
    except _Reject as rej:
        return None, [Problem(path, rej.line, rej.field, rej.message)]
    return doc, []


def load_file(path: str) -> tuple[Located | None, list[Problem]]:
    """Read and parse `path`; problems and line maps name it as `display_path` shows it."""
    real, path = path, display_path(path)
    try:
        with open(real, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        return None, [Problem(path, 1, "(file)", "not UTF-8 text")]
    except OSError as exc:
        return None, [Problem(path, 1, "(file)", f"cannot read: {exc.strerror}")]
    return load_text(text, path)


def load_shared(path: str) -> tuple[Located | None, list[Problem]]:
    """load_file, the parse shared by every caller that reads the same text under the same
    name: the file is read each time (an edit is seen), parsed once. Do not mutate the result."""
    real, path = path, display_path(path)
    try:
        with open(real, encoding="utf-8") as handle:
            text = handle.read()
    except (UnicodeDecodeError, OSError):
        return load_file(real)
    doc, problems = _parsed(text, path)
    return doc, list(problems)


@functools.lru_cache(maxsize=256)
def _parsed(text: str, path: str) -> tuple[Located | None, tuple[Problem, ...]]:
    doc, problems = load_text(text, path)
    return doc, tuple(problems)


def _build(node: yaml.Node, loc: Path, lines: dict[Path, int], ctor: SafeConstructor, depth: int,
           built: list[int]) -> Any:
    line = node.start_mark.line + 1
    lines.setdefault(loc, line)
    if depth > MAX_DEPTH:
        raise _Reject(line, dotted(loc), f"nested deeper than {MAX_DEPTH} levels")
    built[0] += 1
    if built[0] > MAX_NODES:
        raise _Reject(line, dotted(loc), f"more than {MAX_NODES} values; do aliases expand into each other?")
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Reject(key_node.start_mark.line + 1, dotted(loc), "keys must be plain scalars")
            key = _scalar(key_node, ctor, loc)
            if isinstance(key, bool | float) or key is None:
                key = str(key_node.value)
            if key in out:
                raise _Reject(key_node.start_mark.line + 1, dotted(loc + (key,)), "duplicate key")
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, loc + (key,), lines, ctor, depth + 1, built)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, loc + (i,), lines, ctor, depth + 1, built) for i, item in enumerate(node.value)]
    return _scalar(node, ctor, loc)


def _scalar(node: yaml.Node, ctor: SafeConstructor, loc: Path) -> Any:
    try:
        return ctor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise _Reject(node.start_mark.line + 1, dotted(loc), f"bad value: {exc}".splitlines()[0]) from None
