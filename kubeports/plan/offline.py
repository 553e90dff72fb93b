"""`kubeports plan`: run the real Pulumi program under Pulumi's mock runtime, offline.

This is the imperative shell (it imports pulumi). Rules of this file:
- it runs `__main__.py` itself, unchanged, with the stack's config, through
  `pulumi.runtime.set_mocks(..., preview=False)`, so checks inside `apply` run too;
- mock ids are `<name>-id`, so every cross-reference in the inputs names the resource
  it points to; mock IPs are derived from the resource name, so plans are stable;
- no provider plugin runs and no cloud is contacted, and the output says so;
- what the mock runtime never reads is not computed: the SDK's per-resource stack
  capture is skipped while a plan runs (_stack_capture_skipped), and the mock monitor's
  calls run on the plan's thread (kubeports.plan.inline), registrations finish while the
  program runs (kubeports.plan.settle), a resource's declared properties are one future
  each (kubeports.plan.outputs), its None inputs are not serialized
  (kubeports.plan.inputs) and `Output.all` joins Outputs without an Output and a Task
  per item (kubeports.plan.joins), from here, never by editing the installed SDK;
- the program's directory is first on sys.path while it runs (as under `pulumi up`), and
  an exception out of the user's own code becomes a ProgramError naming its line
  (kubeports.plan.program); the text marks every value the mocks invented.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from pulumi.runtime import config as runtime_config
from pulumi.runtime import known_types
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc as runtime_rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from kubeports.core.errors import KubeportsError, Problem
from kubeports.core.paths import ROOT, display_path
from kubeports.core.project import load_stack_doc
from kubeports.core.stackvalues import SHOWN as SECRET_SHOWN

from .inline import inline_rpcs
from .inputs import lean_inputs
from .joins import lean_all
from .outputs import SCALAR_TYPES, lean_outputs
from .program import program_failure
from .rollout import image_notes
from .settle import Settler, settling
from .summary import MOCK_LEGEND, mock_mark, summary_lines

PROGRAM = os.path.join(ROOT, "__main__.py")
NOTICE = "offline plan: computed under Pulumi's mock runtime; no cloud was contacted and no provider plugin ran"


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    id: str
    options: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass
class Plan:
    stack: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    mocked: dict[str, str] = field(default_factory=dict)  # value the mocks invented -> its kind (id, address, ...)

    def by_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def to_json(self) -> dict[str, Any]:
        return {"notice": NOTICE, "stack": self.stack, "resources": [r.to_json() for r in self.resources],
                "options": {r.urn: r.options for r in self.resources if r.options}, "outputs": self.outputs}


def mock_ip(name: str) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{digest[2] % 254 + 1}"


def mock_public_ip(name: str) -> str:
    """From 203.0.113.0/24 (TEST-NET-3): plainly not a real address."""
    return f"203.0.113.{hashlib.sha256(name.encode()).digest()[0] % 254 + 1}"


# Computed outputs the program reads, by resource type. An AWS load balancer's or target
# group's ARN is its id, so a reference to it names the resource as other ids do.
COMPUTED: dict[str, Any] = {
    "openstack:loadbalancer/loadBalancer:LoadBalancer":
        lambda name: {"vipAddress": mock_ip(name), "vipPortId": f"{name}-vip-port-id"},
    "openstack:networking/floatingIp:FloatingIp": lambda name: {"address": mock_public_ip(name)},
    "aws:lb/loadBalancer:LoadBalancer": lambda name: {"arn": f"{name}-id", "dnsName": f"{name}.elb.amazonaws.com"},
    "aws:lb/targetGroup:TargetGroup": lambda name: {"arn": f"{name}-id"},
    "aws:ec2/eip:Eip": lambda name: {"publicIp": mock_public_ip(name)},
}


class PlanMocks(runtime_mocks.Mocks):
    """Echo inputs as state, add the few computed outputs the program reads.

    :param stack_outputs: the outputs of the stacks a program reads through
        `pulumi.StackReference`, by stack name (e.g. `{"acme/kubeports/dev": {...}}`);
        a reference to any other stack fails, as it would against a real backend.
    :param where: the stack file, to name in that failure.
    :param images: image lookups by name -> id (a simulated re-upload); `pins`: the stack's
        own pins (name -> imageId), the answer when `images` does not name it.
    """

    def __init__(self, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None, where: str = "(plan)",
                 images: Mapping[str, str] | None = None, pins: Mapping[str, str] | None = None) -> None:
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.images = dict(images or {})
        self.pins = dict(pins or {})
        self.stack_outputs = {name: dict(outputs) for name, outputs in (stack_outputs or {}).items()}
        self.where = where
        self.invented: dict[str, str] = {}  # every value made up here -> its kind, so the text can mark it

    def invent(self, kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
        for value in values.values():
            for item in value if isinstance(value, list) else [value]:
                self.invented[item] = kind
        return dict(values)

    def new_resource(self, args: runtime_mocks.MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        self.inputs[(args.typ, args.name)] = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            stack = args.inputs.get("name") or args.name
            return stack, self.read_stack_outputs(stack)
        if args.typ == "openstack:networking/port:Port":
            state.update(self.invent("address", {"allFixedIps": [mock_ip(args.name)]}))
        elif args.typ == "aws:ec2/instance:Instance":
            state.update(self.invent("address", {"privateIp": mock_ip(args.name)}))
        computed = COMPUTED.get(args.typ, lambda _name: {})(args.name)
        state.update(self.invent("id", {k: v for k, v in computed.items() if k in ("arn", "vipPortId")}))
        state.update(self.invent("address", {k: v for k, v in computed.items() if k not in ("arn", "vipPortId")}))
        return self.invent("id", {"id": f"{args.name}-id"})["id"], state

    def call(self, args: runtime_mocks.MockCallArgs) -> tuple[dict, list]:
        """Image lookups answer from `images` (name -> id), else the name's pin in the stack,
        else `image-<name>-id`: offline, a name points where the stack pinned it unless a
        test or `kubeports plan --image NAME=ID` says it was re-uploaded."""
        if args.token == "pulumi:pulumi:readStackOutputs":  # the engine's builtin, as peers.peer_outputs calls it
            return self.read_stack_outputs(args.args.get("name", "")), []
        if args.token == "openstack:images/getImage:getImage":
            name = args.args.get("name", "image")
            return {"id": self.image_id(name), "name": name}, []
        if args.token == "aws:ec2/getAmi:getAmi":
            filters = args.args.get("filters") or [{}]
            name = (filters[0].get("values") or ["ami"])[0]
            return {"id": self.image_id(name), "imageId": self.image_id(name), "name": name}, []
        return {}, []

    def read_stack_outputs(self, stack: str) -> dict[str, Any]:
        if stack not in self.stack_outputs:
            raise KubeportsError([Problem(self.where, 1, f"StackReference {stack}", (
                f"no outputs given for that stack offline; pass --stack-outputs {stack}=FILE (FILE: its "
                "`kubeports plan --format json`, or its outputs as JSON), or run_plan(stack_outputs=...)"))])
        return {"name": stack, "outputs": self.stack_outputs[stack], "secretOutputNames": []}

    def image_id(self, name: str) -> str:
        return self.images.get(name) or self.pins.get(name) or self.invent("image id", {"id": f"image-{name}-id"})["id"]


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def engine_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """A URN as the Pulumi engine makes it (pkg/resource/deploy/source_eval.go, resource.NewURN):
    the parent's whole qualified type, then `$` and the resource's type; the root stack
    is no parent type. So a rule of the control plane is
    `urn:pulumi:dev::kubeports::kubeports:index:Cluster$kubeports:index:ControlPlane$openstack:...::NAME`,
    the URN `pulumi state`, `--target` and aliases use. (The stock mock monitor keeps only the
    parent's last type.)"""
    if parent:
        qualified = parent.split("::")[2]
        if qualified != ROOT_STACK_TYPE:
            type_ = f"{qualified}${type_}"
    return "urn:pulumi:" + "::".join([stack, project, type_, name])


class RecordingMonitor(runtime_mocks.MockMonitor):
    """The stock mock monitor with the engine's URNs, also noting each resource's parent and options.

    `stack` and `project` default to the runtime's; a monitor served over gRPC to another
    process (tests/provider) answers on threads that carry no runtime settings, so it is told."""

    def __init__(self, mocks: PlanMocks, stack: str | None = None, project: str | None = None):
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.records: list[PlannedResource] = []
        self.stack, self.project = stack, project

    def _stack_project(self) -> tuple[str, str]:
        return self.stack or runtime_settings.get_stack(), self.project or runtime_settings.get_project()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return engine_urn(*self._stack_project(), parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK_TYPE:
            options = {k: v for k, v in (("protect", request.protect),
                                         ("ignoreChanges", list(request.ignoreChanges)),
                                         ("deleteBeforeReplace", request.deleteBeforeReplace),
                                         ("aliases", self._aliases(request))) if v}
            self._record(request, response.urn, response.id, options)
        return response

    def _aliases(self, request: Any) -> list[str]:
        """The URNs a resource was known by (its `aliases` option), as the engine resolves them."""
        out = []
        for alias in request.aliases:
            if alias.urn:
                out.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            stack, project = self._stack_project()
            out.append(engine_urn(spec.stack or stack, spec.project or project, parent, spec.type or request.type,
                                  spec.name or request.name))
        return sorted(out)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """A read, e.g. a StackReference: recorded too, marked `read` (nothing is created)."""
        response = super().ReadResource(request)
        self._record(request, response.urn, request.id, {"read": True})
        return response

    def _record(self, request: Any, urn: str, id_: str, options: dict[str, Any]) -> None:
        inputs = self.plan_mocks.inputs.get((request.type, request.name), {})
        parent = request.parent if request.parent and "::pulumi:pulumi:Stack::" not in request.parent else None
        self.records.append(PlannedResource(urn, request.type, request.name, parent, _plain(inputs), id_, options))


def _plain(value: Any) -> Any:
    """Inputs as JSON-able data (mocks hand back resolved values; unknowns become null); a secret
    (pulumi.Output.secret, e.g. a secret user data) is shown as `[secret]`, never its value."""
    if runtime_rpc.is_rpc_secret(value):
        return SECRET_SHOWN
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _program_dir_first(program: str) -> Iterator[None]:
    """The program's directory first on sys.path while it runs, as under `pulumi up` (the
    language host runs the project directory with runpy, which puts it there), so a
    project's own modules (its `components/`, say) import the same way offline."""
    directory = os.path.dirname(os.path.abspath(program))
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        if directory in sys.path:
            sys.path.remove(directory)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A plan keeps every resource, Output and future it makes alive until it returns, so
    during the run Python's cyclic collector mostly re-walks a heap that only grows: over
    half the CPU time of a 1,000-node plan, and more the bigger the plan (bench/scale.py).
    Reference counting still frees what it can; the collector resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _stack_capture_skipped() -> Iterator[None]:
    """The SDK captures a Python stack for every resource it registers or reads
    (pulumi.runtime.resource._get_stack_trace: traceback.extract_stack, then a protobuf frame
    per stack entry) so that the engine can point an error at the program's line. The SDK
    has no setting to turn it off, and the mock monitor never reads it; it costs 6-16% of a
    1,000-node plan's CPU (bench/scale.py --capture). So while a plan runs, the module's function
    answers an empty trace (what the SDK itself sends when it finds no user frame); it is
    put back afterwards, so a real `pulumi up` in the same process is untouched."""
    original = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = _no_stack_trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


def _no_stack_trace() -> Any:
    return runtime_resource.source_pb2.StackTrace()


@contextlib.contextmanager
def _acyclic_unknowns_check() -> Iterator[None]:
    """The SDK asks `pulumi.runtime.rpc.contains_unknowns` of every Output it makes
    (_OutputData.__post_init__) and of values it serializes; that function defines a
    recursive closure per call, a function and its cell referring to each other: a cycle
    only the cyclic collector frees. With the collector off (as a plan runs) those cycles
    were 20% of a plan's heap, over 20 KB per resource (bench/scale.py, docs/decisions.md).
    While a plan runs the module's function is an iterative one with the same answer; it
    is put back afterwards, as the stack capture is."""
    original = runtime_rpc.contains_unknowns
    runtime_rpc.contains_unknowns = _contains_unknowns
    try:
        yield
    finally:
        runtime_rpc.contains_unknowns = original


def _contains_unknowns(val: Any) -> bool:
    """rpc.contains_unknowns without a closure: is any value reachable through dicts and lists unknown?"""
    if type(val) in SCALAR_TYPES:  # most values the SDK asks about (a property, an id, an address)
        return False
    if known_types.is_unknown(val):
        return True
    if not isinstance(val, dict | list):
        return False
    seen: set[int] = set()
    todo = [val]
    while todo:
        item = todo.pop()
        if type(item) in SCALAR_TYPES:  # most of what a list or dict holds: neither unknown nor a container
            continue
        if known_types.is_unknown(item):
            return True
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return False


def program_error(exc: pulumi.RunError, stack_file: str) -> KubeportsError:
    """The program stops on bad input with `pulumi.RunError(str(KubeportsError))`, raised
    while handling that KubeportsError: hand back the project's own error; any other
    RunError becomes one problem naming the stack file."""
    inner = exc.__cause__ or exc.__context__
    if isinstance(inner, KubeportsError):
        return inner
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return KubeportsError([Problem(display_path(stack_file), 1, "(program)", message)])


def stack_name_of(stack_file: str) -> str:
    base = os.path.basename(stack_file)
    return base[len("Pulumi."):-len(".yaml")] if base.startswith("Pulumi.") and base.endswith(".yaml") else base


def project_name_of(program: str) -> str:
    """The `name:` of the Pulumi.yaml beside `program` (another project, e.g. an example), else kubeports."""
    path = os.path.join(os.path.dirname(os.path.abspath(program)), "Pulumi.yaml")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            doc = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: same data
        if isinstance(doc, dict) and isinstance(doc.get("name"), str):
            return doc["name"]
    return "kubeports"


def stack_pins(config: Mapping[str, Any]) -> dict[str, str]:
    """image name -> imageId as the stack file pins them (roles, their pools and rollouts)."""
    cluster = config.get("kubeports:cluster")
    roles = cluster.get("roles") if isinstance(cluster, Mapping) else None
    pins: dict[str, str] = {}
    parts = []
    for role in (roles or {}).values() if isinstance(roles, Mapping) else ():
        pools = role.get("pools") if isinstance(role, Mapping) else None
        parts += [role, *(pools.values() if isinstance(pools, Mapping) else ())]
    for role in parts:
        for part in (role, role.get("rollout") if isinstance(role, Mapping) else None):
            if isinstance(part, Mapping) and isinstance(part.get("image"), str) and isinstance(part.get("imageId"), str):
                pins.setdefault(part["image"], part["imageId"])
    return pins


def run_plan(stack_file: str, portspecs: str | None = None, program: str = PROGRAM,
             stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
             images: Mapping[str, str] | None = None, layers: Sequence[str] | None = None) -> Plan:
    """Run `program` for the stack in `stack_file` under mocks; return what it registered.

    `stack_outputs` answers the program's StackReferences (stack name -> outputs), e.g.
    the outputs of another plan: `run_plan(pool, program=..., stack_outputs={"org/kubeports/dev": dev.outputs})`.
    `images` answers image lookups (name -> id), e.g. an image re-uploaded under its name.
    `portspecs` replaces the shipped catalog and `layers` add to it, for the program as for
    `load_project` (KUBEPORTS_PORTSPECS, KUBEPORTS_CATALOGS).
    """
    # From set_mocks on: it registers the root stack.
    with _stack_capture_skipped(), _acyclic_unknowns_check(), inline_rpcs(), lean_outputs(), \
            lean_inputs(), lean_all(), settling() as settler:
        return _run(stack_file, portspecs, program, stack_outputs, images, layers, settler)


def _run(stack_file: str, portspecs: str | None, program: str, stack_outputs: Mapping[str, Mapping[str, Any]] | None,
         images: Mapping[str, str] | None, layers: Sequence[str] | None, settler: Settler) -> Plan:
    _doc, config = load_stack_doc(stack_file)
    stack = stack_name_of(stack_file)
    mocks = PlanMocks(stack_outputs, display_path(stack_file), images, stack_pins(config))
    monitor = RecordingMonitor(mocks)
    runtime_settings.ROOT.set(None)  # a fresh root stack per plan, also when planning twice
    runtime_mocks.set_mocks(mocks, project=project_name_of(program), stack=stack, preview=False, monitor=monitor)
    # What a failed earlier plan left behind (Pulumi keeps failed outputs for program exit) is not ours.
    runtime_settings.SETTINGS.rpc_manager.clear()
    runtime_settings.SETTINGS.outputs.clear()
    # As the Pulumi CLI hands them over: string keys, and YAML's dates and the like as text.
    runtime_config.set_all_config({str(k): v if isinstance(v, str) else json.dumps(v, default=str)
                                   for k, v in config.items()})
    env = {"KUBEPORTS_STACK_FILE": os.path.abspath(stack_file)}
    if portspecs:
        env["KUBEPORTS_PORTSPECS"] = os.path.abspath(portspecs)
    if layers is not None:
        env["KUBEPORTS_CATALOGS"] = os.pathsep.join(os.path.abspath(d) for d in layers)
    with _environ(**env), _program_dir_first(program), _cyclic_gc_paused():
        try:
            _sync_await(run_pulumi_func(lambda: settler.run_program(
                lambda: runpy.run_path(os.path.abspath(program), run_name="__main__"))))
        except pulumi.RunError as exc:
            raise program_error(exc, stack_file) from None
        except KubeportsError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's bug is a user error; anything else stays as it was
            failure = program_failure(exc, program)
            if failure is None:
                raise
            raise failure from exc
    plan = Plan(stack, sorted(monitor.records, key=lambda r: r.urn), mocked=mocks.invented)  # registration order is async
    root = runtime_settings.get_root_resource()
    for key, value in sorted(getattr(root, "outputs", {}).items()):
        plan.outputs[key] = _plain(_sync_await(_resolved(value)))
    # The root stack's outputs reach every resource of the plan: let go of them, so a caller
    # planning again (diff --all-stacks, the benches) does not hold two plans' graphs at once.
    runtime_settings.ROOT.set(None)
    return plan


async def _resolved(value: Any) -> Any:
    """A stack output's value with every Output and awaitable in it awaited: what
    `Output.from_input(value).future()` gives, without that deep unwrap's Output per key,
    value and list element (two per IP of a 5,000-node list)."""
    if type(value) in SCALAR_TYPES:  # most of what an output holds (an id, an address): no coroutine
        return value
    if isinstance(value, pulumi.Output):
        return await _resolved(await value.future())
    if inspect.isawaitable(value):
        return await _resolved(await value)
    if isinstance(value, dict):
        return {k: v if type(v) in SCALAR_TYPES else await _resolved(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if type(v) in SCALAR_TYPES else await _resolved(v) for v in value]
    return value


def as_text(plan: Plan) -> str:
    """Every resource with its inputs, the outputs, then a summary as `pulumi preview` ends
    with; a line holding a value the mocks invented says so (kubeports.plan.summary)."""
    names = {r.urn: r.name for r in plan.resources}
    mark = lambda line, value: line + mock_mark(value, plan.mocked)  # noqa: E731
    lines = [f"# {NOTICE}.", f"# stack {plan.stack}: {len(plan.resources)} resources", f"# {MOCK_LEGEND}", ""]
    for res in plan.resources:
        lines.append(f"+ {res.type}  {res.name}  (mock id {res.id})" if plan.mocked.get(res.id) == "id"
                     else f"+ {res.type}  {res.name}  (id {res.id})")
        lines.append(f"    parent: {names.get(res.parent or '', '(stack)')}")
        for key, value in res.inputs.items():
            lines.append(mark(f"    {key}: {json.dumps(value, ensure_ascii=False)}", value))
        for key, value in res.options.items():
            lines.append(f"    [{key}]: {json.dumps(value)}")
    lines += ["", "outputs:"] + [mark(f"  {k}: {json.dumps(v, ensure_ascii=False)}", v) for k, v in plan.outputs.items()]
    notes = image_notes(plan.outputs)
    if notes:
        lines += ["", "images:"] + [mark(f"  {note}", note) for note in notes]
    lines += ["", *summary_lines([(r.type, r.urn) for r in plan.resources])]
    return "\n".join(lines) + "\n"


def stack_outputs_of(items: list[str]) -> dict[str, Any]:
    """`--stack-outputs STACK=FILE` values: a plan's JSON (its `outputs`) or an outputs object."""
    out: dict[str, Any] = {}
    for item in items:
        stack, _, path = item.partition("=")
        if not stack or not path:
            raise KubeportsError([Problem(item, 1, "--stack-outputs", "expected STACK=FILE")])
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise KubeportsError([Problem(path, 1, "--stack-outputs", f"{stack}: {exc}")]) from None
        if not isinstance(data, dict):
            raise KubeportsError([Problem(path, 1, "--stack-outputs", f"{stack}: expected a JSON object")])
        out[stack] = data["outputs"] if "resources" in data and isinstance(data.get("outputs"), dict) else data
    return out
