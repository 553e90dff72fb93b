"""Issue 17 §7: what `pulumi config set` writes. Secrets (`--secret`: a `{secure: ...}` value)
are accepted where nothing offline reads them, shown as [secret], and refused elsewhere in one
line; an object stored as a JSON string (no `--path`) reads as the object. Exact texts.

BASE's lines: 1 config, 2 cloud, 3 openstack:, 4 image, 5 flavor, 6 networkId, 7 userData:,
8 secure, 9 cluster:, 10 name, ..., 15 cidrs, 16 roles
"""
from __future__ import annotations

import json

import pytest
import yaml

from kubeports.core.errors import KubeportsError
from kubeports.core.project import load_project
from kubeports.core.stackvalues import Secret

CIPHER = "v1:c2VjcmV0LWNpcGhlcnRleHQtdGhhdC1tdXN0LW5vdC1sZWFr"
BASE = f"""\
config:
  kubeports:cloud: openstack
  kubeports:openstack:
    image: ubuntu
    flavor: m1.large
    networkId: net-1
    userData:
      secure: {CIPHER}
  kubeports:cluster:
    name: edge
    distribution: rke2
    kubernetesVersion: "1.31"
    cni: {{name: canal, mode: vxlan}}
    egress: strict
    cidrs: {{admin: [198.51.100.0/24]}}
    roles: {{control-plane: {{count: 3}}, worker: {{count: 2}}}}
"""
ONLY = "only kubeports:openstack.userData and kubeports:aws.userData may be secret"


def stack(tmp_path, text: str = BASE) -> str:
    path = tmp_path / "Pulumi.edge.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(path: str, **kwargs) -> list[str]:
    with pytest.raises(KubeportsError) as caught:
        load_project(path, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_a_secret_user_data_is_accepted_offline_and_shown_as_secret(tmp_path):
    project = load_project(stack(tmp_path))
    data = project.stack.openstack.user_data
    assert isinstance(data, Secret) and data.value is None
    assert repr(data) == str(data) == "[secret]"
    assert CIPHER not in repr(project.stack)


def test_the_runtime_plain_text_of_a_secret_stays_a_secret(tmp_path):
    """Pulumi hands the program the decrypted value; the stack file says it was secret."""
    path = stack(tmp_path)
    config = yaml.safe_load(BASE)["config"]
    config["kubeports:openstack"]["userData"] = "#cloud-config\npassword: hunter2\n"
    project = load_project(path, config=config)
    data = project.stack.openstack.user_data
    assert isinstance(data, Secret) and data.value == "#cloud-config\npassword: hunter2\n"
    assert "hunter2" not in repr(project.stack)


@pytest.mark.parametrize("old, new, expected", [
    pytest.param("cidrs: {admin: [198.51.100.0/24]}", f"cidrs: {{admin: [{{secure: {CIPHER}}}]}}",
                 "{f}:15: config.kubeports:cluster.cidrs.admin[0]: is a secret (pulumi config set --secret), but "
                 f"kubeports reads this value offline to resolve rules and name resources; {ONLY}", id="cidr"),
    pytest.param("    flavor: m1.large\n", f"    flavor: {{secure: {CIPHER}}}\n",
                 "{f}:5: config.kubeports:openstack.flavor: is a secret (pulumi config set --secret), but kubeports "
                 f"reads this value offline to resolve rules and name resources; {ONLY}", id="flavor"),
    pytest.param("  kubeports:cloud: openstack\n", f"  kubeports:cloud: {{secure: {CIPHER}}}\n",
                 "{f}:2: config.kubeports:cloud: is a secret (pulumi config set --secret), but kubeports reads this "
                 f"value offline to resolve rules and name resources; {ONLY}", id="cloud"),
])
def test_a_secret_where_rules_need_the_value_is_refused_in_one_line(tmp_path, old, new, expected):
    assert BASE.count(old) == 1
    path = stack(tmp_path, BASE.replace(old, new))
    found = problems(path)
    assert found == [expected.replace("{f}", path)]
    assert not any(CIPHER in line for line in found)


def test_a_whole_secret_object_is_refused_with_the_keys_that_may_be_secret(tmp_path):
    text = BASE.replace("  kubeports:openstack:\n    image: ubuntu\n    flavor: m1.large\n    networkId: net-1\n"
                        f"    userData:\n      secure: {CIPHER}\n", f"  kubeports:openstack: {{secure: {CIPHER}}}\n")
    path = stack(tmp_path, text)
    assert problems(path) == [f"{path}:3: config.kubeports:openstack: is a secret (pulumi config set --secret), but "
                              f"kubeports reads this value offline to resolve rules and name resources; {ONLY}"]


def test_a_json_string_cluster_reads_as_the_object(tmp_path):
    """`pulumi config set kubeports:cluster '{...}'` without --path stores a JSON string."""
    plain = load_project(stack(tmp_path))
    cluster = yaml.safe_load(BASE)["config"]["kubeports:cluster"]
    text = BASE.split("  kubeports:cluster:\n")[0] + f"  kubeports:cluster: '{json.dumps(cluster)}'\n"
    as_json = load_project(stack(tmp_path, text))
    assert as_json.stack.cluster == plain.stack.cluster
    assert as_json.resolution == plain.resolution


def test_a_json_string_that_does_not_parse_is_one_line(tmp_path):
    text = BASE.split("  kubeports:cluster:\n")[0] + "  kubeports:cluster: '{\"name\": \"edge\",}'\n"
    path = stack(tmp_path, text)
    assert problems(path) == [f"{path}:9: config.kubeports:cluster: a JSON string (as `pulumi config set` without "
                              "--path stores an object) that does not parse: Expecting property name enclosed in "
                              "double quotes at character 17"]


def test_an_error_inside_a_json_string_names_the_key_line(tmp_path):
    cluster = yaml.safe_load(BASE)["config"]["kubeports:cluster"] | {"egres": "open"}
    text = BASE.split("  kubeports:cluster:\n")[0] + f"  kubeports:cluster: '{json.dumps(cluster)}'\n"
    path = stack(tmp_path, text)
    assert problems(path) == [f"{path}:9: config.kubeports:cluster.egres: unknown key; did you mean 'egress'?"]
