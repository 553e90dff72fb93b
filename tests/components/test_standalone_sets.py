"""A role alone (no Cluster) with set rules: it creates the address groups it references
itself, as its children (components/backend.py `cidr_sets`), one per set and family."""
from __future__ import annotations

import os
import textwrap

from kubeports.core.paths import ROOT
from kubeports.plan.offline import run_plan
from tests.plans import by_name, variant

PROGRAM = textwrap.dedent('''
    import pulumi
    from kubeports.components import NodeRoleArgs, Worker, backend_for
    from kubeports.components.runtime_config import kubeports_config
    from kubeports.core.project import load_project, stack_path

    project = load_project(stack_path(pulumi.get_stack()), config=kubeports_config())
    rules = [r for r in project.cloud_rules if r.role == "worker"]
    Worker("pool", NodeRoleArgs(backend_for(project.stack), project.stack.cluster.roles["worker"], rules=rules,
                                peer_group_ids={"control-plane": "sg-control-plane"}))
''')


def test_a_role_alone_creates_the_address_groups_it_references(tmp_path):
    stack = variant(tmp_path, os.path.join(ROOT, "Pulumi.dev.yaml"), "dev", lambda c: c["kubeports:openstack"].update(
        addressGroups=True))
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM)
    plan = by_name(run_plan(stack, program=str(program)))
    groups = {name: res for name, res in plan.items() if res.type == "openstack:networking/addressGroupV2:AddressGroupV2"}
    assert sorted(groups) == ["dev-set-admin-v4", "dev-set-nodeport-clients-v4"]
    assert all(res.parent.endswith("kubeports:index:Worker::pool") for res in groups.values())
    assert plan["dev-worker-in-tcp-22-from-admin-v4"].inputs["remoteAddressGroupId"] == groups["dev-set-admin-v4"].id
