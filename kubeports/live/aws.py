"""EC2's security groups and rules through boto3: the describe-* documents, merged, with the
customer-managed prefix lists the rules reference (`PrefixLists`, each with its `Entries`)
and every customer-managed list the account holds in the Region (`RegionPrefixLists`, for
the per-Region quota): kubeports' bundle, see kubeports.core.live."""
from __future__ import annotations

from typing import Any


def read_groups(vpc_id: str | None = None) -> dict[str, Any]:
    import boto3  # optional: only `kubeports audit --live` on AWS needs it

    ec2 = boto3.client("ec2")
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []
    groups: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=filters):
        groups += page["SecurityGroups"]
    ids = [g["GroupId"] for g in groups]
    rules: list[dict[str, Any]] = []
    if ids:
        pager = ec2.get_paginator("describe_security_group_rules")
        for page in pager.paginate(Filters=[{"Name": "group-id", "Values": ids}]):
            rules += page["SecurityGroupRules"]
    try:
        region: dict[str, Any] = {"RegionPrefixLists": region_prefix_lists(ec2, boto3.client("sts"))}
    except Exception as exc:  # noqa: BLE001 - the count is an extra: the groups' audit goes on without it
        region = {"RegionPrefixListsError": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    return {"SecurityGroups": groups, "SecurityGroupRules": rules, **prefix_lists(ec2, rules), **region}


def region_prefix_lists(ec2: Any, sts: Any) -> list[dict[str, Any]]:
    """Every customer-managed prefix list this account holds in the Region, without entries:
    what EC2's "Prefix lists per Region" counts. Owned by the caller's account (an AWS-managed
    list's owner is `AWS`; a list another account shares counts against that account)."""
    account = sts.get_caller_identity()["Account"]
    lists: list[dict[str, Any]] = []
    pager = ec2.get_paginator("describe_managed_prefix_lists")
    for page in pager.paginate(Filters=[{"Name": "owner-id", "Values": [account]}]):
        lists += [{k: found[k] for k in ("PrefixListId", "PrefixListName", "OwnerId", "Tags") if k in found}
                  for found in page["PrefixLists"]]
    return lists


def prefix_lists(ec2: Any, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The prefix lists the rules name, each with its entries (get_managed_prefix_list_entries
    pages; a list another account shares is read the same way)."""
    ids = sorted({r["PrefixListId"] for r in rules if r.get("PrefixListId")})
    if not ids:
        return {}
    lists: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_managed_prefix_lists").paginate(PrefixListIds=ids):
        lists += page["PrefixLists"]
    for found in lists:
        entries: list[dict[str, Any]] = []
        for page in ec2.get_paginator("get_managed_prefix_list_entries").paginate(PrefixListId=found["PrefixListId"]):
            entries += page["Entries"]
        found["Entries"] = entries
    return {"PrefixLists": lists}
