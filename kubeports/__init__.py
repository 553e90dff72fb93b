"""kubeports: Kubernetes port tables as data, rendered into cloud security groups.

Rooms (each package's header states what it may import; tests/test_architecture.py holds them):
- kubeports.core: load -> validate -> resolve, pure (never imports pulumi);
- kubeports.render: text for people and host firewalls (rules tables, nftables, change requests);
- kubeports.plan: the offline plan under Pulumi's mock runtime and its diffs;
- kubeports.cli: the command table, argument parsing and printing;
- kubeports.provider: the Cluster as a Pulumi component package (run by the tree's `provider/`).
The Pulumi components live in the tree's top-level `components/` (cloud modules in
`components/clouds/`) and are installed and imported as `kubeports.components`.
"""
