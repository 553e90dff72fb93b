"""The Cluster component as a Pulumi component package, for programs in any Pulumi language.

A TypeScript, Go, C#, Java or YAML program runs `pulumi package add <this repo>/provider`
and declares `kubeports:index:Cluster` with the stack-config shape as its inputs; the
Pulumi CLI launches `provider/__main__.py` (PulumiPlugin.yaml: `runtime: python`), which
serves this package over gRPC with the Python SDK's component provider host.

Rules of this room (tests/test_architecture.py holds them):
- it imports the core, `kubeports.components` and pulumi; never render, plan or the cli;
  nothing imports it but `provider/__main__.py` (and the tests);
- the schema is inferred by the SDK from `schema.py`'s declarations, which are derived
  from the core's settings models: a stack key and an input are one definition;
- inputs go through exactly the validation a stack file does, and bad input is an
  input-property error with the one-line `path:line: field: message` text, never a traceback.
"""
