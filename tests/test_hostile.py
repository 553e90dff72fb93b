"""Hostile input: whatever bytes a spec file or a stack file holds, kubeports ends either
in success or in its own KubeportsError, one `path:line: field: message` per line. Never
another exception, and a stack that does not load registers nothing.

Fuzzed with hypothesis: random bytes and text, random YAML documents (recursive
dicts/lists/scalars), and mutations of the real files (delete, rename, replace, duplicate,
odd ports, text-level line edits). Crashes the fuzzer found are pinned with @example.
"""
from __future__ import annotations

import copy
import glob
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, example, given, settings
from hypothesis import strategies as st

from kubeports.core.catalog import load_paths
from kubeports.core.errors import KubeportsError
from kubeports.core.paths import PORTSPECS, ROOT
from kubeports.core.project import load_project

LINE = re.compile(r"^[^:]+:\d+: \S.*: .+$")
SPEC_FILES = sorted(glob.glob(os.path.join(PORTSPECS, "*.yaml")))
STACK_FILES = sorted(glob.glob(os.path.join(ROOT, "Pulumi.*.yaml")))
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("kubeports", max_examples=150, deadline=None, suppress_health_check=_QUIET)
# A long hunt, no shrinking: KUBEPORTS_FUZZ=deep pytest tests/test_hostile.py
settings.register_profile("kubeports-deep", max_examples=3000, deadline=None, suppress_health_check=_QUIET,
                          phases=[Phase.explicit, Phase.generate], database=None)
FUZZ = settings.get_profile("kubeports-deep" if os.environ.get("KUBEPORTS_FUZZ") == "deep" else "kubeports")
# Each example of these loads the whole catalog (~0.1 s): fewer of them in a normal run.
CATALOG_FUZZ = settings(FUZZ, max_examples=min(FUZZ.max_examples, 50))


def note(outcome: str) -> None:
    """Outcome counts for --hypothesis-show-statistics (both kinds should show up)."""
    if currently_in_test_context():
        event(outcome)


def ends_cleanly(run: Callable[[], Any]) -> KubeportsError | None:
    """Run; success is None, the project's error is returned after checking its form.
    Any other exception propagates and fails the test."""
    try:
        run()
    except KubeportsError as exc:
        note("project error")
        text = str(exc)
        assert exc.problems and text, "an error with no problem in it"
        lines = text.split("\n")
        assert len(lines) == len(exc.problems)
        for line in lines:
            assert LINE.match(line) and line == line.strip() and line.isprintable(), repr(line)
        return exc
    note("success")
    return None


@pytest.fixture(scope="module")
def workdir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="kubeports-hostile-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write(directory: str, name: str, content: str | bytes) -> str:
    path = os.path.join(directory, name)
    with open(path, "wb") as handle:
        handle.write(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return path


# --- strategies -------------------------------------------------------------------------------

SPEC_KEYS = ["source", "title", "notes", "when", "ports", "cidr-sets", "cni", "addons", "flows", "local-only",
             "name", "purpose", "protocol", "to", "from", "bidirectional", "family", "icmp", "port", "default",
             "modes", "features", "on", "distribution", "kubernetes", "cni-mode", "cni-features"]
STACK_KEYS = ["kubeports:cloud", "kubeports:cluster", "kubeports:openstack", "kubeports:aws",
              "kubeports:peerGroups", "name", "distribution", "kubernetesVersion", "cni", "mode", "roles",
              "count", "egress", "ports", "cidrs", "ipFamilies", "externalRoles", "podCidrs", "quota"]
ODD_PORTS = [0, -1, 65536, 10**20, 1.5, True, None, [], {}, "", "1-", "-5", "5-3", "0-10", "80 - 90",
             "2379-2380-2381", "http", "Kube-Apiserver", "1e3", "\u0663", "6443\n", [6443, "x"], [[1]]]
ODD_VALUES = [None, True, "", " ", "-1", -1, 0, 10**30, 1e308, float("inf"), float("nan"), [], {}, [None],
              "0.0.0.0/0", "::/0", "10.0.0.1/8", "300.1.1.1/8", "not-a-cidr", "IPv5", "both", "closed",
              "\u2028", "a\nb", "\x85", "2020-01-01", "1.30", 1.3, "ANY", "calico", "Calico"]

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | st.sampled_from(ODD_PORTS[:15]))
keys = st.text(max_size=10) | st.sampled_from(SPEC_KEYS + STACK_KEYS) | st.integers(-3, 3) | st.booleans()


