"""The loader/validator (issue 2 §4): every bad input gets its exact one-line error,
`path:line: field: message`, every problem in every file is reported at once, and the
CLI prints them and exits non-zero, never with a traceback.

Each case adds one file, `zz-case.yaml`, to a copy of the real catalog, so names other
files define (named ports, CIDR sets, CNIs, add-ons) exist exactly as in production.
`{f}` in an expected line stands for that file's path, `{api}` for where kubernetes.yaml
defines the named port kube-apiserver.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from kubeports.core.catalog import load_catalog
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import ROOT

HEAD = "source: https://example.com/ports\ntitle: a test table\nflows:\n"


def one_flow(**fields: str) -> str:
    """A valid one-line flow (line 4 of the file), with `fields` replaced or added."""
    base = {"name": "web", "purpose": "a test flow", "protocol": "tcp", "ports": "8080",
            "to": "[worker]", "from": "[self]"}
    base.update(fields)
    body = ", ".join(f"{k}: {v}" for k, v in base.items() if v is not None)
    return HEAD + f"  - {{{body}}}\n"


CASES = [
    # --- YAML itself
    pytest.param(HEAD + "  - name: web\n    purpose: a test flow\n     protocol: tcp\n",
                 ["{f}:6: (syntax): YAML syntax error: mapping values are not allowed here"], id="yaml-syntax-indent"),
    pytest.param(HEAD + "  - {name: web, purpose: x, protocol: tcp, ports: 1, to: [worker], from: [self]\n",
                 ["{f}:5: (syntax): YAML syntax error: expected ',' or '}', but got '<stream end>'"],
                 id="yaml-syntax-unclosed"),
    pytest.param(HEAD + "  - name: web\n    name: api\n",
                 ["{f}:5: flows[0].name: duplicate key"], id="yaml-duplicate-key"),
    pytest.param("", ["{f}:1: (document): file is empty"], id="empty-file"),
    pytest.param("# nothing but a comment\n\n", ["{f}:1: (document): file is empty"], id="comment-only-file"),
    pytest.param("- a\n- b\n", ["{f}:1: (document): must be a mapping with source, title and flows"], id="not-a-mapping"),
    pytest.param(b"\xff\xfe\x00garbage", ["{f}:1: (file): not UTF-8 text"], id="not-utf8"),
    pytest.param("a: &a [*a]\n", ["{f}:1: a" + "[0]" * 64 + ": nested deeper than 64 levels"], id="recursive-alias"),
    # --- unknown keys (typos)
    pytest.param(HEAD + "  - name: web\n    purpose: a test flow\n    protocol: tcp\n    prots: 8080\n"
                 "    to: [worker]\n    from: [self]\n",
                 ["{f}:7: flows[0].prots: unknown key; did you mean 'ports'?"], id="unknown-key-in-flow"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\nflow: []\n",
                 ["{f}:3: flow: unknown key; did you mean 'flows'?"], id="unknown-key-top-level"),
    pytest.param(one_flow(when="{cni: [calico], kubernets: '<1.23'}"),
                 ["{f}:4: flows[0].when.kubernets: unknown key; did you mean 'kubernetes'?"], id="unknown-key-in-when"),
    # --- bad ports
    pytest.param(one_flow(ports="0"), ["{f}:4: flows[0].ports: port 0 is out of range 1-65535"], id="port-0"),
    pytest.param(one_flow(ports="65536"), ["{f}:4: flows[0].ports: port 65536 is out of range 1-65535"],
                 id="port-65536"),
    pytest.param(one_flow(ports="abc"), ["{f}:4: flows[0].ports: unknown named port 'abc'"], id="port-abc"),
    pytest.param(one_flow(ports="[8080, abc]"), ["{f}:4: flows[0].ports[1]: unknown named port 'abc'"],
                 id="port-abc-in-list"),
    pytest.param(one_flow(ports="ABC"),
                 ["{f}:4: flows[0].ports: 'ABC' is not a port, a range 'lo-hi' or a named port"], id="port-not-a-name"),
    pytest.param(one_flow(ports="2380-2379"), ["{f}:4: flows[0].ports: range 2380-2379 is reversed"],
                 id="port-range-reversed"),
    pytest.param(one_flow(ports="[80, 0]"), ["{f}:4: flows[0].ports: port 0 is out of range 1-65535"],
                 id="port-0-in-list"),
    pytest.param(one_flow(ports="[]"), ["{f}:4: flows[0].ports: must list at least one port"], id="ports-empty-list"),
    pytest.param(one_flow(ports="true"),
                 ["{f}:4: flows[0].ports: True is not a port, a range 'lo-hi' or a named port"], id="port-bool"),
    pytest.param(one_flow(ports=None), ["{f}:4: flows[0].protocol: protocol tcp needs ports"], id="ports-missing"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\nports:\n  web: {port: 0, purpose: x}\n",
                 ["{f}:4: ports.web.port: port 0 is out of range 1-65535"], id="named-port-0"),
    # --- protocols
    pytest.param(one_flow(protocol="sctp"),
                 ["{f}:4: flows[0].protocol: unknown protocol 'sctp'; use tcp, udp, tcp+udp, icmp, all or an IP "
                  "protocol number"], id="protocol-unknown"),
    pytest.param(one_flow(protocol="6"),
                 ["{f}:4: flows[0].protocol: write 'tcp' instead of protocol number 6"], id="protocol-number-of-tcp"),
    pytest.param(one_flow(protocol="300", ports=None),
                 ["{f}:4: flows[0].protocol: IP protocol number 300 is out of range 1-255"], id="protocol-300"),
    # --- ports on a protocol that has none
    pytest.param(one_flow(protocol="icmp"), ["{f}:4: flows[0].ports: protocol icmp has no ports"], id="ports-on-icmp"),
    pytest.param(one_flow(protocol="4"), ["{f}:4: flows[0].ports: protocol 4 has no ports"], id="ports-on-ipip"),
    pytest.param(one_flow(protocol="all"), ["{f}:4: flows[0].ports: protocol all has no ports"], id="ports-on-all"),
    pytest.param(one_flow(icmp="echo-request"), ["{f}:4: flows[0].icmp: icmp is only for protocol icmp"],
                 id="icmp-type-on-tcp"),
    # --- IPv6 protocols: Neutron refuses them with ethertype IPv4 (_validate_ethertype_and_protocol)
    *[pytest.param(one_flow(protocol=str(n), ports=None),
                   [f"{{f}}:4: flows[0].protocol: protocol {n} is an IPv6 protocol and Neutron refuses it with IPv4; "
                    "set family: IPv6"], id=f"ipv6-protocol-{n}-without-family") for n in (41, 43, 44, 59, 60)],
    pytest.param(one_flow(protocol="41", ports=None, family="IPv4"),
                 ["{f}:4: flows[0].family: protocol 41 is an IPv6 protocol and Neutron refuses it with IPv4; "
                  "set family: IPv6"], id="ipv6-protocol-with-family-ipv4"),
    # --- purposes become rule descriptions: AWS's character set, no control characters
    *[pytest.param(one_flow(purpose=repr(text)),
                   [f"{{f}}:4: flows[0].purpose: character {bad!r} is refused in AWS rule descriptions; use "
                    "letters, digits, space and ._-:/()#,@[]+=&;{}!$*"], id=f"purpose-char-{name}")
      for name, text, bad in (("apostrophe", "the operators' SSH", "'"), ("accent", "café API", "é"),
                              ("percent", "100% of it", "%"), ("less-than", "a<b", "<"), ("quote", 'say "hi"', '"'),
                              ("dash", "a – b", "–"), ("question", "why?", "?"))],
    pytest.param(one_flow(purpose='"bell \\a here"'),
                 ["{f}:4: flows[0].purpose: contains the control character U+0007"], id="purpose-control-bel"),
    pytest.param(one_flow(purpose='"esc \\e[31m red"'),
                 ["{f}:4: flows[0].purpose: contains the control character U+001B"], id="purpose-control-esc"),
    pytest.param("source: https://example.com/ports\ntitle: \"a \\u202e title\"\nflows: []\n",
                 ["{f}:2: title: contains the control character U+202E"], id="title-control-bidi"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\ncidr-sets:\n"
                 "  office: {purpose: \"the operators' office\"}\n",
                 ["{f}:4: cidr-sets.office.purpose: character \"'\" is refused in AWS rule descriptions; use "
                  "letters, digits, space and ._-:/()#,@[]+=&;{}!$*"], id="cidr-set-purpose-char"),
    # --- unknown role or CIDR set
    pytest.param(one_flow(to="[wrker]"), ["{f}:4: flows[0].to[0]: unknown role or CIDR set 'wrker'; did you mean 'worker'?"],
                 id="unknown-role-to"),
    pytest.param(one_flow(**{"from": "[self, admins]"}),
                 ["{f}:4: flows[0].from[1]: unknown role or CIDR set 'admins'; did you mean 'admin'?"],
                 id="unknown-cidr-set-from"),
    pytest.param(one_flow(to="[worker, self]"), ["{f}:4: flows[0].to[1]: 'self' belongs in from, not to"],
                 id="self-in-to"),
    pytest.param(one_flow(to="[admin]", **{"from": "[anywhere]"}),
                 ["{f}:4: flows[0]: a flow needs a role on at least one side"], id="no-role-on-either-side"),
    # --- malformed CIDRs
    pytest.param("source: https://example.com/ports\ntitle: a test table\ncidr-sets:\n"
                 "  office: {purpose: x, default: [10.0.0.0/33]}\n",
                 ["{f}:4: cidr-sets.office.default[0]: '10.0.0.0/33' is not a CIDR"], id="cidr-bad-prefix"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\ncidr-sets:\n"
                 "  office: {purpose: x, default: [10.0.0.1/8]}\n",
                 ["{f}:4: cidr-sets.office.default[0]: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?"],
                 id="cidr-host-bits"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\ncidr-sets:\n"
                 "  office:\n    purpose: x\n    default:\n      - 2001:db8::/32\n      - not-a-cidr\n",
                 ["{f}:8: cidr-sets.office.default[1]: 'not-a-cidr' is not a CIDR"], id="cidr-garbage"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\ncidr-sets:\n  anywhere: {purpose: x}\n",
                 ["{f}:4: cidr-sets.anywhere: name is reserved for a role or built-in peer"], id="cidr-set-reserved"),
    # --- duplicate entry names
    pytest.param(HEAD + "  - {name: web, purpose: x, protocol: tcp, ports: 80, to: [worker], from: [self]}\n"
                 "  - {name: web, purpose: y, protocol: tcp, ports: 81, to: [worker], from: [self]}\n",
                 ["{f}:5: flows[1].name: duplicate entry name 'web' (first at line 4)"], id="duplicate-entry-name"),
    # --- `when` naming unknown things
    pytest.param(one_flow(when="{cni: [weave]}"), ["{f}:4: flows[0].when.cni[0]: unknown CNI 'weave'"],
                 id="when-unknown-cni"),
    pytest.param("source: https://example.com/ports\ntitle: a test table\nwhen: {cni: [calico, weave]}\n",
                 ["{f}:3: when.cni[1]: unknown CNI 'weave'"], id="file-when-unknown-cni"),
    pytest.param(one_flow(when="{cni: [calico], cni-mode: [ipipip]}"),
                 ["{f}:4: flows[0].when.cni-mode[0]: unknown CNI mode 'ipipip'; did you mean 'ipip'?"],
                 id="when-unknown-cni-mode"),
    pytest.param(one_flow(when="{addons: [ingress-ngnix]}"),
                 ["{f}:4: flows[0].when.addons[0]: unknown add-on 'ingress-ngnix'; did you mean 'ingress-nginx'?"],
                 id="when-unknown-addon"),
    pytest.param(one_flow(when="{kubernetes: 'before 1.23'}"),
                 ["{f}:4: flows[0].when.kubernetes: 'before 1.23' is not a version range like '>=1.20,<1.23'"],
                 id="when-bad-version-range"),
    pytest.param(one_flow(when="{distribution: [k3os]}"),
                 ["{f}:4: flows[0].when.distribution[0]: 'k3os' is not one of: kubeadm, k3s, rke or rke2; did you mean 'k3s'?"],
                 id="when-unknown-distribution"),
    # --- names other files define must agree
    pytest.param("source: https://example.com/ports\ntitle: a test table\nports:\n"
                 "  kube-apiserver: {port: 443, purpose: API server}\n",
                 ["{f}:4: ports.kube-apiserver: differs from the named port defined at {api}"],
                 id="named-port-disagrees"),
    # --- everything wrong in one file is reported at once
    pytest.param(HEAD + "  - {name: a, purpose: x, protocol: tcp, ports: 0, to: [worker], from: [self]}\n"
                 "  - {name: b, purpose: x, protocol: sctp, ports: 1, to: [worker], from: [self]}\n"
                 "  - {name: c, purpose: x, protocol: icmp, ports: 1, to: [worker], from: [self]}\n",
                 ["{f}:4: flows[0].ports: port 0 is out of range 1-65535",
                  "{f}:5: flows[1].protocol: unknown protocol 'sctp'; use tcp, udp, tcp+udp, icmp, all or an IP "
                  "protocol number",
                  "{f}:6: flows[2].ports: protocol icmp has no ports"], id="three-problems-one-file"),
]


def write_case(spec_dir: str, content: str | bytes) -> str:
    path = os.path.join(spec_dir, "zz-case.yaml")
    with open(path, "wb") as handle:
        handle.write(content if isinstance(content, bytes) else content.encode())
    return path


def where_defined(spec_dir: str, port: str) -> str:
    """`path:line` of the named port's definition in kubernetes.yaml."""
    path = os.path.join(spec_dir, "kubernetes.yaml")
    with open(path, encoding="utf-8") as handle:
        line = next(i for i, text in enumerate(handle, 1) if text.startswith(f"  {port}: {{port:"))
    return f"{path}:{line}"


