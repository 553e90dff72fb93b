"""Which cloud backend a stack uses: the one place that names every cloud module.

It sits above the interface (backend.py) and its implementations (clouds/), so neither
imports the other's siblings; each provider SDK is imported only when its stack needs it.
"""
from __future__ import annotations

from kubeports.core.settings import StackConfig

from .backend import CloudBackend


def backend_for(stack: StackConfig) -> CloudBackend:
    """The backend of `stack.cloud` (`kubeports:cloud`), configured by the stack's settings."""
    # Imported lazily: each provider SDK is large, and a stack needs only one.
    if stack.cloud == "aws":
        from .clouds.aws import AwsBackend

        return AwsBackend(stack)
    from .clouds.openstack import OpenStackBackend

    return OpenStackBackend(stack)
