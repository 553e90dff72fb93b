"""pyproject's filterwarnings hides only the named import-time deprecations of the provider
packages (issue 13 §2.12): importing what kubeports uses stays silent, and a deprecation of
anything else in either package still shows."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

from kubeports.core.paths import ROOT

PROBE = r"""
import re, sys, warnings
warnings.simplefilter("error", DeprecationWarning)
for action, message, category, module in [line.split(":", 3)[:4] for line in sys.argv[1:]]:
    warnings.filterwarnings(action, message, {"DeprecationWarning": DeprecationWarning}[category], module)
import kubeports.components.clouds.aws, kubeports.components.clouds.openstack  # what kubeports imports of both providers
for module in ("pulumi_aws.ec2.instance", "pulumi_openstack.networking.port"):
    try:
        warnings.warn_explicit("a deprecation of something kubeports uses", DeprecationWarning, "x.py", 1, module)
    except DeprecationWarning:
        print("shown", module)
"""


def filters() -> list[str]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        return tomllib.load(handle)["tool"]["pytest"]["ini_options"]["filterwarnings"]


def test_every_filter_names_its_message():
    for entry in filters():
        action, message, category, module = entry.split(":", 3)[:4]
        assert (action, category) == ("ignore", "DeprecationWarning") and message and module, entry
        assert re.match(r"pulumi_(aws|openstack)\\.", module), entry


def test_imports_are_silent_and_other_deprecations_show():
    result = subprocess.run([sys.executable, "-c", PROBE, *filters()], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["shown pulumi_aws.ec2.instance", "shown pulumi_openstack.networking.port"]
