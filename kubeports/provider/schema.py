"""The package's schema: declarations the Python SDK's analyzer reads, and the schema it infers.

Rules of this file:
- the inputs are the stack-config shape: each `kubeports:<key>` of a stack file is an input
  `<key>`, typed from the core's settings models (kubeports/core/settings.py), so a new
  stack key is a new input with no second definition; a value of several shapes (a port
  number or "LOW-HIGH") is `Any`, listed in `DECLARED.loose` and pinned by a test, and a
  type the mapping does not know stops schema generation;
- every input is plain (no Output): the inputs are validated, resolved and checked before
  any resource is registered, as a stack file is; an id from another stack comes through
  `peerStack` (a StackReference), as in Python;
- descriptions come from the models' `Field(description=...)`, written into the inferred
  schema afterwards (the analyzer reads property docs from source, which generated
  declarations have none of);
- no `from __future__ import annotations` here: the analyzer reads annotations as objects.
"""
import types
import typing
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

import pulumi
from pydantic import BaseModel, IPvAnyAddress

from kubeports.core.settings import StackConfig
from kubeports.core.stackvalues import Secret

PACKAGE = "kubeports"
TOKEN = f"{PACKAGE}:index:Cluster"
# Keys a model requires but fills in itself before checking (a "before" validator): a
# program may leave them out, so the schema must not require them. (model, key) -> when.
FILLED = {("RoleSettings", "count"): "required unless the role has pools (count per pool) or is the load-balancer role"}


class Declarations:
    """TypedDicts for the settings models, one per model, and the keys typed `Any` (`loose`)."""

    def __init__(self) -> None:
        self.types: dict[str, type] = {}
        self.loose: list[str] = []

    def of(self, model: type[BaseModel]) -> type:
        """A TypedDict of `model`'s stack keys (aliases), required where the model requires
        them (but FILLED); named as the model (`kubeports:index:<Model>`)."""
        if model.__name__ not in self.types:
            fields = {}
            for name, info in model.model_fields.items():
                key = info.alias or name
                kind = self._type(info.annotation, f"{model.__name__}.{key}")
                required = info.is_required() and (model.__name__, key) not in FILLED
                fields[key] = Required[kind] if required else NotRequired[kind]
            self.types[model.__name__] = TypedDict(model.__name__, fields)  # type: ignore[operator]
            self.types[model.__name__].__doc__ = (model.__doc__ or "").strip() or None
        return self.types[model.__name__]

    def _type(self, annotation: Any, where: str) -> Any:
        """The analyzer's type for a settings annotation (Annotated and Optional unwrapped)."""
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if origin is Annotated:
            return self._type(args[0], where)
        if origin in (typing.Union, types.UnionType):
            shapes = {self._type(a, where) for a in rest}
            if len(shapes) == 1:  # e.g. text or a secret: both text in the schema
                return shapes.pop()
        if origin is Literal and len({type(a) for a in args}) == 1:
            return type(args[0])  # checked by the settings model, which names the allowed values
        if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            return list[self._type(args[0], where)]  # type: ignore[misc]
        if origin is dict:
            return dict[str, self._type(args[1], where)]  # type: ignore[misc]
        if origin in (typing.Union, types.UnionType, Literal, tuple):
            # several shapes (a port number, "LOW-HIGH" or a named port): no one schema
            # type; the settings model checks the value and says what it accepts
            if where not in self.loose:  # once per key, also when a part of it was several shapes
                self.loose.append(where)
            return Any
        if annotation is IPvAnyAddress:
            return str
        if annotation is Secret:
            # a stack file's `secure:` value; through the package a secret is refused (plain
            # inputs, provider.py), so what a program passes here is text
            return str
        if annotation in (str, int, bool, float):
            return annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.of(annotation)
        raise TypeError(f"{where}: no schema type for {annotation!r}; map it in kubeports/provider/schema.py")


def declaration(model: type[BaseModel]) -> type:
    return Declarations().of(model)


DECLARED = Declarations()
ClusterInputs = DECLARED.of(StackConfig)


class Node(TypedDict):
    """One VM, as a bootstrapper's inventory needs it (the Python program's `nodes` output)."""

    name: str
    private_ip: str
    labels: dict[str, str]
    """its pool's labels over its role's"""
    pool: NotRequired[str]
    """its pool, for a role with pools"""
    public_ip: NotRequired[str]
    """for a role with public addresses (bastion)"""


class Cluster(pulumi.ComponentResource):
    """A Kubernetes cluster's node roles, security groups and rules, from a stack file's kubeports:* keys as inputs."""

    security_group_ids: pulumi.Output[dict[str, str]]
    """role -> its security group id (local roles)"""
    api_endpoint: pulumi.Output[str]
    """https://<API address>:<port>; the load balancer's with a load-balancer role, "" without a local control plane"""
    private_ips: pulumi.Output[dict[str, list[str]]]
    """role -> its nodes' private addresses, in node order"""
    public_ips: pulumi.Output[dict[str, list[str]]]
    """role -> its nodes' public addresses, for roles that have them (bastion)"""
    instance_ids: pulumi.Output[dict[str, list[str]]]
    """role -> its nodes' instance ids"""
    nodes: pulumi.Output[dict[str, list[Node]]]
    """role -> its nodes: name, pool, addresses, labels"""
    load_balancer_address: pulumi.Output[str | None]
    """the API load balancer's address (VIP, floating IP or DNS name), with a load-balancer role"""

    def __init__(self, name: str, args: ClusterInputs, opts: pulumi.ResourceOptions | None = None) -> None:  # type: ignore[valid-type]
        # The provider builds kubeports.components.Cluster itself (provider.py): this class
        # only declares the package's inputs and outputs to the SDK's analyzer.
        raise TypeError("kubeports.provider.schema.Cluster only declares the schema; in Python use "
                        "kubeports.components.Cluster, from another language the kubeports package")


def _describe(spec: dict[str, Any], model: type[BaseModel]) -> None:
    """Each model field's description, and the values it allows, onto its schema property."""
    for name, info in model.model_fields.items():
        filled = FILLED.get((model.__name__, info.alias or name))
        text = "; ".join(filter(None, (info.description, _choices(info.annotation), filled)))
        if text:
            spec[info.alias or name]["description"] = text


def _choices(annotation: Any) -> str:
    """The values a Literal in `annotation` allows (a string in the schema), e.g. `one of: aws, openstack`."""
    literals = [part for part in _parts(annotation) if typing.get_origin(part) is Literal]
    if not literals:
        return ""
    keys = typing.get_origin(annotation) is dict and typing.get_origin(typing.get_args(annotation)[0]) is Literal
    return ("keys " if keys else "") + "one of: " + ", ".join(str(v) for v in typing.get_args(literals[0]))


def _models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """`model` and every settings model it contains, by name."""
    out = {model.__name__: model}
    for info in model.model_fields.values():
        for part in _parts(info.annotation):
            if isinstance(part, type) and issubclass(part, BaseModel) and part.__name__ not in out:
                out.update(_models(part))
    return out


def _parts(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    return [annotation, *[p for a in args for p in _parts(a)]]


def describe(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (the analyzer's schema) with each input's description from its settings field."""
    for name, model in _models(StackConfig).items():
        if model is StackConfig:
            _describe(spec["resources"][TOKEN]["inputProperties"], model)
        else:
            _describe(spec["types"][f"{PACKAGE}:index:{name}"]["properties"], model)
    return spec
