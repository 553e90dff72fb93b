"""kubeports.core.notes: routine notes in one counted line, warnings in full, every note
with -v, as the CLI prints them (the Pulumi program's log: tests/plan/test_summary.py)."""
from __future__ import annotations

from kubeports.core.notes import summarize

NOTES = [
    "cilium mode native routes IPv4 pod addresses natively: pods (podCidrs) reach every port",
    "portspecs/a.yaml:3: web: no bastion role in this cluster; its side of the flow is dropped",
    "portspecs/a.yaml:3: web: no registry role in this cluster; its side of the flow is dropped",
    "portspecs/a.yaml:4: metrics: no role in this cluster runs a kubelet (nodes); its side of the flow is dropped",
    "portspecs/a.yaml:5: dns: CIDR set 'dns-servers' is empty in this stack; no rule for it",
    "portspecs/a.yaml:6: etcd: no etcd role: its side lands on control-plane (stacked)",
    "portspecs/a.yaml:7: ssh: no bastion role: its side comes from CIDR set 'admin'",
    "portspecs/a.yaml:7: ssh: CIDR set 'admin' is empty in this stack; no rule for it",
    "portspecs/a.yaml:8: wg6: IPv6 only, which this cluster does not use; no rule",
    "strict egress and CIDR set 'ntp-servers' is empty: nodes cannot sync time",
    "portspecs/a.yaml:9: odd: something the summary has never seen",
]


def test_routine_notes_are_counted_per_kind_and_warnings_shown_in_full():
    assert summarize(NOTES) == [
        NOTES[0], NOTES[9], NOTES[10],
        "2 flows skip roles this cluster lacks, 2 skip CIDR sets this stack leaves empty, "
        "2 land on a stand-in role or CIDR set, 1 is for an IP family not in use; -v lists them",
    ]


def test_one_flow_reads_in_the_singular_and_the_hint_is_the_callers():
    one = ["portspecs/a.yaml:5: dns: CIDR set 'dns-servers' is empty in this stack; no rule for it"]
    assert summarize(one, hint="`kubeports rules --stack x -v` lists them") == [
        "1 flow skips CIDR sets this stack leaves empty; `kubeports rules --stack x -v` lists them"]


def test_verbose_gives_every_note_unchanged_and_nothing_gives_nothing():
    assert summarize(NOTES, verbose=True) == NOTES
    assert summarize([]) == []


def test_the_cli_prints_one_summary_line_and_v_lists_every_note(run_cli):
    code, _out, err = run_cli("rules", "--stack", "dev")
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert (code, notes) == (0, [
        "note: calico mode ipip routes IPv6 pod addresses natively: pods (podCidrs) reach every port of the nodes "
        "that run them, etcd and kubelet included; see docs/promises.md (host firewall export, CNI host policy)",
        "note: 9 flows skip roles this cluster lacks, 12 skip CIDR sets this stack leaves empty, "
        "3 land on a stand-in role or CIDR set; -v lists them",
    ])
    code, _out, err = run_cli("rules", "--stack", "dev", "-v")
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert code == 0 and len(notes) == 28
    assert "note: portspecs/rancher.yaml:28: rancher-http: no rancher-server role in this cluster; " \
           "its side of the flow is dropped" in notes

