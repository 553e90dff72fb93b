"""kubeports.plan.summary and the text of `kubeports plan`: a closing summary by type and
by role, invented values marked mock and stack values never; the program logs the notes'
summary; the rollout section of `diff` as plain text."""
from __future__ import annotations

import logging
import os

from kubeports.core.paths import ROOT
from kubeports.plan.offline import as_text, run_plan
from kubeports.plan.rollout import NodeStep, RoleStep, to_text
from kubeports.plan.summary import MOCK_LEGEND, mock_mark, summary_lines
from tests.plans import variant

DEV = os.path.join(ROOT, "Pulumi.dev.yaml")
CP = "urn:pulumi:dev::kubeports::kubeports:index:Cluster$kubeports:index:ControlPlane$openstack:x:Y::a"
W = "urn:pulumi:dev::kubeports::kubeports:index:Cluster$kubeports:index:Worker$openstack:x:Y::b"
CLUSTER = "urn:pulumi:dev::kubeports::kubeports:index:Cluster::dev"


def test_summary_counts_by_type_then_by_role():
    resources = [("openstack:x:Rule", CP), ("openstack:x:Rule", W), ("openstack:x:Rule", W),
                 ("openstack:x:Group", W), ("kubeports:index:Cluster", CLUSTER)]
    assert summary_lines(resources) == [
        "Resources:",
        "    + 5 to create",
        "",
        "By type:",
        "    openstack:x:Rule            3",
        "    kubeports:index:Cluster     1",
        "    openstack:x:Group           1",
        "",
        "By role:",
        "    control-plane               1",
        "    worker                      3",
        "    (cluster)                   1",
    ]


def test_mock_marks_name_the_kinds_of_invented_values_only():
    mocked = {"sg-a-id": "id", "10.1.2.3": "address", "image-u-id": "image id"}
    assert mock_mark("https://10.1.2.3:6443", mocked) == "  [mock: address]"
    assert mock_mark({"a": ["sg-a-id"], "b": [{"uuid": "image-u-id"}]}, mocked) == "  [mock: id, image id]"
    assert mock_mark(["10.1.2.30", "sg-a-idx", "10.0.0.0/8"], mocked) == ""
    assert mock_mark("sg-a-id", {}) == ""


def test_plan_text_marks_mock_values_and_ends_with_the_summary(run_cli):
    code, out, _err = run_cli("plan", "--stack", "dev")
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == f"# {MOCK_LEGEND}"
    assert "+ openstack:compute/instance:Instance  dev-control-plane-0  (mock id dev-control-plane-0-id)" in lines
    assert '    flavorName: "m1.large"' in lines  # from the stack: no mark
    assert '    securityGroupId: "dev-worker-sg-id"  [mock: id]' in lines
    [endpoint] = [line for line in lines if line.startswith("  api_endpoint: ")]
    assert endpoint.endswith(':6443"  [mock: address]')
    assert "  rule_count: 58" in lines
    assert lines[lines.index("Resources:"):] == [
        "Resources:",
        "    + 77 to create",
        "",
        "By type:",
        "    openstack:networking/secGroupRule:SecGroupRule    58",
        "    openstack:compute/instance:Instance                6",
        "    openstack:networking/port:Port                     6",
        "    openstack:compute/serverGroup:ServerGroup          2",
        "    openstack:networking/secGroup:SecGroup             2",
        "    kubeports:index:Cluster                            1",
        "    kubeports:index:ControlPlane                       1",
        "    kubeports:index:Worker                             1",
        "",
        "By role:",
        "    control-plane                                     33",
        "    worker                                            43",
        "    (cluster)                                          1",
    ]


def test_a_pinned_image_is_the_stacks_not_a_mock(tmp_path):
    def pin(config):
        config["kubeports:cluster"]["roles"]["worker"].update(image="ubuntu-22.04", imageId="0d1e-pinned")

    text = as_text(run_plan(variant(tmp_path, DEV, "pinned", pin)))
    devices = [line for line in text.splitlines() if line.startswith("    blockDevices: ")]
    pinned = [line for line in devices if '"uuid": "0d1e-pinned"' in line]
    looked_up = [line for line in devices if '"uuid": "image-ubuntu-24.04-id"' in line]
    assert (len(pinned), len(looked_up)) == (3, 3)
    assert not [line for line in pinned if "[mock" in line]
    assert all(line.endswith("}]  [mock: image id]") for line in looked_up)


def test_the_pulumi_program_logs_the_notes_summary(caplog):
    with caplog.at_level(logging.INFO):
        run_plan(DEV)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("kubeports: ")]
    assert logged == [
        "kubeports: calico mode ipip routes IPv6 pod addresses natively: pods (podCidrs) reach every port of the "
        "nodes that run them, etcd and kubelet included; see docs/promises.md (host firewall export, CNI host policy)",
        "kubeports: 9 flows skip roles this cluster lacks, 12 skip CIDR sets this stack leaves empty, "
        "3 land on a stand-in role or CIDR set; `kubeports rules --stack dev -v` lists them",
    ]


def test_the_rollout_section_as_plain_text():
    steps = [RoleStep("worker", 3, 1, (NodeStep("dev-worker-0", "replace", "create-first"),
                                       NodeStep("dev-worker-1", "replace", "create-first")), 3, 1, 3),
             RoleStep("control-plane", 3, 1, (), 1)]
    assert to_text(steps, ["worker: image 'u' moved"]) == (
        "Nodes this `pulumi up` replaces:\n"
        "  Refused (rollout limits):\n"
        "    - worker: this step replaces 2 nodes, more than maxUnavailable 1; change node settings through `rollout`\n"
        "\n"
        "  Role    Step  Nodes replaced (limit)  Nodes                                           Order\n"
        "  worker  1/3   2 (1)                   dev-worker-0 (replace), dev-worker-1 (replace)  create-first\n"
        "\n"
        "Images:\n"
        "  - worker: image 'u' moved\n")
    assert to_text([RoleStep("worker", 3, 1, (), 3)], ["a note"]) == "Images:\n  - a note\n"
    assert to_text([], []) == ""
