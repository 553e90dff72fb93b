"""Neutron's security groups through openstacksdk: the `{"security_groups": [...]}` document,
with the project's address groups beside it (`address_groups`, kubeports' bundle: see
kubeports.core.live) where the cloud has the `address-group` extension.

The API's own JSON (GET /v2.0/security-groups, each group with its rules), not the SDK's
resource objects: their `to_dict()` renames fields (`ether_type`), and a saved dump is
the API's JSON, so the one parser reads both alike.
"""
from __future__ import annotations

from typing import Any


def read_groups() -> dict[str, Any]:
    import openstack  # optional: only `kubeports audit --live` on OpenStack needs it

    conn = openstack.connect()
    # A project-scoped token (an admin's too) reads its project; a session without one
    # (noauth) reads what it may, and the audit counts quotas per project (core.audit).
    params: dict[str, Any] | None = {"project_id": conn.current_project_id} if conn.current_project_id else {}
    groups: list[dict[str, Any]] = []
    url: str | None = "/security-groups"
    while url:  # a server with `pagination_max_limit` set answers page by page
        response = conn.network.get(url, params=params)
        response.raise_for_status()
        body = response.json()
        groups += body["security_groups"]
        url = next((link["href"] for link in body.get("security_groups_links") or [] if link.get("rel") == "next"), None)
        params = None  # the next link carries the query
    return {"security_groups": groups, **address_groups(conn)}


def address_groups(conn: Any) -> dict[str, Any]:
    """The project's address groups as the API names their fields (`conn.network.address_groups()`
    pages through them); none where the cloud lacks the extension (a rule then names none)."""
    if not conn.network.find_extension("address-group"):
        return {}
    query = {"project_id": conn.current_project_id} if conn.current_project_id else {}
    return {"address_groups": [{"id": g.id, "name": g.name or "", "description": g.description or "",
                                "project_id": g.project_id or "", "addresses": list(g.addresses or [])}
                               for g in conn.network.address_groups(**query)]}
