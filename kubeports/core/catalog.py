"""Load every spec file, validate each alone, then check the names they share.

Rules of this file:
- every problem in every file is collected; the caller gets them all at once;
- pydantic's messages are rewritten into short sentences (see `_message`);
- a name defined in two files (a named port, a CIDR set) must agree, so a stack
  override means the same thing everywhere;
- layers (spec directories on top of the base catalog) and a stack's extraFlows only add:
  a flow name one layer uses cannot be used by another, and the error names both places.
"""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import KubeportsError, Problem
from .paths import display_path
from .spec import PEER_ALIASES, ROLES, CidrSet, Cni, Flow, SpecFile, When
from .suggest import did_you_mean, keys_at, literal_choices
from .yamlsrc import Located, dotted, load_shared

ANYWHERE = ("0.0.0.0/0", "::/0")
SPEC_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.yaml$")


@dataclass(frozen=True)
class SourcedFlow:
    flow: Flow
    file_when: When | None
    where: str  # "portspecs/x.yaml:12", or a stack file's line for its extraFlows
    source: str  # URL; empty for a stack's extra flow that names none


@dataclass
class Catalog:
    files: dict[str, SpecFile] = field(default_factory=dict)
    flows: list[SourcedFlow] = field(default_factory=list)
    ports: dict[str, tuple[int, int]] = field(default_factory=dict)
    cidr_sets: dict[str, CidrSet] = field(default_factory=dict)
    cnis: dict[str, Cni] = field(default_factory=dict)
    addons: dict[str, str] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)  # the directories, shipped (or replacing) first


def pydantic_problems(doc: Located, exc: ValidationError, where: Callable[[tuple], tuple] = tuple,
                      model: type[BaseModel] = SpecFile, top: str = "") -> list[Problem]:
    """One Problem per pydantic error; `where` maps a model location to a document path;
    `model` is what was validated, to suggest the key meant by an unknown one; `top` is how
    the document spells a top-level key (`kubeports:`)."""
    out = []
    for err in exc.errors():
        # "[key]" is pydantic's marker for an invalid dict key: the key itself is the field.
        loc = tuple(part for part in err["loc"] if part != "[key]")
        hint = ""
        if err["type"] == "extra_forbidden" and loc:
            prefix = top if len(loc) == 1 else ""
            hint = did_you_mean(f"{prefix}{loc[-1]}", [f"{prefix}{k}" for k in keys_at(model, loc)])
        loc = where(loc + getattr(err.get("ctx", {}).get("error"), "loc", ()))
        out.append(Problem(doc.path, doc.line_of(loc), dotted(loc), _message(err) + hint))
    return out


