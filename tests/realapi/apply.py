"""Send an offline plan to a real API in Pulumi's step order, then read everything back.

The imperative half of the tier (render.py is the pure half). Rules of this file:
- one `Applier` is one cloud project (Neutron) or account (moto) across the stacks and
  plans of one test, as Pulumi's state would be: it remembers the real id of every name;
- a step that the API refuses is recorded as `ApiError(step, name, code, message)` and
  the apply goes on, as `pulumi up` reports every failed resource; dependents of a
  failed resource are skipped (recorded as `skipped`), as the engine skips them;
- `read_back()` compares, field by field, what the provider's Read would store with what
  the plan says, and lists every object in the project's groups the plan does not hold;
- `ignoreChanges` is applied as the engine does (pkg/resource/deploy: processIgnoreChanges):
  for a name already in the state, an ignored input takes its old value (or is dropped
  where the old inputs lack it) before the diff; at create the program's value is sent;
- `observer`, when set, is called after every step that succeeded (e.g. to read what
  the groups admit between two steps).
- `Applier(driver, servers=True)` sends the OpenStack servers too, to EmulatedNova: the
  only emulated part of the tier, and it says exactly what it emulates.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tests.realapi import render as r


@dataclass(frozen=True)
class ApiError:
    step: str
    name: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.step} {self.name}: {self.code}: {self.message}"


@dataclass
class Outcome:
    steps: list[str] = field(default_factory=list)  # "create dev-worker-sg", ...
    errors: list[ApiError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


STEP_COUNTS: dict[str, dict[str, int]] = {}  # scenario -> steps by kind; conftest prints them after the run


def record_steps(scenario: str, steps: list[str]) -> None:
    """Count a change's steps by kind: create, update, replace (its create and delete count
    once), delete (of a name that left the program)."""
    kinds = [s.split(" ", 1)[0].split("(", 1)[0] for s in steps]
    replaced = {s.split(" ", 1)[1] for s in steps if s.startswith(("create-replacement", "delete-replaced"))}
    STEP_COUNTS[scenario] = {"create": kinds.count("create"), "update": kinds.count("update"),
                             "replace": len(replaced),
                             "delete": sum(1 for s in steps if s.startswith("delete ")
                                           and s.split(" ", 1)[1] not in replaced)}


class CloudError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class Applier:
    def __init__(self, driver, servers: bool = False):
        self.driver = driver
        self.servers = servers
        self.state: dict[str, tuple[r.Desired, str]] = {}  # name -> (what was applied, real id)
        self.external: dict[str, str] = {}  # e.g. the network a stack is given, by its mock name
        self.observer = None  # called with the step's text after every step that succeeded

    def resolve(self, value: Any) -> Any:
        if isinstance(value, r.Ref):
            if value.name in self.state:
                return self.state[value.name][1]
            if value.name in self.external:
                return self.external[value.name]
            raise KeyError(value.name)
        if isinstance(value, Mapping):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str) and value in self.external:
            return self.external[value]
        return value

    def apply(self, plan_json: Mapping[str, Any]) -> Outcome:
        stack = plan_json["stack"]
        new = r.desired_of(plan_json, self.driver.cloud, set(self.state), self.servers)
        outcome = Outcome()
        failed: set[str] = set()
        late_deletes: list[tuple[str, r.Desired, str]] = []  # (name, old, id): olds deleted at the end
        for want in r.ordered(new):
            if want.refs & failed or any(ref not in self.state and ref not in self.external for ref in want.refs):
                failed.add(want.name)
                outcome.skipped.append(want.name)
                continue
            old = self.state.get(want.name)
            if old is None:
                self._run(outcome, failed, "create", want, lambda w=want: self._create(w))
                continue
            want = r.keeping_computed(ignoring_changes(want, old[0]), old[0])
            forced = r.replace_field(old[0], want, self.resolve_plain)
            if forced is not None:
                if r.delete_before_replace(want):
                    self._run(outcome, failed, f"delete-replaced({forced})", want,
                              lambda o=old: self.driver.delete(o[0].type, o[1]), keep=True)
                    self._run(outcome, failed, f"create-replacement({forced})", want, lambda w=want: self._create(w))
                else:
                    self._run(outcome, failed, f"create-replacement({forced})", want, lambda w=want: self._create(w))
                    late_deletes.append((want.name, old[0], old[1]))
            elif self.resolve_plain(old[0].inputs) != self.resolve_plain(want.inputs):
                self._run(outcome, failed, "update", want, lambda w=want, o=old: self._update(o[0], w, o[1]))
        gone = [(name, desired, rid) for name, (desired, rid) in self.state.items()
                if desired.stack == stack and name not in new]
        for name, desired, rid in sorted(late_deletes + gone, key=lambda t: (-r.RANK[t[1].type], t[0])):
            try:
                self.driver.delete(desired.type, rid)
                outcome.steps.append(f"delete {name}")
                if name not in new:
                    del self.state[name]
                self._observe(f"delete {name}")
            except CloudError as exc:
                outcome.errors.append(ApiError("delete", name, exc.code, exc.message))
        return outcome

    def resolve_plain(self, inputs: Mapping[str, Any]) -> Any:
        """Inputs with every reference resolved (a not yet created one stays a Ref)."""
        try:
            return self.resolve(inputs)
        except KeyError:
            return inputs

    def _run(self, outcome: Outcome, failed: set[str], step: str, want: r.Desired, action, keep: bool = False) -> None:
        try:
            action()
            outcome.steps.append(f"{step} {want.name}")
            self._observe(f"{step} {want.name}")
        except CloudError as exc:
            outcome.errors.append(ApiError(step, want.name, exc.code, exc.message))
            failed.add(want.name)

    def _observe(self, step: str) -> None:
        if self.observer is not None:
            self.observer(step)

    def _create(self, want: r.Desired) -> None:
        rid = self.driver.create(want.type, self.resolve(want.inputs), want.name)
        self.state[want.name] = (want, rid)

    def _update(self, old: r.Desired, want: r.Desired, rid: str) -> None:
        self.driver.update(want.type, rid, self.resolve(old.inputs), self.resolve(want.inputs))
        self.state[want.name] = (want, rid)

    def read_back(self, plan_jsons: list[Mapping[str, Any]]) -> list[str]:
        """Every difference between the plans and the cloud, as `name: field: ...` lines."""
        self.driver.snapshot()  # one list call per kind instead of a GET per object
        try:
            return self._read_back(plan_jsons)
        finally:
            self.driver.forget()

    def _read_back(self, plan_jsons: list[Mapping[str, Any]]) -> list[str]:
        diffs: list[str] = []
        wanted: dict[str, r.Desired] = {}
        for plan_json in plan_jsons:
            wanted.update(r.desired_of(plan_json, self.driver.cloud, set(self.state), self.servers))
        for name in sorted(wanted):
            if name not in self.state:
                diffs.append(f"{name}: not in the cloud")
                continue
            desired, rid = self.state[name]
            want = r.keeping_computed(ignoring_changes(wanted[name], desired), desired)
            expected, state = self.driver.read(want.type, rid, self.resolve(want.inputs))
            diffs += [f"{name}: {d}" for d in r.differences(expected, state)]
        ours = {rid for _d, rid in self.state.values()}
        groups = [rid for d, rid in self.state.values() if d.type in (r.OS_GROUP, r.AWS_GROUP)]
        diffs += [f"unplanned object in the cloud: {extra}" for extra in self.driver.rules_in(groups) if extra not in ours]
        return diffs


def ignoring_changes(want: r.Desired, old: r.Desired) -> r.Desired:
    """`want` with its ignoreChanges inputs taken from `old` (top-level names only, the
    only form kubeports uses), as the engine diffs an existing resource."""
    ignored = [key for key in want.options.get("ignoreChanges") or () if key in want.inputs or key in old.inputs]
    if not ignored:
        return want
    inputs = {k: v for k, v in want.inputs.items() if k not in ignored}
    inputs.update({k: old.inputs[k] for k in ignored if k in old.inputs})
    return replace(want, inputs=inputs)


# ---- Nova, emulated on the real Neutron --------------------------------------------------------

class EmulatedNova:
    """A server as Nova makes one on pre-created ports, done to the real Neutron; nothing else.

    Emulated (Nova does not run here), from nova/network/neutron.py (API.validate_networks,
    _validate_requested_port_ids, _update_port, _unbind_ports):
    - create: every requested port is read first, and one whose `device_id` is set is
      refused with Nova's `PortInUse` ("Port <id> is still in use.", HTTP 409) before any
      port is touched; then each port gets `device_id` = the new server's id and
      `device_owner` = `compute:nova` (a PUT to Neutron, as Nova sends it);
    - delete: each port the server holds is unbound (`device_id` and `device_owner` set to
      ""); Nova keeps ports it did not create (`preserve_on_delete`), so Neutron still has them;
    - update (name, metadata, flavor): nothing reaches Neutron; recorded only.
    Not emulated: scheduling, `binding:host_id` (no hypervisor; ML2 here has no mechanism
    driver to bind), volumes, server groups and their member quota, images, the guest.
    The ports, their bindings and every PUT are real Neutron state and real Neutron answers.
    """

    def __init__(self, driver: NeutronDriver):
        self.driver = driver
        self.servers: dict[str, list[str]] = {}  # server id -> the port ids it was created on

    @staticmethod
    def ports_of(inputs: Mapping[str, Any]) -> list[str]:
        return [net["port"] for net in inputs.get("networks") or [] if net.get("port")]

    def create(self, inputs: Mapping[str, Any]) -> str:
        ports = self.ports_of(inputs)
        for port_id in ports:
            if self.driver.call("GET", f"/ports/{port_id}")["port"].get("device_id"):
                raise CloudError("409 PortInUse", f"Port {port_id} is still in use.")
        server_id = str(uuid.uuid4())
        for port_id in ports:
            self.driver.call("PUT", f"/ports/{port_id}", {"port": {"device_id": server_id, "device_owner": "compute:nova"}})
        self.servers[server_id] = ports
        return server_id

    def delete(self, server_id: str) -> None:
        for port in self.bound_to(server_id):
            self.driver.call("PUT", f"/ports/{port}", {"port": {"device_id": "", "device_owner": ""}})
        del self.servers[server_id]

    def bound_to(self, server_id: str) -> list[str]:
        """The ports Neutron says the server holds (read back, not remembered)."""
        return sorted(p["id"] for p in self.driver.call("GET", f"/ports?device_id={server_id}")["ports"])

    def read(self, server_id: str, inputs: Mapping[str, Any]) -> tuple[dict, dict]:
        return {"ports": sorted(self.ports_of(inputs))}, {"ports": self.bound_to(server_id)}


# ---- Neutron -------------------------------------------------------------------------------

class NeutronDriver:
    """Raw requests through openstacksdk's network adapter, so the body is exactly what
    gophercloud sends (the SDK's resource classes would rename and drop fields)."""
    cloud = "openstack"

    LISTS = (("/security-group-rules", "security_group_rule"), ("/security-groups", "security_group"),
             ("/ports", "port"))

    def __init__(self, conn, project_id: str | None = None):
        self.net = conn.network
        self.project_id = project_id or uuid.uuid4().hex
        self.nova = EmulatedNova(self)
        self.cache: dict[str, dict] | None = None

    def snapshot(self) -> None:
        """Read every rule, group and port of the project with one list each: a list
        returns each object as its GET does, so the read-back compares the same fields."""
        self.cache = {}
        for path, key in self.LISTS:
            for obj in self.call("GET", f"{path}?project_id={self.project_id}")[key + "s"]:
                self.cache[f"{key}/{obj['id']}"] = obj

    def forget(self) -> None:
        self.cache = None

    def get(self, path: str, key: str, rid: str) -> dict:
        cached = (self.cache or {}).get(f"{key}/{rid}")
        return cached if cached is not None else self.call("GET", f"{path}/{rid}")[key]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        resp = self.net.request(path, method, json=body, raise_exc=False)
        if resp.status_code >= 400:
            try:
                err = resp.json()["NeutronError"]
                raise CloudError(f"{resp.status_code} {err['type']}", err["message"])
            except (ValueError, KeyError, TypeError):
                raise CloudError(str(resp.status_code), resp.text[:300]) from None
        return resp.json() if resp.content else {}

    def create(self, type_: str, inputs: Mapping[str, Any], name: str) -> str:
        if type_ == r.OS_RULE:
            return self.call("POST", "/security-group-rules",
                             {"security_group_rule": r.neutron_rule_body(inputs, self.project_id)})["security_group_rule"]["id"]
        if type_ == r.OS_GROUP:
            group = self.call("POST", "/security-groups",
                              {"security_group": r.neutron_group_body(inputs, self.project_id)})["security_group"]
            if inputs.get("tags"):
                self.call("PUT", f"/security-groups/{group['id']}/tags", {"tags": list(inputs["tags"])})
            if inputs.get("deleteDefaultRules"):
                for rule in group["security_group_rules"]:
                    self.call("DELETE", f"/security-group-rules/{rule['id']}")
            return group["id"]
        if type_ == r.OS_PORT:
            return self.call("POST", "/ports", {"port": r.neutron_port_body(inputs, self.project_id)})["port"]["id"]
        if type_ == r.OS_ADDRESS_GROUP:
            return self.call("POST", "/address-groups", {
                "address_group": r.neutron_address_group_body(inputs, self.project_id)})["address_group"]["id"]
        if type_ == r.OS_INSTANCE:
            return self.nova.create(inputs)
        raise TypeError(type_)

    def update(self, type_: str, rid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if type_ == r.OS_GROUP:
            body = {k: new.get(k, "") for k in ("name", "description") if old.get(k) != new.get(k)}
            if body:
                self.call("PUT", f"/security-groups/{rid}", {"security_group": body})
            if old.get("tags") != new.get("tags"):
                self.call("PUT", f"/security-groups/{rid}/tags", {"tags": list(new.get("tags") or [])})
        elif type_ == r.OS_PORT:
            a, b = r.neutron_port_update(old), r.neutron_port_update(new)
            body = {k: v for k, v in b.items() if a.get(k) != v}
            if body:
                self.call("PUT", f"/ports/{rid}", {"port": body})
        elif type_ == r.OS_ADDRESS_GROUP:
            body = {k: new.get(k, "") for k in ("name", "description") if old.get(k) != new.get(k)}
            if body:
                self.call("PUT", f"/address-groups/{rid}", {"address_group": body})
            was, now = set(old.get("addresses") or []), set(new.get("addresses") or [])
            if was - now:
                self.call("PUT", f"/address-groups/{rid}/remove_addresses", {"addresses": sorted(was - now)})
            if now - was:
                self.call("PUT", f"/address-groups/{rid}/add_addresses", {"addresses": sorted(now - was)})
        elif type_ != r.OS_INSTANCE:  # a server's in-place update reaches Nova only
            raise TypeError(f"{type_} has no update")

    def delete(self, type_: str, rid: str) -> None:
        if type_ == r.OS_INSTANCE:
            self.nova.delete(rid)
            return
        path = {r.OS_RULE: "/security-group-rules/", r.OS_GROUP: "/security-groups/", r.OS_PORT: "/ports/",
                r.OS_ADDRESS_GROUP: "/address-groups/"}[type_]
        self.call("DELETE", path + rid)

    def read(self, type_: str, rid: str, inputs: Mapping[str, Any]) -> tuple[dict, dict]:
        if type_ == r.OS_RULE:
            api = self.get("/security-group-rules", "security_group_rule", rid)
            return r.neutron_rule_expected(inputs), r.neutron_rule_state(api)
        if type_ == r.OS_GROUP:
            api = self.get("/security-groups", "security_group", rid)
            expected = {"name": inputs["name"], "description": inputs.get("description", ""),
                        "tags": sorted(inputs.get("tags") or [])}
            return expected, r.neutron_group_state(api)
        if type_ == r.OS_ADDRESS_GROUP:
            api = self.call("GET", f"/address-groups/{rid}")["address_group"]
            return r.neutron_address_group_expected(inputs), r.neutron_address_group_state(api)
        if type_ == r.OS_INSTANCE:
            return self.nova.read(rid, inputs)
        api = self.get("/ports", "port", rid)
        return r.neutron_port_expected(inputs), r.neutron_port_state(api)

    def rules_in(self, groups: list[str]) -> list[str]:
        if not groups:
            return []
        query = "&".join(f"security_group_id={g}" for g in groups)
        return [rule["id"] for rule in self.call("GET", f"/security-group-rules?{query}")["security_group_rules"]]

    def set_quota(self, **limits: int) -> None:
        """Raise (or lower) the project's quotas, as an operator would: PUT /v2.0/quotas/<project>."""
        self.call("PUT", f"/quotas/{self.project_id}", {"quota": limits})

    def quota_usage(self) -> dict[str, int]:
        """What the project uses, counted from the objects (the `default` group included)."""
        groups = self.call("GET", f"/security-groups?project_id={self.project_id}")["security_groups"]
        rules = self.call("GET", f"/security-group-rules?project_id={self.project_id}")["security_group_rules"]
        return {"security_group": len(groups), "security_group_rule": len(rules)}


# ---- EC2 (moto) ------------------------------------------------------------------------------

MOTO_GAP_7 = ("moto-gap-7: DescribeSecurityGroupRules returns no Description for a rule that references a group "
              "(real EC2 does); the description of those rules was read from DescribeSecurityGroups instead")


MOTO_GAP_9 = ("moto-gap-9: moto keeps no Description for a rule that references a prefix list (neither "
              "DescribeSecurityGroupRules nor DescribeSecurityGroups returns it; real EC2 does): the description of "
              "those rules is not compared on moto")

MOTO_GAP_10 = ("moto-gap-10: ModifyManagedPrefixList ignores MaxEntries (the list keeps its first max entries, and "
               "AddEntries past it is accepted; real EC2 resizes, and refuses entries past it): a changed max entries "
               "is compared with what was sent, not read back")

MOTO_GAP_12 = ("moto-gap-12: ModifySecurityGroupRules refuses an all-protocol (-1) rule without FromPort/ToPort "
               "(moto 5.2.5 models/security_groups.py; the provider sends none, and EC2 takes -1 as every port): such "
               "updates were sent with -1/-1")


class Ec2Driver:
    cloud = "aws"

    def __init__(self, ec2):
        self.ec2 = ec2
        self.gaps: set[str] = set()  # the moto gaps this driver worked around, by name
        self.max_entries_sent: dict[str, int] = {}  # prefix list id -> MaxEntries moto ignored (gap 10)
        self.cache: dict[str, dict] | None = None

    def snapshot(self) -> None:
        """Every rule and group of the account with one Describe each (as by id: same fields)."""
        rules = self._call(self.ec2.describe_security_group_rules)["SecurityGroupRules"]
        groups = self._call(self.ec2.describe_security_groups)["SecurityGroups"]
        self.cache = {**{r_["SecurityGroupRuleId"]: r_ for r_ in rules}, **{g["GroupId"]: g for g in groups}}

    def forget(self) -> None:
        self.cache = None

    def _group(self, gid: str) -> dict:
        cached = (self.cache or {}).get(gid)
        return cached if cached is not None else \
            self._call(self.ec2.describe_security_groups, GroupIds=[gid])["SecurityGroups"][0]

    def _call(self, fn, **kwargs) -> dict:
        from botocore.exceptions import ClientError
        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise CloudError(exc.response["Error"]["Code"], exc.response["Error"]["Message"]) from None

    def create(self, type_: str, inputs: Mapping[str, Any], name: str) -> str:
        if type_ == r.AWS_GROUP:
            group_name = inputs.get("name") or f"{name}-{uuid.uuid4().hex[:7]}"  # Pulumi's autoname
            tags = [{"Key": k, "Value": v} for k, v in sorted((inputs.get("tags") or {}).items())]
            kwargs: dict[str, Any] = {"GroupName": group_name, "Description": inputs.get("description") or "Managed by Pulumi",
                                      "VpcId": inputs["vpcId"]}
            if tags:
                kwargs["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": tags}]
            gid = self._call(self.ec2.create_security_group, **kwargs)["GroupId"]
            # The provider revokes AWS's default allow-all egress of a new VPC group.
            for rule in self._rules_of([gid]):
                if rule["IsEgress"]:
                    self._call(self.ec2.revoke_security_group_egress, GroupId=gid,
                               SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
            return gid
        if type_ == r.AWS_PREFIX_LIST:
            tags = [{"Key": k, "Value": v} for k, v in sorted((inputs.get("tags") or {}).items())]
            made = self._call(self.ec2.create_managed_prefix_list, PrefixListName=inputs["name"],
                              AddressFamily=inputs["addressFamily"], MaxEntries=inputs["maxEntries"],
                              Entries=[{"Cidr": e["cidr"]} for e in inputs.get("entries") or []],
                              TagSpecifications=[{"ResourceType": "prefix-list", "Tags": tags}] if tags else [])
            return made["PrefixList"]["PrefixListId"]
        kwargs = {"GroupId": inputs["securityGroupId"], "IpPermissions": [r.aws_permission(inputs)]}
        if inputs.get("tags"):
            kwargs["TagSpecifications"] = [{"ResourceType": "security-group-rule",
                                            "Tags": [{"Key": k, "Value": v} for k, v in sorted(inputs["tags"].items())]}]
        fn = self.ec2.authorize_security_group_ingress if type_ == r.AWS_IN else self.ec2.authorize_security_group_egress
        return self._call(fn, **kwargs)["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    def update(self, type_: str, rid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if type_ == r.AWS_GROUP:
            old_tags, new_tags = old.get("tags") or {}, new.get("tags") or {}
            if old_tags != new_tags:
                if set(old_tags) - set(new_tags):
                    self._call(self.ec2.delete_tags, Resources=[rid],
                               Tags=[{"Key": k} for k in sorted(set(old_tags) - set(new_tags))])
                self._call(self.ec2.create_tags, Resources=[rid],
                           Tags=[{"Key": k, "Value": v} for k, v in sorted(new_tags.items())])
            return
        if type_ == r.AWS_PREFIX_LIST:
            self._modify_prefix_list(rid, old, new)
            return
        request = r.aws_modify(new)
        if request["IpProtocol"] in ("-1", "all") and "FromPort" not in request:
            # moto gap 12: moto refuses an all-protocol rule without ports (real EC2 ignores them)
            self.gaps.add(MOTO_GAP_12)
            request.update(FromPort=-1, ToPort=-1)
        self._call(self.ec2.modify_security_group_rules, GroupId=new["securityGroupId"],
                   SecurityGroupRules=[{"SecurityGroupRuleId": rid, "SecurityGroupRule": request}])

    def _modify_prefix_list(self, rid: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """TF's order: MaxEntries up first, entries, MaxEntries down last (one change per call)."""
        if new["maxEntries"] > old["maxEntries"]:
            self._max_entries(rid, new["maxEntries"])
        was = {e["cidr"] for e in old.get("entries") or []}
        now = {e["cidr"] for e in new.get("entries") or []}
        if was != now or old.get("name") != new.get("name"):
            version = self._call(self.ec2.describe_managed_prefix_lists, PrefixListIds=[rid])["PrefixLists"][0]["Version"]
            kwargs: dict[str, Any] = {"PrefixListId": rid, "PrefixListName": new["name"], "CurrentVersion": version}
            if now - was:
                kwargs["AddEntries"] = [{"Cidr": c} for c in sorted(now - was)]
            if was - now:
                kwargs["RemoveEntries"] = [{"Cidr": c} for c in sorted(was - now)]
            self._call(self.ec2.modify_managed_prefix_list, **kwargs)
        if new["maxEntries"] < old["maxEntries"]:
            self._max_entries(rid, new["maxEntries"])

    def _max_entries(self, rid: str, value: int) -> None:
        self._call(self.ec2.modify_managed_prefix_list, PrefixListId=rid, MaxEntries=value)
        now = self._call(self.ec2.describe_managed_prefix_lists, PrefixListIds=[rid])["PrefixLists"][0]["MaxEntries"]
        if now != value:
            self.gaps.add(MOTO_GAP_10)
            self.max_entries_sent[rid] = value

    def delete(self, type_: str, rid: str) -> None:
        if type_ == r.AWS_GROUP:
            self._call(self.ec2.delete_security_group, GroupId=rid)
            return
        if type_ == r.AWS_PREFIX_LIST:
            self._call(self.ec2.delete_managed_prefix_list, PrefixListId=rid)
            return
        rule = self._rule(rid)
        fn = self.ec2.revoke_security_group_egress if rule["IsEgress"] else self.ec2.revoke_security_group_ingress
        self._call(fn, GroupId=rule["GroupId"], SecurityGroupRuleIds=[rid])

    def _rule(self, rid: str) -> dict:
        if self.cache is not None and rid in self.cache:
            return self.cache[rid]
        return self._call(self.ec2.describe_security_group_rules, SecurityGroupRuleIds=[rid])["SecurityGroupRules"][0]

    def _rules_of(self, groups: list[str]) -> list[dict]:
        out: list[dict] = []
        for gid in groups:
            out += self._call(self.ec2.describe_security_group_rules,
                              Filters=[{"Name": "group-id", "Values": [gid]}])["SecurityGroupRules"]
        return out

    def read(self, type_: str, rid: str, inputs: Mapping[str, Any]) -> tuple[dict, dict]:
        if type_ == r.AWS_GROUP:
            return r.aws_group_expected(inputs), r.aws_group_state(self._group(rid))
        if type_ == r.AWS_PREFIX_LIST:
            api = self._call(self.ec2.describe_managed_prefix_lists, PrefixListIds=[rid])["PrefixLists"][0]
            entries = self._call(self.ec2.get_managed_prefix_list_entries, PrefixListId=rid)["Entries"]
            state = r.aws_prefix_list_state(api, entries)
            if rid in self.max_entries_sent:  # moto gap 10: what was sent, since moto keeps no resize
                state["maxEntries"] = self.max_entries_sent[rid]
            return r.aws_prefix_list_expected(inputs), state
        rule = self._rule(rid)
        if rule["IsEgress"] != (type_ == r.AWS_OUT):
            return {"direction": type_}, {"direction": "egress" if rule["IsEgress"] else "ingress"}
        state = r.aws_rule_state(rule)
        if state["description"] is None and state["referencedSecurityGroupId"] and inputs.get("description"):
            # moto gap 7: DescribeSecurityGroupRules drops the description of a group
            # reference (real EC2 returns it); moto keeps it in DescribeSecurityGroups.
            self.gaps.add(MOTO_GAP_7)
            state["description"] = self._pair_description(rule)
        if state["description"] is None and state["prefixListId"] and inputs.get("description"):
            self.gaps.add(MOTO_GAP_9)  # not kept by moto at all (test_cidr_sets.py probes it): not comparable
            state["description"] = inputs["description"]
        return r.aws_rule_expected(inputs), state

    def _pair_description(self, rule: dict) -> str | None:
        group = self._group(rule["GroupId"])
        perms = group["IpPermissionsEgress" if rule["IsEgress"] else "IpPermissions"]
        for perm in perms:
            if perm["IpProtocol"] == rule["IpProtocol"] and perm.get("FromPort") == rule.get("FromPort") \
                    and perm.get("ToPort") == rule.get("ToPort"):
                for pair in perm.get("UserIdGroupPairs", []):
                    if pair["GroupId"] == rule["ReferencedGroupInfo"]["GroupId"]:
                        return pair.get("Description")
        return None

    def rules_in(self, groups: list[str]) -> list[str]:
        return [rule["SecurityGroupRuleId"] for rule in self._rules_of(groups)]