@pytest.mark.parametrize(("content", "expected"), CASES)
def test_bad_input_gets_its_exact_error(spec_dir, run_cli, content, expected):
    path = write_case(spec_dir, content)
    want = [line.replace("{f}", path).replace("{api}", where_defined(spec_dir, "kube-apiserver")) for line in expected]
    code, out, err = run_cli("lint", spec_dir)
    assert (code, out) == (1, "")
    assert err.splitlines() == want


def test_the_case_header_itself_is_valid(spec_dir):
    """Guards the table: each case breaks exactly one thing in an otherwise valid file."""
    write_case(spec_dir, one_flow())
    catalog = load_catalog(spec_dir)
    assert any(f.where == os.path.join(spec_dir, "zz-case.yaml") + ":4" for f in catalog.flows)


def break_three_files(spec_dir: str) -> list[str]:
    """A typo in calico.yaml, port 0 in ssh.yaml and an unknown role in a new file."""
    calico = os.path.join(spec_dir, "calico.yaml")
    with open(calico, "a", encoding="utf-8") as handle:
        handle.write("sources: https://example.com/typo\n")
    calico_line = sum(1 for _ in open(calico, encoding="utf-8"))
    ssh = os.path.join(spec_dir, "ssh.yaml")
    text = open(ssh, encoding="utf-8").read()
    assert text.count("ports: 22, to: [bastion]") == 1
    ssh_line = text.splitlines().index(next(ln for ln in text.splitlines() if "ports: 22, to: [bastion]" in ln)) + 1
    with open(ssh, "w", encoding="utf-8") as handle:
        handle.write(text.replace("ports: 22, to: [bastion]", "ports: 0, to: [bastion]"))
    new = write_case(spec_dir, one_flow(to="[wroker]"))
    return sorted([
        f"{calico}:{calico_line}: sources: unknown key; did you mean 'source'?",
        f"{ssh}:{ssh_line}: flows[0].ports: port 0 is out of range 1-65535",
        f"{new}:4: flows[0].to[0]: unknown role or CIDR set 'wroker'; did you mean 'worker'?",
    ])


