"""Read the `kubeports:*` config the Pulumi engine hands the program.

Imported only by the Pulumi program. pulumi.Config reads one known key at a time; to
report a misspelt `kubeports:` key we need all of them, so this reads the engine's
whole config map (the same map pulumi.Config reads from).
"""
from __future__ import annotations

import json
from typing import Any

from pulumi.runtime import config as runtime_config


def kubeports_config() -> dict[str, Any]:
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key.startswith("kubeports:"):
            out[key] = _decode(raw)
    return out


def _decode(raw: Any) -> Any:
    """Objects arrive JSON-encoded; plain strings stay strings."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw
