"""One `kubeports diff` side as a forked child of this process, the SDKs already imported.

Why: a side is a fresh interpreter that imports the Pulumi SDK and the providers (some
0.3-0.5 s of CPU, pulumi_aws.ec2 alone 0.35 s) before its first plan; both sides import
the same installed files. Forking after importing them once pays that once.

Rules of this file:
- what is imported before the fork is installed third-party code only (the Pulumi SDK,
  the providers the side's stacks name, PyYAML, pydantic): the same files a fresh
  interpreter of this environment would import. Everything of kubeports is dropped from
  the child's `sys.modules`, so the side imports its own kubeports, components and
  catalog from its checkout, first on `sys.path`, exactly as the subprocess did;
- the child gets what the subprocess got: the side's directory as working directory and
  first on `sys.path` (and PYTHONPATH), the environment without this process's catalog
  and stack-file variables, the driver's argv, stdout and stderr to files read back
  here, and an alarm for the timeout;
- nothing running crosses the fork: the child gets a new event loop (the parent's loop,
  its default executor's threads and its epoll set are the parent's), and only the main
  thread exists there;
- a failure before the driver runs is a traceback on the child's stderr and exit 1, which
  the caller reports as the side's import error;
- `KUBEPORTS_DIFF_FORK=0` (kubeports.plan.refs) runs a fresh interpreter instead.
"""
from __future__ import annotations

import asyncio
import importlib
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterable, Sequence

SHARED = ("yaml", "pydantic", "pulumi", "pulumi.runtime.mocks", "pulumi.runtime.stack", "pulumi.runtime.sync_await")
PROVIDERS = {  # what a side's program imports for each cloud (components/clouds)
    "openstack": ("pulumi_openstack", "pulumi_openstack.networking", "pulumi_openstack.compute",
                  "pulumi_openstack.loadbalancer", "pulumi_openstack.images"),
    "aws": ("pulumi_aws", "pulumi_aws.ec2", "pulumi_aws.vpc", "pulumi_aws.lb"),
}


def preimport(clouds: Iterable[str]) -> None:
    """Import the SDKs the sides will need (a module that is not installed is left to the side)."""
    for name in (*SHARED, *(m for cloud in sorted(set(clouds)) for m in PROVIDERS.get(cloud, ()))):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        getattr(module, "__all__", None)  # the providers' submodules are lazy: the first attribute loads them


def _is_ours(name: str) -> bool:
    return name == "kubeports" or name.startswith("kubeports.")


def forked(directory: str, driver: str, argv: Sequence[str], dropped_env: Sequence[str], timeout: int,
           clouds: Iterable[str]) -> tuple[int, str, str]:
    """Run `driver` (Python source) as a side in `directory`: (exit code, stdout, stderr)."""
    preimport(clouds)
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(directory, driver, argv, dropped_env, timeout, out.fileno(), err.fileno())
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
        if code < 0:
            stderr += f"\nkubeports: the side's process ended by signal {-code}" + \
                (f" (timeout: {timeout} s)" if -code == signal.SIGALRM else "")
        return code, out.read().decode("utf-8"), stderr


def _child(directory: str, driver: str, argv: Sequence[str], dropped_env: Sequence[str], timeout: int,
           out: int, err: int) -> None:
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - ended by os._exit
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the caller's handler (a test timeout) is not the side's
        # A caller that ran a plan itself (a test, a library user) has an event loop whose
        # default executor's threads did not cross the fork and whose epoll set is shared
        # with the parent: the side's plans would wait on them for ever. A loop of its own.
        asyncio.set_event_loop(asyncio.new_event_loop())
        signal.alarm(timeout)
        os.chdir(directory)
        for name in dropped_env:
            os.environ.pop(name, None)
        os.environ["PYTHONPATH"] = directory + os.pathsep + os.environ.get("PYTHONPATH", "")
        for name in [n for n in sys.modules if _is_ours(n)]:
            del sys.modules[name]
        sys.path[:0] = ["", directory]
        importlib.invalidate_caches()
        sys.argv = ["-c", *argv]
        exec(compile(driver, "<kubeports diff side>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the side's driver
        sys.stdout.flush()
        os._exit(0)
    except SystemExit as exc:
        sys.stdout.flush()
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException:  # noqa: BLE001 - reported as the side's import error
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
