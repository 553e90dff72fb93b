"""The provider process: the SDK's component provider, constructing kubeports.components.Cluster.

What the SDK's `component_provider_host(components, name)` does is two calls:
`pulumi.provider.main(ComponentProvider(components, name, version=...), argv)`, i.e. infer
the schema from the declarations and serve Construct over gRPC. `serve()` makes the same
two calls with one subclass, because kubeports' Cluster is built from validated settings,
not from the SDK's mapped arguments:
- `construct` turns the inputs back into a stack's `kubeports:*` config (the schema's
  names are the stack keys) and builds the Cluster from it with `Cluster.from_config`,
  the call the Python program's `Cluster.from_stack_config` makes, so both register the
  same resources;
- bad input raises an InputPropertiesError: the engine shows each problem on its input's
  path with the one-line message, no traceback, and nothing was registered;
- the schema it serves carries the settings' descriptions (schema.describe).
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import version as package_version
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyError
from pulumi.output import Unknown
from pulumi.provider import ConstructResult, main
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ComponentInitError
from pulumi.resource import DependencyResource
from pulumi.runtime import rpc

from kubeports.components import Cluster
from kubeports.core.errors import KubeportsError
from kubeports.core.settings import NAMESPACE

from .schema import PACKAGE, TOKEN, describe
from .schema import Cluster as Declaration

VERSION = package_version("kubeports")


class ClusterProvider(ComponentProvider):
    """The package `kubeports` with its one component, `kubeports:index:Cluster`."""

    def __init__(self, version: str = VERSION) -> None:
        super().__init__([Declaration], PACKAGE, version=version)
        self.schema = json.dumps(describe(json.loads(self.schema or "{}")), sort_keys=True)

    def construct(self, name: str, resource_type: str, inputs: Any,
                  options: pulumi.ResourceOptions | None = None) -> ConstructResult:
        if resource_type != TOKEN:
            raise pulumi.RunError(f"unknown resource type {resource_type}; this package has {TOKEN}")  # no traceback
        config = stack_config(inputs)
        _parent_protects_nothing(options)
        where = f"{TOKEN} {name}"  # no stack file: errors name the resource (line 1)
        try:
            cluster = Cluster.from_config(name, config, options, stack_file=where)
        except pulumi.RunError as exc:  # bad input: raised while handling the project's KubeportsError
            if isinstance(exc.__context__, KubeportsError):
                raise input_errors(exc.__context__) from None
            raise
        except Exception as exc:  # noqa: BLE001 - as the SDK does: the engine shows the component's own frames
            raise ComponentInitError(exc) from exc
        return ConstructResult(cluster.urn, outputs_of(cluster))


def _parent_protects_nothing(options: pulumi.ResourceOptions | None) -> None:
    """The component's parent reaches a provider as a DependencyResource (pulumi/provider/
    server.py, _construct_options), which the SDK leaves without `_protect`; a resource made
    with its own `ResourceOptions(parent=that)` (the peer stack's StackReference) inherits
    it (pulumi/resource.py: `opts.protect = opts.parent._protect`) and failed. The engine
    does not say whether that parent is protected: False, as a resource of the root stack."""
    parent = options.parent if options is not None else None
    if isinstance(parent, DependencyResource) and not hasattr(parent, "_protect"):
        parent._protect = False


def stack_config(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs as a stack file's config: `kubeports:<input>` -> value, integral numbers as
    ints (protobuf carries every number as a double). An Output (a secret, or a value with
    dependencies) is refused: settings are checked before any resource exists."""
    for key, value in inputs.items():
        _plain(value, key)
    return {f"{NAMESPACE}{key}": _ints(value) for key, value in inputs.items()}


def _plain(value: Any, path: str) -> None:
    """Refuse what is not plain data: an Output (the SDK makes one of an input holding a
    secret or an unknown anywhere, or with dependencies), an unknown (computed later)."""
    if isinstance(value, pulumi.Output | Unknown) or rpc.is_rpc_secret(value):
        raise InputPropertyError(path, "must be a plain value, known before any resource exists (no Output or secret)")
    if isinstance(value, dict):
        for key, item in value.items():
            _plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _plain(item, f"{path}[{i}]")


def _ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def input_errors(exc: KubeportsError) -> InputPropertiesError:
    """Each problem on its input's path (`config.kubeports:cluster.roles` -> `cluster.roles`)."""
    prefix = f"config.{NAMESPACE}"
    errors = [{"property_path": p.field.removeprefix(prefix).removeprefix(NAMESPACE), "reason": p.message}
              for p in exc.problems]
    return InputPropertiesError(str(exc), errors)  # type: ignore[arg-type]


def outputs_of(cluster: Cluster) -> dict[str, Any]:
    """The outputs the schema declares, by their schema names."""
    outputs: dict[str, Any] = {
        "securityGroupIds": cluster.security_group_ids,
        "apiEndpoint": cluster.api_endpoint,
        "privateIps": {role: part.private_ips for role, part in cluster.roles.items()},
        "publicIps": {role: part.public_ips for role, part in cluster.roles.items() if part.public},
        "instanceIds": {role: part.instance_ids for role, part in cluster.roles.items()},
        "nodes": {role: part.node_records.apply(_schema_names) for role, part in cluster.roles.items()},
    }
    if cluster.load_balancer is not None:
        outputs["loadBalancerAddress"] = cluster.load_balancer.address
    return outputs


def _schema_names(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`nodes` records with the schema's names (`private_ip` -> `privateIp`), no empty pool."""
    return [{camel_case(k): v for k, v in record.items() if v is not None} for record in records]


def schema(version: str = VERSION) -> dict[str, Any]:
    """The package schema, as GetSchema serves it and provider/schema.json holds it."""
    return json.loads(ClusterProvider(version).schema or "{}")  # type: ignore[no-any-return]


def serve() -> None:
    """Serve the package: print the port, answer the engine (argv: the engine's address)."""
    main(ClusterProvider(), sys.argv[1:])