def test_problems_in_several_files_are_reported_at_once(spec_dir, run_cli):
    want = break_three_files(spec_dir)
    with pytest.raises(KubeportsError) as caught:
        load_catalog(spec_dir)
    assert [str(p) for p in caught.value.problems] == want
    code, out, err = run_cli("lint", spec_dir)
    assert (code, out, err.splitlines()) == (1, "", want)


def test_a_broken_definition_is_reported_once_not_at_every_use(spec_dir):
    """A typo in kubernetes.yaml must not make the files that use its named ports (rke2,
    rancher, offline-installer) report `unknown named port` for each use."""
    path = os.path.join(spec_dir, "kubernetes.yaml")
    text = open(path, encoding="utf-8").read()
    lines = text.splitlines()
    line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("title:"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace("\ntitle:", "\ntitel:", 1))
    with pytest.raises(KubeportsError) as caught:
        load_catalog(spec_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{line - 1}: title: required",  # reported where the document starts (source:)
        f"{path}:{line}: titel: unknown key; did you mean 'title'?",
    ]


def test_a_broken_named_port_is_reported_once(spec_dir):
    path = os.path.join(spec_dir, "kubernetes.yaml")
    text = open(path, encoding="utf-8").read()
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.startswith("  kube-apiserver: {port: 6443"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace("kube-apiserver: {port: 6443,", "kube-apiserver: {port: 99999,", 1))
    with pytest.raises(KubeportsError) as caught:
        load_catalog(spec_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{line}: ports.kube-apiserver.port: port 99999 is out of range 1-65535"]


def test_an_unreadable_file_does_not_cascade(spec_dir):
    """Whatever a file that cannot be parsed would define is unknown: its syntax error is
    the one problem reported, not every use of its names elsewhere."""
    path = os.path.join(spec_dir, "kubernetes.yaml")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("flows: [\n")
    with pytest.raises(KubeportsError) as caught:
        load_catalog(spec_dir)
    assert [(p.path, p.field) for p in caught.value.problems] == [(path, "(syntax)")]


def test_an_empty_directory_is_an_error(tmp_path, run_cli):
    code, out, err = run_cli("lint", str(tmp_path))
    assert code == 1 and out == ""
    assert err.splitlines() == [f"{tmp_path}:1: (catalog): no spec files (*.yaml) here"]
    with pytest.raises(KubeportsError) as caught:
        load_catalog(str(tmp_path))
    assert str(caught.value) == f"{tmp_path}:1: (catalog): no spec files (*.yaml) here"


def test_lint_is_clean_on_the_shipped_catalog_and_stacks(run_cli):
    code, out, err = run_cli("lint")
    stacks = len(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
    specs = len(glob.glob(os.path.join(ROOT, "portspecs", "*.yaml")))
    assert stacks >= 4 and specs >= 12
    assert (code, out) == (0, "")
    assert err == f"ok: {specs} spec files, {stacks} stack files\n"


def test_lint_reports_a_bad_stack_file_with_the_catalog(spec_dir, tmp_path, run_cli):
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(open(os.path.join(ROOT, "Pulumi.dev.yaml"), encoding="utf-8").read()
                     .replace("egress: open", "egress: opne"))
    line = stack.read_text().splitlines().index("    egress: opne") + 1
    code, out, err = run_cli("lint", spec_dir, str(stack))
    assert (code, out) == (1, "")
    assert err.splitlines() == [f"{stack}:{line}: config.kubeports:cluster.egress: 'opne' is not one of: open or strict; "
                                "did you mean 'open'?"]


def test_console_script_reports_every_problem_without_traceback(spec_dir):
    """The installed `kubeports` entry point, as a user runs it."""
    want = break_three_files(spec_dir)
    exe = os.path.join(os.path.dirname(sys.executable), "kubeports")
    proc = subprocess.run([exe, "lint", spec_dir], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == want


def test_every_aws_description_character_and_an_ipv6_protocol_with_its_family_load(spec_dir):
    """The other side of the cases above: what AWS accepts loads, and 41 with family IPv6 does."""
    purpose = "aZ09 ._-:/()#,@[]+=&;{}!$*"
    write_case(spec_dir, HEAD + f"  - {{name: web, purpose: '{purpose}', protocol: tcp, ports: 8080, to: [worker], "
               "from: [self]}\n  - {name: six, purpose: 6in4, protocol: 41, family: IPv6, to: [worker], from: [self]}\n")
    flows = {f.flow.name: f.flow for f in load_catalog(spec_dir).flows if f.where.startswith(spec_dir + "/zz-case")}
    assert flows["web"].purpose == purpose
    assert (flows["six"].protocol, flows["six"].family) == ("41", "IPv6")


def test_the_catalog_is_parsed_once_per_text_and_an_edit_is_seen(spec_dir, monkeypatch):
    from kubeports.core import yamlsrc

    parsed = []
    real = yamlsrc.load_text
    monkeypatch.setattr(yamlsrc, "load_text", lambda text, path: parsed.append(path) or real(text, path))
    yamlsrc._parsed.cache_clear()
    first = load_catalog(spec_dir)
    count = len(parsed)
    assert count == len(glob.glob(os.path.join(spec_dir, "*.yaml")))
    assert load_catalog(spec_dir).ports == first.ports and len(parsed) == count  # no second parse
    path = sorted(glob.glob(os.path.join(spec_dir, "*.yaml")))[0]
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text + "\n# edited\n")
    load_catalog(spec_dir)
    assert len(parsed) == count + 1  # only the edited file again


def _located_by(composer, text: str, monkeypatch):
    from kubeports.core import yamlsrc

    monkeypatch.setattr(yamlsrc, "_CLoader", composer)
    return yamlsrc.load_text(text, "x.yaml")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "portspecs", "*.yaml")))
                         + sorted(glob.glob(os.path.join(ROOT, "Pulumi*.yaml"))), ids=os.path.basename)
def test_libyaml_and_the_pure_python_composer_read_the_same_values_and_lines(path, monkeypatch):
    import yaml

    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    fast, slow = _located_by(yaml.CSafeLoader, text, monkeypatch), _located_by(None, text, monkeypatch)
    assert fast[1] == slow[1] == []
    assert (fast[0].data, fast[0].lines) == (slow[0].data, slow[0].lines)


@pytest.mark.parametrize("text, expected", [
    ("a: " + "[" * 3000 + "]" * 3000 + "\n", "x.yaml:1: (syntax): YAML syntax error: nested deeper than 64 levels"),
    ("a: [1, 2\n", "x.yaml:2: (syntax): YAML syntax error: expected ',' or ']', but got '<stream end>'"),
    ("a: 1\na: 2\n", "x.yaml:2: a: duplicate key"),
], ids=["3000-deep", "unclosed", "duplicate"])
def test_what_libyaml_refuses_or_nests_too_deep_reads_as_the_pure_python_composer_says(text, expected, monkeypatch):
    import yaml

    for composer in (yaml.CSafeLoader, None):
        doc, problems = _located_by(composer, text, monkeypatch)
        assert doc is None and [str(p) for p in problems] == [expected]