def _message(err: dict[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    if kind == "literal_error":
        choices = literal_choices(msg)
        return (f"{err['input']!r} is not one of: " + msg.split("Input should be ", 1)[-1].replace("'", "")
                + did_you_mean(err["input"], choices))
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{err['input']!r}: " + msg[0].lower() + msg[1:]
    if msg.startswith("Value error, "):
        return msg[len("Value error, "):]
    return msg


def load_catalog(directory: str, layers: Sequence[str] = ()) -> Catalog:
    """Load `directory/*.yaml`, then each layer directory's files on top of it; raise
    KubeportsError with every problem found. A layer adds: its flows join the catalog's,
    its names (ports, CIDR sets, CNIs, add-ons) must agree with any earlier definition, and
    a flow name one layer uses cannot be used by another (that would read as a replacement).
    A layer that is `directory` itself, or given twice, adds nothing."""
    dirs = list({os.path.realpath(d): d for d in reversed([directory, *layers])}.values())[::-1]
    problems, paths, layer_of = [], [], {}
    for index, folder in enumerate(dirs):
        found = sorted(glob.glob(os.path.join(folder, "*.yaml")))
        if not found:
            what = "no spec files (*.yaml) here" if os.path.isdir(folder) else "no such directory"
            problems.append(Problem(display_path(folder), 1, "(catalog)", what))
        paths += found
        layer_of.update({path: index for path in found})
    if problems:
        raise KubeportsError(problems)
    catalog = load_paths(paths, layer_of)
    catalog.layers = [display_path(d) for d in dirs]
    return catalog


def load_paths(paths: list[str], layer_of: Mapping[str, int] | None = None) -> Catalog:
    problems: list[Problem] = []
    docs: list[tuple[Located, SpecFile]] = []  # files that validated
    defining: list[tuple[Located, SpecFile]] = []  # and what invalid files still define validly
    unsure: set[str] | None = set()  # names whose definition is broken (None: unknowable)
    for path in paths:
        if not SPEC_FILE_NAME.match(os.path.basename(path)):  # names reach comments in exports (nftables)
            problems.append(Problem(display_path(path), 1, "(file name)", "a spec file name is letters, digits, "
                                    "'.', '_' and '-' ending in .yaml"))
            unsure = None
            continue
        doc, found = load_shared(path)
        problems += found
        if doc is None or not isinstance(doc.data, dict):
            if doc is not None:
                problems.append(Problem(doc.path, 1, "(document)", "must be a mapping with source, title and flows"))
            unsure = None
            continue
        try:
            docs.append((doc, _validated(doc)))
            defining.append(docs[-1])
        except ValidationError as exc:
            problems += pydantic_problems(doc, exc)
            spec, broken = _salvage(doc.data)
            defining.append((doc, spec))
            if unsure is not None:
                unsure |= broken
    catalog = Catalog()
    problems += _gather(catalog, defining, {display_path(p): i for p, i in (layer_of or {}).items()})
    # A name defined by a file that cannot be read, or by a broken entry, is reported there
    # once; its uses elsewhere are not reported again as unknown.
    if unsure is not None:
        problems += _check_references(catalog, docs, unsure)
    if problems:
        raise KubeportsError(problems)
    return catalog


_VALID: dict[int, tuple[Located, SpecFile]] = {}  # id(shared doc) -> (doc, its SpecFile)


def _validated(doc: Located) -> SpecFile:
    """A shared document's SpecFile, validated once per process: load_shared gives the
    same document for the same text, both are frozen, and a diff side loads the catalog
    three times per stack. The doc is kept with it, so its id is never reused meanwhile."""
    hit = _VALID.get(id(doc))
    if hit is not None and hit[0] is doc:
        return hit[1]
    spec = SpecFile.model_validate(doc.data)
    if len(_VALID) > 1024:
        _VALID.clear()
    _VALID[id(doc)] = (doc, spec)
    return spec


def _salvage(data: dict[Any, Any]) -> tuple[SpecFile, set[str]]:
    """The definitions (named ports, CIDR sets, CNI, add-ons) of a file that failed
    validation that are valid by themselves, and the names of those that are not."""
    def valid(part: dict[str, Any]) -> bool:
        try:
            SpecFile.model_validate({"source": "seed:salvaged", "title": "salvaged", **part})
            return True
        except ValidationError:
            return False

    kept: dict[str, Any] = {}
    broken: set[str] = set()
    for key in ("ports", "cidr-sets", "addons"):
        entries = data.get(key)
        for name, value in entries.items() if isinstance(entries, dict) else ():
            if valid({key: {name: value}}):
                kept.setdefault(key, {})[name] = value
            else:
                broken.add(str(name))
    cni = data.get("cni")
    if valid({"cni": cni}):
        kept["cni"] = cni
    elif isinstance(cni, dict):
        broken.add(str(cni.get("name")))
        for key in ("modes", "features"):
            broken |= {str(n) for n in cni.get(key, {})} if isinstance(cni.get(key), dict) else set()
    return SpecFile.model_validate({"source": "seed:salvaged", "title": "salvaged", **kept}), broken


def _gather(catalog: Catalog, docs: list[tuple[Located, SpecFile]], layer_of: Mapping[str, int]) -> list[Problem]:
    """Merge the names each file defines; two files defining one name must agree. A flow name
    used in two layers is refused: the upper one would read as an override, which a layer is not
    (within one layer names repeat across files: conditional variants, e.g. k3s's and kubeadm's etcd)."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], tuple[Any, str]] = {}
    flow_layer: dict[str, tuple[int, str]] = {}

    def define(kind: str, key: str, name: str, value: Any, doc: Located) -> bool:
        where = f"{doc.path}:{doc.line_of((key, name))}"
        earlier = seen.setdefault((kind, name), (value, where))
        if earlier[0] != value:
            problems.append(Problem(doc.path, doc.line_of((key, name)), f"{key}.{name}",
                                    f"differs from the {kind} defined at {earlier[1]}"))
            return False
        return True

    for doc, spec in docs:
        catalog.files[doc.path] = spec
        for name, port in spec.ports.items():
            if define("named port", "ports", name, port.port, doc):
                catalog.ports[name] = port.port
        for name, cset in spec.cidr_sets.items():
            if name == "anywhere" or name in ROLES or name in PEER_ALIASES:
                problems.append(Problem(doc.path, doc.line_of(("cidr-sets", name)), f"cidr-sets.{name}",
                                        "name is reserved for a role or built-in peer"))
            elif define("CIDR set", "cidr-sets", name, tuple(cset.default), doc):
                catalog.cidr_sets[name] = cset
        if spec.cni and define("CNI", "cni", spec.cni.name, spec.cni, doc):
            catalog.cnis[spec.cni.name] = spec.cni
        for name, purpose in spec.addons.items():
            catalog.addons.setdefault(name, purpose)
        names: dict[str, int] = {}
        for key, entries in (("flows", spec.flows), ("local-only", spec.local_only)):
            for i, entry in enumerate(entries):
                line = doc.line_of((key, i))
                if entry.name in names:
                    problems.append(Problem(doc.path, line, f"{key}[{i}].name",
                                            f"duplicate entry name {entry.name!r} (first at line {names[entry.name]})"))
                names.setdefault(entry.name, line)
                if key == "flows":
                    layer = layer_of.get(doc.path, 0)
                    earlier = flow_layer.setdefault(entry.name, (layer, f"{doc.path}:{line}"))
                    if earlier[0] != layer:
                        problems.append(Problem(doc.path, line, f"flows[{i}].name", conflict(entry.name, earlier[1])))
                    catalog.flows.append(SourcedFlow(entry, spec.when, f"{doc.path}:{line}", entry.source or spec.source))
    catalog.cidr_sets["anywhere"] = CidrSet(purpose="every address", default=list(ANYWHERE))
    return problems


def conflict(name: str, earlier: str, what: str = "a layer") -> str:
    return (f"flow {name!r} is already defined at {earlier}; {what} adds flows and cannot replace one: rename it, "
            "or replace the whole catalog (--replace-catalog)")


def with_extra_flows(catalog: Catalog, flows: Sequence[Flow], doc: Located, base: tuple) -> Catalog:
    """The catalog plus a stack's own flows (`kubeports:cluster.extraFlows`, at `base` in the
    stack file `doc`): checked against the catalog as a spec file's flows are, and sourced at
    their stack-file line (`Pulumi.dev.yaml:42`), which rules, exports and diffs then show."""
    problems: list[Problem] = []
    names = {s.flow.name: s.where for s in catalog.flows}
    known = _Known.of(catalog)
    extra = []
    for i, flow in enumerate(flows):
        loc = (*base, i)
        where = f"{doc.path}:{doc.line_of(loc)}"
        problems += _flow_problems(doc, loc, flow, known)
        if flow.name in names:
            problems.append(Problem(doc.path, doc.line_of((*loc, "name")), dotted((*loc, "name")),
                                    conflict(flow.name, names[flow.name], "a stack's extraFlows")))
        names.setdefault(flow.name, where)
        extra.append(SourcedFlow(flow, None, where, flow.source or ""))  # no document unless it names one
    if problems:
        raise KubeportsError(problems)
    return replace(catalog, flows=[*catalog.flows, *extra])


def _check_references(catalog: Catalog, docs: list[tuple[Located, SpecFile]], unsure: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    known = _Known.of(catalog, unsure)
    roles = known.roles
    for doc, spec in docs:
        def bad(loc: tuple, message: str, doc: Located = doc) -> None:
            problems.append(Problem(doc.path, doc.line_of(loc), dotted(loc), message))

        problems.extend(_check_when(doc, ("when",), spec.when, known))
        for i, flow in enumerate(spec.flows):
            problems.extend(_flow_problems(doc, ("flows", i), flow, known))
        for i, entry in enumerate(spec.local_only):
            for j, port in enumerate(entry.ports):
                if isinstance(port, str) and port not in catalog.ports and port not in unsure:
                    bad(("local-only", i, "ports") if len(entry.ports) == 1 else ("local-only", i, "ports", j),
                        f"unknown named port {port!r}{did_you_mean(port, catalog.ports)}")
            for j, name in enumerate(entry.roles):
                if name not in roles:
                    bad(("local-only", i, "roles", j), f"unknown role {name!r}{did_you_mean(name, ROLES)}")
    return problems


@dataclass(frozen=True)
class _Known:
    """The names a flow may use, gathered once per check, not once per flow (a catalog
    check reads every flow of every file, each plan)."""

    catalog: Catalog
    unsure: frozenset[str]
    roles: frozenset[str]
    to: frozenset[str]  # a flow's `to:`: roles and CIDR sets
    from_: frozenset[str]  # its `from:`: those and `self`
    when: tuple[tuple[str, Collection[str], str], ...]  # each `when:` key, what it may name, and what that is

    @classmethod
    def of(cls, catalog: Catalog, unsure: Collection[str] = ()) -> _Known:
        roles = frozenset(ROLES) | {"nodes"} | frozenset(unsure)
        to = roles | frozenset(catalog.cidr_sets)
        modes = {m for c in catalog.cnis.values() for m in c.modes}
        features = {f for c in catalog.cnis.values() for f in c.features}
        when = (("cni", catalog.cnis, "CNI"), ("cni-mode", modes, "CNI mode"),
                ("cni-features", features, "CNI feature"), ("addons", catalog.addons, "add-on"))
        return cls(catalog, frozenset(unsure), roles, to, to | {"self"}, when)


def flow_problems(doc: Located, loc: tuple, flow: Flow, catalog: Catalog, unsure: Collection[str] = ()) -> list[Problem]:
    """What one flow names that the catalog does not define; `loc` is where the flow sits in `doc`
    (a spec file's `flows[i]`, a stack file's `config.kubeports:cluster.extraFlows[i]`)."""
    return _flow_problems(doc, loc, flow, _Known.of(catalog, unsure))


def _flow_problems(doc: Located, loc: tuple, flow: Flow, known: _Known) -> list[Problem]:
    problems: list[Problem] = []

    def bad(where: tuple, message: str) -> None:
        problems.append(Problem(doc.path, doc.line_of(where), dotted(where), message))

    catalog, unsure = known.catalog, known.unsure
    problems.extend(_check_when(doc, (*loc, "when"), flow.when, known))
    for j, port in enumerate(flow.ports or ()):
        if isinstance(port, str) and port not in catalog.ports and port not in unsure:
            bad((*loc, "ports") if len(flow.ports) == 1 else (*loc, "ports", j),  # type: ignore[arg-type]
                f"unknown named port {port!r}{did_you_mean(port, catalog.ports)}")
    for key, names, allowed in (("to", flow.to, known.to), ("from", flow.from_, known.from_)):
        for j, name in enumerate(names):
            if name not in allowed:
                bad((*loc, key, j), f"unknown role or CIDR set {name!r}{did_you_mean(name, allowed)}")
    if all(n in catalog.cidr_sets for n in flow.to) and all(n in catalog.cidr_sets for n in flow.from_):
        bad(loc, "a flow needs a role on at least one side")
    return problems


def _check_when(doc: Located, loc: tuple, when: When | None, known: _Known) -> list[Problem]:
    if when is None:
        return []
    problems = []
    values = {"cni": when.cni, "cni-mode": when.cni_mode, "cni-features": when.cni_features, "addons": when.addons}
    for key, names_known, what in known.when:
        for j, name in enumerate(values[key] or ()):
            if name not in names_known and name not in known.unsure:
                where = (*loc, key, j)
                problems.append(Problem(doc.path, doc.line_of(where), dotted(where),
                                        f"unknown {what} {name!r}{did_you_mean(name, names_known)}"))
    return problems

