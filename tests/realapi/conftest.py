"""Session fixtures of the real-API tier: one real Neutron and one moto per session, a
fresh project (Neutron) or a reset account (moto) per test.

Rules of this file:
- the servers run from their own pinned venvs (venvs.py), built here if `.ci/run` has not;
  the tier skips with the named reason `realapi-venv-unavailable` only when that build
  fails (offline without a cache), never silently;
- what a stack is *given* rather than creates (the network and subnet on OpenStack, the
  VPC on AWS) is created here per test, and the stack's ids for them map to the real ones.
"""
from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from tests.realapi import render as r
from tests.realapi import servers, venvs
from tests.realapi.apply import STEP_COUNTS, Applier, Ec2Driver, NeutronDriver

TIMINGS: dict[str, float] = {}


def _python_or_skip(venv: venvs.ServerVenv):
    try:
        return venvs.ensure(venv)
    except venvs.VenvUnavailable as exc:
        pytest.skip(f"realapi-venv-unavailable: {exc}")


@pytest.fixture(scope="session")
def neutron_url(tmp_path_factory):
    python = _python_or_skip(venvs.NEUTRON)
    started = time.monotonic()
    url, proc = servers.start_neutron(python, tmp_path_factory.mktemp("neutron"))
    TIMINGS["neutron start"] = time.monotonic() - started
    yield url
    servers.stop(proc)


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    python = _python_or_skip(venvs.MOTO)
    started = time.monotonic()
    url, proc = servers.start_moto(python, tmp_path_factory.mktemp("moto"))
    TIMINGS["moto start"] = time.monotonic() - started
    yield url
    servers.stop(proc)


def neutron_driver(url: str) -> NeutronDriver:
    """A driver on a fresh random project: Neutron's default quotas, its own `default` group."""
    import openstack
    conn = openstack.connection.Connection(auth_type="none", network_endpoint_override=url)
    return NeutronDriver(conn, uuid.uuid4().hex)


def ec2_client(url: str):
    """A client on a reset moto: one clean account."""
    import boto3
    from botocore.config import Config
    servers.reset_moto(url)
    return boto3.client("ec2", endpoint_url=url, region_name="eu-central-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def neutron(neutron_url) -> NeutronDriver:
    return neutron_driver(neutron_url)


@pytest.fixture
def ec2(moto_url):
    return ec2_client(moto_url)


def pytest_terminal_summary(terminalreporter):
    """The step counts of the change scenarios that ran (docs/real-api.md quotes them)."""
    if STEP_COUNTS:
        terminalreporter.write_sep("-", "real-API change steps (create / update / replace / delete)")
        for scenario, counts in sorted(STEP_COUNTS.items()):
            terminalreporter.write_line(f"{scenario}: " + " / ".join(str(counts[k]) for k in
                                                                     ("create", "update", "replace", "delete")))


def openstack_applier(driver: NeutronDriver, stack_docs: list[Mapping[str, Any]], servers: bool = False) -> Applier:
    """An applier whose stacks' networkId/subnetId are a real network and subnet of the project
    (the subnet is `subnetCidr`, else 10.0.0.0/24, as a stack with a load balancer says).
    `servers`: send the servers too, to apply.EmulatedNova."""
    applier = Applier(driver, servers)
    for doc in stack_docs:
        conf = doc["config"].get("kubeports:openstack", {})
        net_id = conf["networkId"]
        if net_id not in applier.external:
            net = driver.call("POST", "/networks", {"network": {"name": f"given-{net_id[-4:]}", "project_id": driver.project_id,
                                                                  "port_security_enabled": True}})["network"]
            applier.external[net_id] = net["id"]
        cidr = conf.get("subnetCidr", "10.0.0.0/24")
        sub_id = conf.get("subnetId") or f"auto-subnet-of-{net_id}"
        if sub_id not in applier.external:
            sub = driver.call("POST", "/subnets", {"subnet": {
                "network_id": applier.external[net_id], "cidr": cidr, "ip_version": ipaddress.ip_network(cidr).version,
                "project_id": driver.project_id}})["subnet"]
            applier.external[sub_id] = sub["id"]
    return applier


def aws_applier(ec2, stack_docs: list[Mapping[str, Any]]) -> Applier:
    driver = Ec2Driver(ec2)
    applier = Applier(driver)
    for doc in stack_docs:
        vpc = doc["config"]["kubeports:aws"]["vpcId"]
        if vpc not in applier.external:
            dual = "IPv6" in doc["config"]["kubeports:cluster"].get("ipFamilies", ["IPv4"])
            made = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=dual)["Vpc"]
            applier.external[vpc] = made["VpcId"]
    return applier


def count_rules(plan_json: Mapping[str, Any], cloud: str) -> int:
    rule_types = (r.OS_RULE,) if cloud == "openstack" else r.AWS_RULES
    return sum(1 for res in plan_json["resources"] if res["type"] in rule_types)
