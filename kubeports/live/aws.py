"""EC2's security groups and rules through boto3: the describe-* documents, merged."""
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
    return {"SecurityGroups": groups, "SecurityGroupRules": rules}
