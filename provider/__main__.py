"""The kubeports component package's entry point: Pulumi runs `python provider/ <engine address>`.

Serving only; everything else is in kubeports/provider/ (importing this file would serve).
"""
from kubeports.provider.provider import serve

serve()
