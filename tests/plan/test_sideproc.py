"""kubeports.plan.sideproc: a diff side forked after the SDK imports. What crosses the fork
(installed SDKs, loaded for real), what does not (kubeports), and what comes back (stdout,
stderr, exit code, a timeout)."""
from __future__ import annotations

import os
import sys
import types

import pytest

from kubeports.plan import sideproc

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")


def test_preimport_loads_the_providers_submodules_for_real():
    """pulumi_aws's submodules are lazy modules: importing one only registers it. A fork
    after that would leave every side to load them again."""
    sideproc.preimport(["aws", "openstack"])
    for name in ("pulumi_aws.ec2", "pulumi_aws.vpc", "pulumi_openstack.networking", "pulumi_openstack.compute"):
        module = sys.modules[name]
        assert type(module) is types.ModuleType, name  # no longer pulumi._utils._LazyModule
        assert "__all__" in module.__dict__ or len(module.__dict__) > 20, name


def test_the_child_runs_in_the_side_with_no_kubeports_of_ours(tmp_path):
    import kubeports  # noqa: F401 - this process has it; the child must not
    driver = ("import json, os, sys\n"
              "print(json.dumps({'cwd': os.getcwd(), 'path0': sys.path[:2], 'argv': sys.argv[1:],\n"
              "  'ours': sorted(n for n in sys.modules if n.split('.')[0] == 'kubeports'),\n"
              "  'dropped': os.environ.get('KUBEPORTS_STACK_FILE')}))\n"
              "print('a note', file=sys.stderr)\n"
              "sys.exit(3)\n")
    os.environ["KUBEPORTS_STACK_FILE"] = "/elsewhere/Pulumi.x.yaml"
    try:
        code, out, err = sideproc.forked(str(tmp_path), driver, ["a", "b"], ["KUBEPORTS_STACK_FILE"], 60, [])
    finally:
        del os.environ["KUBEPORTS_STACK_FILE"]
    import json
    assert code == 3 and err == "a note\n"
    assert json.loads(out) == {"cwd": str(tmp_path), "path0": ["", str(tmp_path)], "argv": ["a", "b"], "ours": [],
                               "dropped": None}


def test_a_failure_before_the_driver_ends_is_a_traceback_and_exit_1(tmp_path):
    code, out, err = sideproc.forked(str(tmp_path), "raise RuntimeError('no such side')\n", [], [], 60, [])
    assert (code, out) == (1, "")
    assert err.startswith("Traceback") and err.rstrip().endswith("RuntimeError: no such side")


def test_a_side_past_its_timeout_is_ended_and_said_so(tmp_path):
    code, _, err = sideproc.forked(str(tmp_path), "import time\ntime.sleep(30)\n", [], [], 1, [])
    assert code < 0 and err.endswith("the side's process ended by signal 14 (timeout: 1 s)")


def test_a_side_forked_after_a_plan_in_this_process_does_not_wait_for_the_parents_threads(tmp_path):
    """This process's event loop has a default executor whose threads stay here: a side that
    used it would wait for ever (seen: a diff test after in-process plans hung)."""
    from kubeports.core.paths import ROOT
    from kubeports.plan import refs
    from kubeports.plan.offline import run_plan

    run_plan(os.path.join(ROOT, "Pulumi.dev.yaml"))  # leaves this loop's executor threads running
    stacks = [["dev", os.path.join(ROOT, "Pulumi.dev.yaml"), os.path.join(ROOT, "portspecs")]]
    code, out, err = sideproc.forked(ROOT, refs._SIDE_DRIVER, [__import__("json").dumps(stacks), "5000000"],
                                     refs.SIDE_ENV_DROPPED, 120, ["openstack"])
    assert code == 0, err
    assert "dev-control-plane-sg" in out