def _collections(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5)


values = st.recursive(scalars, _collections, max_leaves=25)


def node_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += node_paths(value, prefix + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += node_paths(value, prefix + (i,))
    return out


def parent_of(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def mutate(data: Any, draw: Callable, only_under: tuple = ()) -> Any:
    """One random mutation of parsed YAML, at a path under `only_under`."""
    data = copy.deepcopy(data)
    paths = [p for p in node_paths(data) if p[:len(only_under)] == only_under and len(p) > len(only_under)]
    if not paths:
        return data
    path = draw(st.sampled_from(paths))
    parent, last = parent_of(data, path), path[-1]
    op = draw(st.sampled_from(["delete", "rename", "replace", "odd", "duplicate", "port"]))
    if op == "delete":
        del parent[last]
    elif op == "rename" and isinstance(parent, dict):
        new = draw(st.sampled_from([f"{last}x", str(last).upper(), str(last)[:-1], ""]) | keys)
        if new not in parent:
            parent[new] = parent.pop(last)
    elif op == "replace":
        parent[last] = draw(values)
    elif op == "odd":
        parent[last] = draw(st.sampled_from(ODD_VALUES + ODD_PORTS))
    elif op == "duplicate":
        if isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
        elif isinstance(parent[last], list) and parent[last]:
            parent[last].append(copy.deepcopy(parent[last][0]))
        else:
            parent[f"{last}-copy"] = copy.deepcopy(parent[last])
    else:  # point a port somewhere odd: the nearest `ports`/`port` key, else here
        port_paths = [p for p in paths if p and p[-1] in ("ports", "port")]
        where = draw(st.sampled_from(port_paths)) if port_paths else path
        parent_of(data, where)[where[-1]] = draw(st.sampled_from(ODD_PORTS))
    return data


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


@st.composite
def edited_text(draw: Callable, text: str) -> str:
    """Line-level edits YAML dumps never produce: duplicated keys, cut blocks, bad indents."""
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(["dup", "drop", "indent", "dedent", "truncate", "tab", "insert"]))
        if not lines:
            break
        if op == "dup":
            lines.insert(i, lines[i])
        elif op == "drop":
            del lines[i]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i].lstrip()
        elif op == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif op == "tab":
            lines[i] = "\t" + lines[i]
        else:
            lines.insert(i, draw(st.sampled_from(["&a x: *a", "<<: {a: 1}", "? [1, 2]\n: x", "!!python/none x: 1",
                                                 "x: !!binary AAAA", "x: !!timestamp 2001-12-14", "---", "...",
                                                 "%YAML 1.1", "x: *undefined", "key: [unclosed"])))
    return "\n".join(lines)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


SPEC_TEXTS = {os.path.basename(p): _read(p) for p in SPEC_FILES}
SPECS = {name: yaml.safe_load(text) for name, text in SPEC_TEXTS.items()}
STACK_TEXTS = {os.path.basename(p): _read(p) for p in STACK_FILES}
STACKS = {name: yaml.safe_load(text) for name, text in STACK_TEXTS.items()}


def catalog_with(workdir: str, name: str, content: str) -> list[str]:
    """The real catalog, with `name` replaced by `content`, in a fresh directory."""
    directory = tempfile.mkdtemp(dir=workdir)
    for other, text in SPEC_TEXTS.items():
        write(directory, other, content if other == name else text)
    return sorted(glob.glob(os.path.join(directory, "*.yaml")))


# --- (a) the spec loader ----------------------------------------------------------------------

