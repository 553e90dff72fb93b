"""Neutron's security groups through openstacksdk: the `{"security_groups": [...]}` document."""
from __future__ import annotations

from typing import Any


def read_groups() -> dict[str, Any]:
    import openstack  # optional: only `kubeports audit --live` on OpenStack needs it

    conn = openstack.connect()
    # A project-scoped token (an admin's too) reads its project; a session without one
    # (noauth) reads what it may, and the audit counts quotas per project (core.audit).
    scope = {"project_id": conn.current_project_id} if conn.current_project_id else {}
    groups = []
    for group in conn.network.security_groups(**scope):
        data = group.to_dict(computed=False)
        data["security_group_rules"] = [rule.to_dict(computed=False) for rule in
                                        conn.network.security_group_rules(security_group_id=group.id)]
        groups.append(data)
    return {"security_groups": groups}
