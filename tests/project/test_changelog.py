"""CHANGELOG.md follows Keep a Changelog: an Unreleased section first, then one section per
version (newest first, dated), only the format's kinds of change; the package's version has one."""
from __future__ import annotations

import os
import re
import tomllib

from kubeports.core.paths import ROOT

KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def headings() -> list[str]:
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line.startswith("#")]


def test_keep_a_changelog_shape():
    found = headings()
    assert found[0] == "# Changelog" and found[1] == "## [Unreleased]"
    versions = [h for h in found if h.startswith("## ")][1:]
    assert all(re.fullmatch(r"## \[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", h) for h in versions), versions
    numbers = [tuple(int(p) for p in re.findall(r"\d+", h)[:3]) for h in versions]
    assert numbers == sorted(numbers, reverse=True)
    assert all(h[len("### "):] in KINDS for h in found if h.startswith("### ")), found


def test_the_package_version_has_a_section():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    assert any(h.startswith(f"## [{version}] - ") for h in headings())
