"""kubeports.plan.adopt: the import file for hand-made groups that partly match, and the
reviewer's view of the next `pulumi up`, from the real offline plan."""
from __future__ import annotations

import json
import os

import pytest

from kubeports.core.audit import map_roles
from kubeports.core.live import parse_text
from kubeports.core.paths import ROOT
from tests.core.test_audit import KUBELET_WORLD, drop, neutron_dump, neutron_rows

pytest.importorskip("pulumi")

# Pulumi's documented import-file fields (pulumi import --file; ImportResource in the Automation API).
IMPORT_FIELDS = {"type", "name", "id", "parent", "provider", "version", "pluginDownloadUrl", "logicalName",
                 "properties", "component", "remote"}


@pytest.fixture(scope="module")
def dev_plan():
    from kubeports.plan.offline import run_plan

    return run_plan(os.path.join(ROOT, "Pulumi.dev.yaml")).to_json()


def nodes(plan) -> list[str]:
    """What adoption does not cover (instances, ports, server groups): the next up creates them."""
    return [r["name"] for r in plan["resources"] if not r["type"].startswith("kubeports:")
            and not r["type"].endswith(("SecGroup", "SecGroupRule"))]


def adoption(project, plan, rows):
    from kubeports.plan.adopt import adopt

    state = parse_text(neutron_dump(project, rows), "dump.json")
    mapping = map_roles(state, ["control-plane", "worker"], {}, project.stack.cluster.name)
    return adopt(plan, state, mapping, project.stack.cluster.name), state


def test_partly_matching_groups_adopt_what_matches_and_predict_the_rest(projects, dev_plan):
    project = projects["dev"]
    rows = drop(neutron_rows(project), security_group_id="sg-control-plane", port_range_min=6443,
                remote_group_id="sg-worker") + [KUBELET_WORLD]
    result, state = adoption(project, dev_plan, rows)
    planned_rules = [r["name"] for r in dev_plan["resources"] if r["type"].endswith("SecGroupRule")]
    missing = sorted(f"dev-{r.key}" for r in project.resolution.rules
                     if r.role == "control-plane" and r.from_port == 6443 and r.peer == "worker")
    assert result.creates == sorted(missing + nodes(dev_plan))
    assert result.deletes == ["dev-adopted-kubelet-world: ingress tcp 10250 from cidr 0.0.0.0/0 (IPv4)"]
    assert sorted(result.adopted) == sorted(["dev-control-plane-sg", "dev-worker-sg",
                                             *[n for n in planned_rules if n not in missing]])
    ids = {r.rule_id for r in state.rules} | set(state.groups)
    names = []
    for entry in result.import_file()["resources"]:
        assert set(entry) <= IMPORT_FIELDS
        assert entry.get("component") or entry["id"] in ids  # every id exists where it was read
        assert entry.get("parent") is None or entry["parent"] in names  # parents come first
        names.append(entry["name"])
    assert len(names) == len(set(names))
    json.dumps(result.import_file())


def test_a_perfect_match_adopts_everything_and_changes_only_names_and_tags(projects, dev_plan):
    project = projects["dev"]
    result, _ = adoption(project, dev_plan, neutron_rows(project))
    assert result.creates == sorted(nodes(dev_plan)) and result.deletes == [] and result.kept == []
    assert len(nodes(dev_plan)) == 14  # 6 instances, their 6 ports, 2 server groups
    assert result.updates == ["dev-control-plane-sg: name 'hand-made-control-plane' -> 'dev-control-plane'",
                              "dev-control-plane-sg: description '' -> 'kubeports dev control-plane nodes'",
                              "dev-control-plane-sg: tags +kubeports:cluster=dev",
                              "dev-worker-sg: name 'hand-made-worker' -> 'dev-worker'",
                              "dev-worker-sg: description '' -> 'kubeports dev worker nodes'",
                              "dev-worker-sg: tags +kubeports:cluster=dev"]


def test_a_neutron_rule_keeps_its_own_description_rather_than_being_replaced(projects, dev_plan):
    """A Neutron rule cannot change its text without a delete first (a gap in traffic): the
    program ignores description changes there, and adopt says the rule's own text stays."""
    project = projects["dev"]
    rows = neutron_rows(project)
    rows[0] = dict(rows[0], description="typed by hand")
    result, _ = adoption(project, dev_plan, rows)
    assert [u for u in result.updates if "description" in u and "-sg:" not in u] == []
    assert result.kept == [f"dev-{project.resolution.rules[0].key}: description 'typed by hand' kept (ignoreChanges)"]


def test_the_commands_exit_codes_and_one_line_errors(run_cli, projects, tmp_path):
    project = projects["dev"]
    clean = tmp_path / "clean.json"
    clean.write_text(neutron_dump(project, neutron_rows(project)))
    bad = tmp_path / "bad.json"
    bad.write_text(neutron_dump(project, neutron_rows(project) + [KUBELET_WORLD]))
    code, out, _ = run_cli("audit", "--stack", "dev", "--dump", str(clean))
    assert (code, out.splitlines()[0]) == (0, f"audit (openstack): {len(project.resolution.rules)} required rules "
                                              f"against {len(neutron_rows(project))} live rules in 2 groups: no findings")
    assert run_cli("audit", "--stack", "dev", "--dump", str(bad), "--format", "json")[0] == 4
    assert run_cli("audit", "--stack", "dev")[:2] == (1, "")
    assert run_cli("audit", "--stack", "dev")[2].splitlines()[-1] == (
        "kubeports audit:1: --dump/--live: give --dump FILE (repeatable) or --live")
    code, out, err = run_cli("audit", "--stack", "prod-aws", "--dump", str(clean))
    assert (code, err.splitlines()[-1]) == (1, f"{clean}:1: (audit): a openstack dump for a aws stack")
    target = tmp_path / "import.json"
    code, out, _ = run_cli("adopt", "--stack", "dev", "--dump", str(bad), "--output", str(target))
    assert code == 0 and out.startswith("adopt: ")
    assert json.loads(target.read_text())["resources"]


def test_a_cidr_held_with_host_bits_is_an_extra_rule_not_adopted(projects, dev_plan):
    """`198.51.100.10/24` admits what `198.51.100.0/24` does, but the provider compares the
    text and would replace it (delete first): the clean rule is adopted, the other deleted."""
    project = projects["dev"]
    rows = neutron_rows(project)
    ssh = next(r for r in rows if r["security_group_id"] == "sg-worker" and r["port_range_min"] == 22)
    rows.append(dict(ssh, id="host-bits", remote_ip_prefix="198.51.100.10/24"))
    result, _ = adoption(project, dev_plan, rows)
    assert result.deletes == ["dev-adopted-host-bits: ingress tcp 22 from cidr 198.51.100.0/24 (IPv4)"]
    ids = {e["name"]: e.get("id") for e in result.import_file()["resources"]}
    assert ids["dev-worker-in-tcp-22-from-198.51.100.0-24-v4"] == ssh["id"]
    rows[-1], rows[rows.index(ssh)] = ssh, rows[-1]  # the dump's order changes nothing
    assert adoption(project, dev_plan, rows)[0].deletes == result.deletes