def test_the_shipped_catalog_loads():
    assert ends_cleanly(lambda: load_paths(SPEC_FILES)) is None


@FUZZ
@given(content=st.binary(max_size=400))
@example(content=b"\xff\xfe")
@example(content=b"")
@example(content=b"\x00")
def test_spec_loader_random_bytes(workdir, content):
    path = write(tempfile.mkdtemp(dir=workdir), "x.yaml", content)
    assert ends_cleanly(lambda: load_paths([path])) is not None


NESTED = "a: " + "[" * 3000 + "]" * 3000  # PyYAML's recursive composer: RecursionError
LAUGHS = "\n".join(["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]  # 9**9 values once aliases expand
                   + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)])


@FUZZ
@given(content=st.text(max_size=300))
@example(content=NESTED)
@example(content=LAUGHS)
@example(content="a: &a [*a]")
@example(content="\U0008f7a3: 1")  # an unprintable key reached the message raw
@example(content='"a\\u2028b": 1')
@example(content='"": 1')
def test_spec_loader_random_text(workdir, content):
    path = write(tempfile.mkdtemp(dir=workdir), "x.yaml", content)
    ends_cleanly(lambda: load_paths([path]))


@FUZZ
@given(doc=values | st.dictionaries(st.sampled_from(SPEC_KEYS) | keys, values, max_size=6))
def test_spec_loader_random_yaml(workdir, doc):
    path = write(tempfile.mkdtemp(dir=workdir), "x.yaml", dump(doc))
    ends_cleanly(lambda: load_paths([path]))


@CATALOG_FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(SPECS)))
def test_spec_loader_mutated_specs(workdir, data, name):
    doc = SPECS[name]
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data.draw)
    ends_cleanly(lambda: load_paths(catalog_with(workdir, name, dump(doc))))


@CATALOG_FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(SPECS)))
def test_spec_loader_edited_spec_text(workdir, data, name):
    text = data.draw(edited_text(SPEC_TEXTS[name]))
    ends_cleanly(lambda: load_paths(catalog_with(workdir, name, text)))


def test_yaml_bombs_are_problems(workdir):
    nested = write(tempfile.mkdtemp(dir=workdir), "nested.yaml", NESTED)
    laughs = write(tempfile.mkdtemp(dir=workdir), "laughs.yaml", LAUGHS)
    assert [str(p) for p in ends_cleanly(lambda: load_paths([nested])).problems] == [
        f"{nested}:1: (syntax): YAML syntax error: nested deeper than 64 levels"]
    problems = ends_cleanly(lambda: load_paths([laughs])).problems
    assert len(problems) == 1 and problems[0].message == "more than 100000 values; do aliases expand into each other?"


# --- (b) the stack config ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cached_catalog() -> Iterator[None]:
    """The stack fuzzing targets the stack, not the catalog: load the catalog once."""
    from kubeports.core import project

    loaded: dict[str, Any] = {}
    real = project.load_catalog

    def once(directory: str) -> Any:
        if directory not in loaded:
            loaded[directory] = real(directory)
        return loaded[directory]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(project, "load_catalog", once)
        yield


def stack_file(workdir: str, name: str, content: str) -> str:
    return write(tempfile.mkdtemp(dir=workdir), name, content)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(STACKS)))
def test_stack_config_mutated(workdir, cached_catalog, data, name):
    doc = STACKS[name]
    under = data.draw(st.sampled_from([(), ("config",), ("config", "kubeports:cluster")]))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data.draw, under)
    path = stack_file(workdir, name, dump(doc))
    ends_cleanly(lambda: load_project(path))


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(STACKS)))
def test_stack_config_edited_text(workdir, cached_catalog, data, name):
    path = stack_file(workdir, name, data.draw(edited_text(STACK_TEXTS[name])))
    ends_cleanly(lambda: load_project(path))


