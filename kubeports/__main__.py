"""`python -m kubeports`: the same as the `kubeports` console script."""
from .cli import entry

entry()
