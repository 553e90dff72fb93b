"""What `pulumi config set` writes into a stack file, made into what the settings read.

Rules of this file:
- `pulumi config set kubeports:cluster '{...}'` (no `--path`) stores the object as a JSON
  string, and the Pulumi runtime hands the program the decoded object: a `kubeports:` value
  that is a string starting with `{` or `[` is decoded here the same way, so the offline
  commands and the program read one thing;
- a `{secure: ...}` mapping is ciphertext (`pulumi config set --secret`): never decrypted,
  never printed. Only SECRET_KEYS may hold one: values handed to a resource as they are,
  which nothing offline reads. Anywhere else a secret is refused in one line, because
  kubeports resolves rules and names resources from every other value before anything runs;
- a secret becomes a `Secret`, whose repr is `[secret]`; a cloud module hands its value to
  Pulumi as `pulumi.Output.secret` (components/backend.py).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Problem
from .yamlsrc import Located, dotted

SECRET_KEYS: tuple[tuple[str, ...], ...] = (("kubeports:openstack", "userData"), ("kubeports:aws", "userData"))
SHOWN = "[secret]"


@dataclass(frozen=True, repr=False)
class Secret:
    """A secret setting. `value` is its plain text where the Pulumi runtime decrypted it;
    None offline, where only the ciphertext is known."""

    value: str | None = None

    def __repr__(self) -> str:
        return SHOWN

    __str__ = __repr__


def is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def decode_json_strings(config: Mapping[str, Any], doc: Located) -> tuple[dict[str, Any], list[Problem]]:
    """`kubeports:` values stored as JSON text, decoded as the runtime decodes them."""
    out, problems = dict(config), []
    for key, value in config.items():
        if not (isinstance(key, str) and key.startswith("kubeports:") and isinstance(value, str)):
            continue
        if not value.lstrip().startswith(("{", "[")):
            continue
        try:
            out[key] = json.loads(value)
        except ValueError as exc:
            loc = ("config", key)
            problems.append(Problem(doc.path, doc.line_of(loc), dotted(loc),
                                    f"a JSON string (as `pulumi config set` without --path stores an object) that "
                                    f"does not parse: {getattr(exc, 'msg', exc)} at character {getattr(exc, 'pos', 0) + 1}"))
    return out, problems


def secure_paths(config: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """Where the `kubeports:` config holds a `{secure: ...}` value."""
    return sorted(path for key, value in config.items()
                  if isinstance(key, str) and key.startswith("kubeports:") for path in _walk(value, (key,)))


def _walk(value: Any, path: tuple) -> Iterator[tuple]:
    if is_secure(value):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))


def with_secrets(config: Mapping[str, Any], doc: Located,
                 file_paths: Iterable[tuple[str, ...]] = ()) -> tuple[dict[str, Any], list[Problem]]:
    """Secrets become `Secret`s: the config's own `{secure: ...}` values (offline), and the
    paths the stack file marks secure (`file_paths`), where the runtime hands plain text."""
    out = _copy(config)
    problems = []
    for path in sorted(set(secure_paths(config)) | set(file_paths)):
        loc = ("config", *path)
        if path not in SECRET_KEYS:
            problems.append(Problem(doc.path, doc.line_of(loc), dotted(loc), (
                "is a secret (pulumi config set --secret), but kubeports reads this value offline to resolve rules "
                f"and name resources; only {' and '.join('.'.join(k) for k in SECRET_KEYS)} may be secret")))
            continue
        parent = _parent(out, path)
        if parent is None:
            continue
        value = parent[path[-1]]
        parent[path[-1]] = Secret(None if is_secure(value) or value is None else str(value))
    return out, problems


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _parent(config: dict[str, Any], path: tuple) -> dict[Any, Any] | None:
    node: Any = config
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) and path[-1] in node else None
