"""Entry point of the kubeports policy pack: `pulumi preview --policy-pack policy`.

Constructing PolicyPack starts the analyzer's gRPC server and blocks, so nothing may
import this file; tests import `kubeports_policies` instead.
"""
from kubeports_policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="kubeports", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