@FUZZ
@given(doc=values | st.fixed_dictionaries({"config": values | st.dictionaries(st.sampled_from(STACK_KEYS), values)}))
def test_stack_config_random_yaml(workdir, cached_catalog, doc):
    path = stack_file(workdir, "Pulumi.fuzz.yaml", dump(doc))
    ends_cleanly(lambda: load_project(path))


# --- (c) the Pulumi program under mocks: bad input stops it before anything is registered -------

@pytest.fixture(scope="module")
def monitors() -> Iterator[list]:
    """Every RecordingMonitor run_plan creates, to look at what it recorded."""
    from kubeports.plan import offline as plan

    made: list = []

    class Spy(plan.RecordingMonitor):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan, "RecordingMonitor", Spy)
        yield made


def plan_ends_cleanly(path: str, monitors: list) -> KubeportsError | None:
    """run_plan either plans or raises the project's error having registered nothing;
    and whatever `kubeports lint` accepts (load_project), the program accepts too."""
    from kubeports.plan.offline import run_plan

    monitors.clear()
    error = ends_cleanly(lambda: run_plan(path))
    if error is not None:
        assert monitors == [] or all(m.records == [] for m in monitors), "registered before failing"
        assert ends_cleanly(lambda: load_project(path)) is not None, f"lint passes, the program fails: {error}"
    else:
        assert monitors and monitors[-1].records
    return error


PLAN_FUZZ = settings(FUZZ, max_examples=min(FUZZ.max_examples, 40))


@PLAN_FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(STACKS)))
@example(data=None, name="date-as-name")
@example(data=None, name="integer-config-key")
@example(data=None, name="huge-count")
def test_plan_of_a_mutated_stack(workdir, cached_catalog, monitors, data, name):
    if name == "date-as-name":  # json.dumps of the config crashed on a YAML timestamp
        text = STACK_TEXTS["Pulumi.dev.yaml"].replace("name: dev", "name: 2020-01-01")
    elif name == "integer-config-key":  # the program's config reader crashed on a non-string key
        text = STACK_TEXTS["Pulumi.dev.yaml"].replace("config:\n", "config:\n  1: x\n")
    elif name == "huge-count":  # 10**30 workers: the program looped creating them
        text = STACK_TEXTS["Pulumi.dev.yaml"].replace("worker: {count: 3}", "worker: {count: 1000000000000000000000000000000}")
    else:
        doc = STACKS[name]
        for _ in range(data.draw(st.integers(1, 2))):
            doc = mutate(doc, data.draw, ("config",))
        text = dump(doc)
    plan_ends_cleanly(stack_file(workdir, "Pulumi.fuzz.yaml", text), monitors)


def test_plan_of_an_invalid_stack_is_the_lint_error(workdir, monitors):
    """The program's own error, not a pulumi.RunError wrapping it, and nothing registered."""
    from kubeports.plan.offline import run_plan

    path = stack_file(workdir, "Pulumi.bad.yaml", STACK_TEXTS["Pulumi.dev.yaml"].replace("egress: open", "egress: x"))
    monitors.clear()
    with pytest.raises(KubeportsError) as planned:
        run_plan(path)
    with pytest.raises(KubeportsError) as linted:
        load_project(path)
    assert str(planned.value) == str(linted.value) and "config.kubeports:cluster.egress: 'x'" in str(planned.value)
    assert len(monitors) == 1 and monitors[0].records == []


@pytest.mark.parametrize("edit", [("egress: open", "egress: x"), ("count: 3}", "count: -3}"),
                                  ("name: dev", "name: 2020-01-01"),
                                  ("    roles:\n", "    externalRoles: [etcd]\n    roles:\n")],
                         ids=["egress", "negative-count", "date", "external-role"])
def test_kubeports_plan_prints_one_line_errors_and_exits_1(workdir, capsys, edit):
    from kubeports import cli

    path = stack_file(workdir, "Pulumi.bad.yaml", STACK_TEXTS["Pulumi.dev.yaml"].replace(*edit))
    code = cli.main(["plan", "--stack-file", path])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err and all(LINE.match(line) for line in err.splitlines()), err
    assert "Traceback" not in err and "internal error" not in err
