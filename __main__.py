"""kubeports Pulumi program: the stack's `kubeports:*` config -> one Cluster -> stack outputs.

Wiring only, and all of it in `Cluster.from_stack_config()` (components/cluster.py,
components/wiring.py): everything that decides a port lives in kubeports/ (pure, testable
without Pulumi); everything that creates a resource lives in components/. Bad input stops
the program there, with `path:line: field: message`, before any resource is registered.
The outputs are listed in the README ("Stack outputs").
"""
from kubeports.components import Cluster

if __name__ == "__main__":  # Pulumi runs this file as __main__; importing it creates nothing
    Cluster.from_stack_config().export()
