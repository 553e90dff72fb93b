"""schema/portspec.schema.json (issue 2 §3): generated from the model, checked in, not stale;
every shipped spec file validates against it and broken files do not."""
from __future__ import annotations

import glob
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kubeports.cli import catalog as cli
from kubeports.core.paths import PORTSPECS
from kubeports.core.spec import ICMP_TYPES, SpecFile
from kubeports.core.yamlsrc import load_file, load_text

SPEC_FILES = sorted(glob.glob(os.path.join(PORTSPECS, "*.yaml")))


@pytest.fixture(scope="module")
def validator():
    jsonschema = pytest.importorskip("jsonschema")  # not in the dev extras yet: .venv/bin/pip install jsonschema
    with open(cli.SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_not_stale(run_cli):
    assert run_cli("schema", "--check") == (0, "", "")
    with open(cli.SCHEMA_PATH, encoding="utf-8") as handle:
        assert handle.read() == cli.schema_text()


def test_a_stale_schema_is_detected(run_cli, monkeypatch, tmp_path):
    stale = tmp_path / "portspec.schema.json"
    stale.write_text(cli.schema_text().replace('"tcp+udp"', '"tcp-udp"'))
    monkeypatch.setattr(cli, "SCHEMA_PATH", str(stale))
    code, out, err = run_cli("schema", "--check")
    assert (code, out) == (1, "")
    assert err.startswith(f"{stale}:1: (schema): stale; run `kubeports schema > ")


def test_schema_command_prints_the_checked_in_schema(run_cli):
    code, out, _ = run_cli("schema")
    assert code == 0 and json.loads(out)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", SPEC_FILES, ids=os.path.basename)
def test_shipped_spec_validates(validator, path):
    doc, problems = load_file(path)
    assert not problems
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc.data)]
    assert errors == []


def test_every_file_declares_the_schema_for_editors():
    for path in SPEC_FILES:
        with open(path, encoding="utf-8") as handle:
            assert handle.readline().strip() == "# yaml-language-server: $schema=../schema/portspec.schema.json", path


FLOW = "{name: web, purpose: a web port, protocol: tcp, ports: 8080, to: [worker], from: [self]}"
BROKEN = {
    "unknown-key": f"source: https://example.com/x\ntitle: t\nflows: [{FLOW}]\ntypo: 1\n",
    "unknown-key-in-flow": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("}", ", prots: 1}") + "]\n",
    "port-0": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("8080", "0") + "]\n",
    "port-65536": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("8080", "65536") + "]\n",
    "port-not-a-name": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("8080", "ABC") + "]\n",
    "protocol-unknown": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("tcp", "sctp") + "]\n",
    "protocol-300": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("tcp", "300") + "]\n",
    "missing-source": f"title: t\nflows: [{FLOW}]\n",
    "bad-source": f"source: example.com\ntitle: t\nflows: [{FLOW}]\n",
    "flows-not-a-list": f"source: https://example.com/x\ntitle: t\nflows: {FLOW}\n",
    "to-not-a-list": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("[worker]", "worker") + "]\n",
    "empty-to": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("[worker]", "[]") + "]\n",
    "unknown-icmp-type": "source: https://example.com/x\ntitle: t\nflows: [{name: p, purpose: ping, protocol: icmp, "
                         "icmp: echo, to: [worker], from: [self]}]\n",
    "family-lowercase": "source: https://example.com/x\ntitle: t\nflows: [" + FLOW.replace("}", ", family: ipv4}") + "]\n",
    "cidr-set-without-purpose": "source: https://example.com/x\ntitle: t\ncidr-sets: {office: {default: []}}\n",
    "cni-without-modes": "source: https://example.com/x\ntitle: t\ncni: {name: x, purpose: y, modes: {}}\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_file_fails_the_schema_and_the_loader(validator, text):
    doc, problems = load_text(text, "broken.yaml")
    assert not problems
    assert list(validator.iter_errors(doc.data))
    with pytest.raises(ValidationError):
        SpecFile.model_validate(doc.data)


def test_a_shipped_file_broken_fails(validator):
    doc, _ = load_file(os.path.join(PORTSPECS, "kubernetes.yaml"))
    assert not list(validator.iter_errors(doc.data))
    doc.data["flows"][0]["ports"] = 0
    assert list(validator.iter_errors(doc.data))


# The schema may be looser than the model (it cannot see reversed ranges, host bits or
# names defined in other files), but it must never reject a file the model accepts:
# editors would flag correct files.
PORT = st.one_of(st.integers(1, 65535), st.integers(1, 65535).map(str),
                 st.tuples(st.integers(1, 65535), st.integers(1, 65535)).map(lambda t: f"{min(t)}-{max(t)}"),
                 st.sampled_from(["kube-apiserver", "nodeport-range", "etcd"]))
FLOWS = st.fixed_dictionaries(
    {"name": st.sampled_from(["web", "api-server", "x1"]), "purpose": st.sampled_from(["a purpose", "Kubelet API"]),
     "protocol": st.one_of(st.sampled_from(["tcp", "udp", "tcp+udp", "icmp", "all"]), st.integers(0, 255)),
     "to": st.lists(st.sampled_from(["worker", "control-plane", "nodes"]), min_size=1, max_size=2),
     "from": st.lists(st.sampled_from(["self", "worker", "admin"]), min_size=1, max_size=2)},
    optional={"ports": st.one_of(PORT, st.lists(PORT, min_size=1, max_size=3)),
              "icmp": st.sampled_from(sorted(ICMP_TYPES)), "bidirectional": st.booleans(),
              "family": st.sampled_from(["IPv4", "IPv6"]),
              "when": st.fixed_dictionaries({}, optional={"cni": st.just(["calico"]), "kubernetes": st.just("<1.23"),
                                                          "distribution": st.just(["rke2"])})})


@settings(max_examples=150, deadline=None)
@given(st.lists(FLOWS, max_size=3))
def test_what_the_model_accepts_the_schema_accepts(validator, flows):
    data = {"source": "https://example.com/x", "title": "generated", "flows": flows}
    try:
        SpecFile.model_validate(data)
    except ValidationError:
        return
    assert [e.message for e in validator.iter_errors(data)] == []
