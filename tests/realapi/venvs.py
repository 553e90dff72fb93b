"""The real-API tier's servers live in virtualenvs of their own, never in the project's.

Rules of this file:
- one venv per server, pinned exactly by its constraints file beside this module
  (`neutron-constraints.txt`, `moto-constraints.txt`: `pip freeze` of a proven install);
- a venv sits at `~/.cache/kubeports/realapi/<server>-<key>` (or under
  `$KUBEPORTS_REALAPI_CACHE`), where the key hashes the requirement, the pins and the
  Python version: changing a pin builds a new venv, never mutates an old one;
- a venv is only used once its import check passed (a `.ok` marker written last), so a
  half-built venv from an interrupted install is rebuilt, not trusted;
- `python -m tests.realapi.venvs` builds both (what `.ci/run` does before `make test`);
  the fixtures call `ensure()` too, and skip with a named reason only when the build
  fails (e.g. offline without a cache).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ServerVenv:
    name: str
    requirement: str
    constraints: str
    check: str  # python code that must run in the venv before it is trusted


NEUTRON = ServerVenv("neutron", "neutron==29.0.0", "neutron-constraints.txt",
                     "import neutron.db.migration.models.head, neutron.server.api, sqlalchemy")
MOTO = ServerVenv("moto", "moto[server]==5.2.5", "moto-constraints.txt",
                  "from moto.server import ThreadedMotoServer")
SERVERS = {v.name: v for v in (NEUTRON, MOTO)}


class VenvUnavailable(RuntimeError):
    """The venv could not be built (no registry, no cache): the tier skips with this text."""


def cache_root() -> Path:
    return Path(os.environ.get("KUBEPORTS_REALAPI_CACHE") or Path.home() / ".cache" / "kubeports" / "realapi")


def key_of(venv: ServerVenv) -> str:
    digest = hashlib.sha256()
    digest.update(venv.requirement.encode())
    digest.update((HERE / venv.constraints).read_bytes())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()[:12]


def venv_path(venv: ServerVenv) -> Path:
    return cache_root() / f"{venv.name}-{key_of(venv)}"


def python_of(venv: ServerVenv) -> Path:
    return venv_path(venv) / "bin" / "python"


def ensure(venv: ServerVenv, log=sys.stderr) -> Path:
    """The venv's python, building the venv first if needed; raises VenvUnavailable."""
    path = venv_path(venv)
    if (path / ".ok").exists():
        return path / "bin" / "python"
    if path.exists():
        shutil.rmtree(path)  # an interrupted build: start over
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # The base interpreter, not the project venv's: the server venv must not see the project's packages.
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [[base, "-m", "venv", str(path)],
             [str(path / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
              "-c", str(HERE / venv.constraints), venv.requirement],
             [str(path / "bin" / "python"), "-c", venv.check]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, env=_clean_env())
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise VenvUnavailable(f"{venv.name} venv at {path}: `{' '.join(step[:3])} ...` failed: {tail[0]}")
    (path / ".ok").write_text(f"built in {time.monotonic() - started:.0f}s\n")
    print(f"realapi: built {venv.name} venv {path} in {time.monotonic() - started:.0f}s", file=log)
    return path / "bin" / "python"


def _clean_env() -> dict[str, str]:
    """No PYTHON*/VIRTUAL_ENV of the project's venv leaks into the server's."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


if __name__ == "__main__":
    for server in SERVERS.values():
        print(ensure(server, log=sys.stdout))
