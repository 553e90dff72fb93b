""""Did you mean": the closest known name to a misspelt one, for the one error line.

Rules of this file:
- a suggestion is at most one name, from difflib's ratio (cutoff 0.6, as the Python
  interpreter's own NameError hints are close to); no close name, no hint;
- a list of known names is never empty in a message: it says `none` (and callers say why);
- `keys_at` walks a pydantic model the way pydantic reports locations (field aliases,
  dict keys, list indexes), so an unknown key is matched against the keys allowed there.
"""
from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def closest(word: Any, known: Iterable[Any]) -> str | None:
    names = sorted({str(k) for k in known})
    found = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: Any, known: Iterable[Any]) -> str:
    """`; did you mean 'worker'?` or the empty string."""
    found = closest(word, known)
    return f"; did you mean {found!r}?" if found is not None and found != str(word) else ""


def known_list(names: Iterable[Any]) -> str:
    return ", ".join(sorted({str(n) for n in names})) or "none"


def literal_choices(message: str) -> list[str]:
    """The choices pydantic lists in a literal error: "Input should be 'a', 'b' or 'c'"."""
    return re.findall(r"'([^']*)'", message.split("Input should be ", 1)[-1])


def keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys accepted where `loc` (a pydantic error location ending at an unknown key) sits."""
    annotation: Any = model
    for part in loc[:-1]:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    found = _model_of(annotation)
    if found is None:
        return []
    return [field.alias or name for name, field in found.model_fields.items()]


def _arms(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Optional/Union arms, Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _arms(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _arms(arg)]
    return [annotation]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for arm in _arms(annotation):
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            return arm
    return None


def _step(annotation: Any, part: Any) -> Any:
    for arm in _arms(annotation):
        if isinstance(arm, type) and issubclass(arm, BaseModel):
            for name, field in arm.model_fields.items():
                if part in (name, field.alias):
                    return field.annotation
        origin = typing.get_origin(arm)
        if origin is dict:
            return typing.get_args(arm)[1]
        if origin in (list, tuple) and isinstance(part, int):
            return typing.get_args(arm)[0]
    return None
