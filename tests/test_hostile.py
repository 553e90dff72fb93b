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
import json
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

    def once(directory: str, layers: Any = ()) -> Any:
        key = f"{directory}|{layers}"
        if key not in loaded:
            loaded[key] = real(directory, layers)
        return loaded[key]

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


# === issue 15: the promises hold for what a cloud really receives ===========================
# Every case below is exact: the problem's `field: message`, the cell, the rendered HTML.

OCTAVIA_STACK = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.octavia.yaml")
NLB_STACK = os.path.join(ROOT, "examples", "api-load-balancer", "Pulumi.nlb.yaml")


def stack_variant(directory: str, base: str, name: str, edit: Callable[[dict], None]) -> str:
    with open(base, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    edit(data["config"])
    return write(directory, f"Pulumi.{name}.yaml", yaml.safe_dump(data, sort_keys=False))


def problems_of(run: Callable[[], Any]) -> list[str]:
    """`field: message` of every problem (the path:line form checked by ends_cleanly)."""
    exc = ends_cleanly(run)
    assert exc is not None, "accepted"
    return [f"{p.field}: {p.message}" for p in exc.problems]


def cluster_edit(**changes: Any) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        for key, value in changes.items():
            if key.startswith("openstack_"):
                config["kubeports:openstack"][key[len("openstack_"):]] = value
            else:
                config["kubeports:cluster"][key] = value
    return edit


# --- item 4: control characters in anything a spec file says ------------------------------------

CONTROLS = ["\r", "\x1b[2J", "\u2028", "\u0085", "\x07", "\t", "\x7f", "\u2029", "\u200e", "\x1b]8;;x\x07"]
PURPOSE_PLACES = {  # (YAML template with {v}, field)
    "flow purpose": ("flows:\n  - {{name: zz, purpose: {v}, protocol: tcp, ports: 1, to: [worker], from: [worker]}}",
                     "flows[0].purpose"),
    "port purpose": ("ports:\n  zz-port: {{port: 1, purpose: {v}}}", "ports.zz-port.purpose"),
    "cidr-set purpose": ("cidr-sets:\n  zz-set: {{purpose: {v}}}", "cidr-sets.zz-set.purpose"),
    "title": ("", "title"),
    "note": ("notes: [{v}]", "notes[0]"),
    "addon": ("addons: {{zz-addon: {v}}}", "addons.zz-addon"),
}


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c[0]):04X}-{i}" for i, c in enumerate(CONTROLS)])
@pytest.mark.parametrize("place", sorted(PURPOSE_PLACES))
def test_control_characters_are_refused_at_load(spec_dir, place, control):
    template, field = PURPOSE_PLACES[place]
    value = json.dumps(f"a{control}b")  # a YAML double-quoted string with escapes
    title = value if place == "title" else '"t"'
    path = write(spec_dir, "zz-case.yaml", f"source: https://example.com/\ntitle: {title}\n"
                 + template.format(v=value) + "\n")
    first = next(c for c in control if not c.isprintable())
    got = problems_of(lambda: load_paths(sorted(glob.glob(os.path.join(spec_dir, "*.yaml")))))
    assert f"{field}: contains the control character U+{ord(first):04X}" in got
    assert all(p.path.endswith("zz-case.yaml") for p in ends_cleanly(
        lambda: load_paths([path])).problems)  # type: ignore[union-attr]


# --- item 3: hostile spec file names --------------------------------------------------------------

HOSTILE_NAMES = ["zz\n\t\taccept\n#.yaml", "a b.yaml", "a;b.yaml", "-x.yaml", "a\x1b[31m.yaml", "a\u2028b.yaml",
                 "\u00e4.yaml", 'a"b.yaml', "a{b}.yaml", "a$(x).yaml", "a'b.yaml", "a\rb.yaml"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_spec_file_names_are_refused(spec_dir, name):
    write(spec_dir, name, "source: https://example.com/\ntitle: t\n")
    exc = ends_cleanly(lambda: load_paths(sorted(glob.glob(os.path.join(spec_dir, "*.yaml")))))
    assert exc is not None
    assert [(p.field, p.message) for p in exc.problems] == [
        ("(file name)", "a spec file name is letters, digits, '.', '_' and '-' ending in .yaml")]
    assert "\n" not in str(exc) and "\x1b" not in str(exc)


# --- item 4: CSV formulas and markdown markup -------------------------------------------------------

FORMULA_PAYLOADS = ["cmd|' /C calc'!A0", "HYPERLINK(\"http://x\")", "1+1", "SUM(A1:A9)", "x", "@@"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("payload", FORMULA_PAYLOADS)
def test_csv_cells_never_start_a_formula(start, payload):
    from kubeports.render.export import csv_cell
    cell = csv_cell(start + payload)
    assert cell == "'" + start + payload and not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize("text", ["-", "tcp", "10.0.0.0/8", "worker nodes", "a=b", "a-b"])
def test_csv_cells_that_are_no_formula_stay(text):
    from kubeports.render.export import csv_cell
    assert csv_cell(text) == text


MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[a](http://x)", "![i](http://x/i.png)",
          "**bold**", "_em_", "`code`", "~~strike~~", "https://evil.example/x", "www.evil.example", "a@b.example",
          "&lt;b&gt;", "&#x3C;b>", "a|b|c", "# heading", "> quote", "<http://x>", "[x]: http://y", "\\*", "a\nb",
          "---", "| x |", "<!-- c -->", "javascript:alert(1)"]


@pytest.mark.parametrize("text", MARKUP, ids=range(len(MARKUP)))
def test_markdown_cells_render_as_plain_text(text):
    import html

    import cmarkgfm

    from kubeports.render.export import markdown_text
    rendered = cmarkgfm.github_flavored_markdown_to_html(f"| a |\n|---|\n| {markdown_text(text)} |\n")
    cell = rendered.split("<td>", 1)[1].split("</td>", 1)[0]
    tags = re.findall(r"<(/?)([a-z0-9]+)", cell)
    assert {t for _, t in tags} <= {"code"}, cell  # `@` rides in a code span: no mailto link
    shown = html.unescape(re.sub(r"</?code>", "", cell))
    assert shown == text.replace("\n", "\\n"), (shown, text)


# --- item 5: podCidrs and --addresses ---------------------------------------------------------------

POD_CIDRS = [("0.0.0.0/0", "wider than /8"), ("::/0", "wider than /32"), ("0.0.0.0/1", "wider than /8"),
             ("10.0.0.0/7", "wider than /8"), ("2000::/31", "wider than /32"), ("::/1", "wider than /32")]


@pytest.mark.parametrize("cidr,why", POD_CIDRS)
def test_implausible_pod_cidrs_are_refused(workdir, cidr, why):
    stack = stack_variant(workdir, OCTAVIA_STACK, "pods", cluster_edit(podCidrs=[cidr]))
    assert problems_of(lambda: load_project(stack)) == [
        f"config.kubeports:cluster.podCidrs[0]: {cidr} is {why}; pod CIDRs are the cluster's own pod address "
        "ranges (e.g. 10.244.0.0/16), never the world"]


@pytest.mark.parametrize("pod,client", [("198.51.100.0/24", "198.51.100.0/24"), ("198.51.0.0/16", "198.51.100.0/24"),
                                        ("198.51.100.128/25", "198.51.100.0/24")])
def test_pod_cidrs_overlapping_a_client_set_are_refused(workdir, pod, client):
    stack = stack_variant(workdir, OCTAVIA_STACK, "pods", cluster_edit(podCidrs=[pod]))
    got = problems_of(lambda: load_project(stack))
    assert len(got) == 1 and got[0].startswith(f"config.kubeports:cluster.podCidrs[0]: {pod} overlaps {client} of "
                                                "CIDR set ") and got[0].endswith(
        "the host firewall accepts pod CIDRs on every port")


ADDRESSES = [("0.0.0.0/0", "0.0.0.0/0 is wider than /16; list node addresses, not networks"),
             ("::/0", "::/0 is wider than /48; list node addresses, not networks"),
             ("10.0.0.0/8", "10.0.0.0/8 is wider than /16; list node addresses, not networks"),
             ("2001:db8::/32", "2001:db8::/32 is wider than /48; list node addresses, not networks"),
             ("fe80::1%eth0", "'fe80::1%eth0' has a zone id; give the address alone"),
             ("fe80::1%1", "'fe80::1%1' has a zone id; give the address alone"),
             (True, "True is not an address"),
             ("10.0.0.1/8", "10.0.0.1/8 has host bits set")]


@pytest.mark.parametrize("address,message", ADDRESSES, ids=range(len(ADDRESSES)))
def test_export_addresses_are_node_addresses(workdir, address, message):
    from kubeports.render.export import load_addresses
    path = write(workdir, "addresses.yaml", yaml.safe_dump({"worker": ["10.0.1.5", address]}))
    assert problems_of(lambda: load_addresses(path)) == [f"worker[1]: {message}"]


# --- items 1, 6, 7, 8, 9: refused in the pure core, before anything is registered --------------------

CORE_CASES = [
    ("api-range", OCTAVIA_STACK, cluster_edit(ports={"kube-apiserver": "6443-10260"}),
     "config.kubeports:cluster.ports.kube-apiserver: a listener needs one port, not the range 6443-10260"),
    ("api-range-2", NLB_STACK, cluster_edit(ports={"kube-apiserver": "6443-6444"}),
     "config.kubeports:cluster.ports.kube-apiserver: a listener needs one port, not the range 6443-6444"),
    ("lb-range", OCTAVIA_STACK, cluster_edit(ports={"kube-apiserver-lb": "443-444"}),
     "config.kubeports:cluster.ports.kube-apiserver-lb: a listener needs one port, not the range 443-444"),
    ("lb-range-2", NLB_STACK, cluster_edit(ports={"kube-apiserver-lb": "1-65535"}),
     "config.kubeports:cluster.ports.kube-apiserver-lb: a listener needs one port, not the range 1-65535"),
    ("name-44", OCTAVIA_STACK, cluster_edit(name="a" * 44),
     "config.kubeports:cluster.name: is 44 characters; at most 43 (VM names <cluster>-<role>-<index> are host "
     "names of at most 63)"),
    ("name-255", NLB_STACK, cluster_edit(name="a" * 255),
     "config.kubeports:cluster.name: is 255 characters; at most 43 (VM names <cluster>-<role>-<index> are host "
     "names of at most 63)"),
    ("name-3000", OCTAVIA_STACK, cluster_edit(name="a" * 3000),
     "config.kubeports:cluster.name: is 3000 characters; at most 43 (VM names <cluster>-<role>-<index> are host "
     "names of at most 63)"),
    ("v6-subnet-v4-cluster", OCTAVIA_STACK, cluster_edit(ipFamilies=["IPv4"], openstack_subnetCidr="fd00:1::/64"),
     "config.kubeports:openstack.subnetCidr: an IPv6 subnet, but the cluster's ipFamilies are IPv4: Octavia's VIP "
     "takes the subnet's family and no rule of that family would let anyone reach it"),
    ("v4-subnet-v6-cluster", OCTAVIA_STACK, cluster_edit(ipFamilies=["IPv6"], podCidrs=[]),
     "config.kubeports:openstack.subnetCidr: an IPv4 subnet, but the cluster's ipFamilies are IPv6: Octavia's VIP "
     "takes the subnet's family and no rule of that family would let anyone reach it"),
]


@pytest.mark.parametrize("name,base,edit,expected", CORE_CASES, ids=[c[0] for c in CORE_CASES])
def test_late_failures_are_core_problems(workdir, name, base, edit, expected):
    stack = stack_variant(workdir, base, name, edit)
    assert expected in problems_of(lambda: load_project(stack))


def test_a_43_character_name_loads(workdir):
    stack = stack_variant(workdir, OCTAVIA_STACK, "name43", cluster_edit(name="a" * 43))
    assert ends_cleanly(lambda: load_project(stack)) is None


@pytest.mark.parametrize("protocol", ["0", 0])
def test_protocol_zero_is_refused(spec_dir, protocol):
    write(spec_dir, "zz-case.yaml", "source: https://example.com/\ntitle: t\nflows:\n"
          f"  - {{name: zz, purpose: p, protocol: {json.dumps(protocol)}, to: [worker], from: [worker]}}\n")
    got = problems_of(lambda: load_paths(sorted(glob.glob(os.path.join(spec_dir, "*.yaml")))))
    expected = ("flows[0].protocol: protocol 0 means all protocols to some clouds; write 'all' if that is meant"
                if protocol == 0 else "flows[0].protocol: unknown protocol '0'; use tcp, udp, tcp+udp, icmp, all or "
                "an IP protocol number")
    assert got == [expected]


# (distribution, provider, nodeport-range) -> sensitive purposes a CIDR would reach once the cloud renders it
RKE2 = {"distribution": "rke2", "cni": {"name": "canal", "mode": "vxlan"}, "addons": []}
EXPOSURES = [
    ("kubeadm", "amphora", "10000-11000", {"Kubelet API"}),
    ("kubeadm", "ovn", "10000-11000", {"Kubelet API"}),
    ("kubeadm", "amphora", "2000-3000", set()),  # etcd listens on the control plane, NodePort on workers
    ("kubeadm", "amphora", "10255-10260", set()),  # kubeadm's NodePort is on workers; 10257/10259 on the CP
    ("rke2", "amphora", "10000-10300", {"kubelet metrics", "kube-scheduler secure port on RKE2 servers",
                                        "kube-controller-manager secure port on RKE2 servers"}),
    ("rke2", "ovn", "10257-10257", {"kube-controller-manager secure port on RKE2 servers"}),
    ("rke2", "ovn", "10259-10259", {"kube-scheduler secure port on RKE2 servers"}),
    ("rke2", "amphora", "2379-2381", {"etcd client, peer and metrics"}),
]


@pytest.mark.parametrize("dist,provider,ports,reached", EXPOSURES, ids=[f"{d}-{p}-{r}" for d, p, r, _ in EXPOSURES])
def test_sensitive_ports_are_guarded_as_rendered(workdir, dist, provider, ports, reached):
    def edit(config: dict) -> None:
        config["kubeports:openstack"]["lbProvider"] = provider
        config["kubeports:cluster"]["ports"] = {"nodeport-range": ports}
        if dist == "rke2":
            config["kubeports:cluster"].update(RKE2)
    stack = stack_variant(workdir, OCTAVIA_STACK, f"exp-{dist}-{provider}", edit)
    exc = ends_cleanly(lambda: load_project(stack))
    found = {m.split(" reach ", 1)[1].split(" (tcp ", 1)[0] for m in
             ([p.message for p in exc.problems] if exc else []) if " would let " in m}  # other refusals: not exposures
    assert found == reached


def test_split_world_api_clients_through_ovn_are_refused(workdir):
    """The issue's own case, with a one-port API moved onto the kubelet: refused as rendered."""
    def edit(config: dict) -> None:
        config["kubeports:openstack"].update(lbProvider="ovn")
        config["kubeports:cluster"]["ports"] = {"kube-apiserver": 10250}
        config["kubeports:cluster"]["cidrs"]["api-clients"] = ["0.0.0.0/1", "128.0.0.0/1"]
        # the IPv4 pod CIDRs would overlap the halves (refused on their own); ipip's IPv6 pool stays required
        config["kubeports:cluster"]["podCidrs"] = [c for c in config["kubeports:cluster"]["podCidrs"] if ":" in c]
    stack = stack_variant(workdir, OCTAVIA_STACK, "split", edit)
    got = problems_of(lambda: load_project(stack))
    assert any("would let 0.0.0.0/1 reach Kubelet API (tcp 10250-10250)" in m for m in got)
    assert any("would let 128.0.0.0/1 reach Kubelet API (tcp 10250-10250)" in m for m in got)


# --- items 9, 10: the command line ------------------------------------------------------------------

def cli(*argv: str) -> tuple[int, str]:
    import contextlib
    import io

    from kubeports import cli as kcli
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = kcli.main(list(argv))
    return code, "\n".join(line for line in err.getvalue().splitlines() if not line.startswith(("note: ", "quota: ")))


def test_missing_program_is_a_user_error():
    assert cli("plan", "--stack", "dev", "--program", "/nonexistent/__main__.py") == (
        1, "/nonexistent/__main__.py:1: --program: no such file: the Pulumi program to run, e.g. "
           "examples/worker-pool/__main__.py")


@pytest.mark.parametrize("outputs,message", [
    ({"security_group_ids": ["a"]}, "acme/kubeports/dev: security_group_ids must map role names to group ids "
                                    "(a JSON object of strings)"),
    ({"security_group_ids": {"worker": 1}}, "acme/kubeports/dev: security_group_ids must map role names to group "
                                            "ids (a JSON object of strings)"),
    ({"security_group_ids": {"worker": "sg-1"}}, "acme/kubeports/dev: security_group_ids has no group for "
                                                 "control-plane (it has worker)"),
    ([1], "acme/kubeports/dev: expected a JSON object"),
])
def test_bad_stack_outputs_are_user_errors(workdir, outputs, message):
    path = write(workdir, "outputs.json", json.dumps(outputs))
    pool = os.path.join(ROOT, "examples", "worker-pool")
    assert cli("plan", "--stack-file", os.path.join(pool, "Pulumi.pool.yaml"), "--program",
               os.path.join(pool, "__main__.py"), "--stack-outputs", f"acme/kubeports/dev={path}") == (
        1, f"{path}:1: --stack-outputs: {message}")


@pytest.mark.parametrize("argv,message", [
    (("--base-dir", "/nonexistent"), "/nonexistent:1: --base-dir: no such directory: a checkout of this project"),
    (("--base", "no-such-ref-x"), "--base: git cannot read 'no-such-ref-x': not a commit in this repository"),
])
def test_bad_diff_sides_are_user_errors(argv, message):
    code, err = cli("diff", "--stack", "dev", *argv)
    assert code == 1 and message in err and "\n" not in err


def test_no_such_stack_on_either_side_is_a_user_error():
    assert cli("diff", "--stack", "nosuch", "--base", "HEAD") == (
        1, "Pulumi.nosuch.yaml:1: --stack: no Pulumi.nosuch.yaml on either side (HEAD or the work tree)")


def test_the_command_line_wins_over_kubeports_stack_file(monkeypatch):
    monkeypatch.setenv("KUBEPORTS_STACK_FILE", NLB_STACK)
    import contextlib
    import io

    from kubeports import cli as kcli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert kcli.main(["rules", "--stack", "dev", "--format", "json"]) == 0
    assert f"note: --stack dev wins over KUBEPORTS_STACK_FILE={NLB_STACK}" in err.getvalue().splitlines()
    keys = {r["key"] for r in json.loads(out.getvalue())["rules"]}
    assert not any(k.startswith("load-balancer-") for k in keys)  # dev has no balancer; nlb has


# --- item 3: exports loaded back with `nft -c` ------------------------------------------------------

INJECTIONS = ["x\n\t\taccept\n#", "x\r\n\tchain evil { type filter hook input priority -500; policy accept; }\n#",
              "x\u2028accept", 'x" accept comment "', "x\x1b[2Jaccept"]


def nft_check(text: str, workdir: str) -> None:
    nft = shutil.which("nft")
    if nft is None:
        pytest.skip("nft is not installed (apt-get install nftables)")
    path = write(workdir, "export.nft", text)
    import subprocess
    proc = subprocess.run([nft, "-c", "-f", path], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN here")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("hostile", INJECTIONS, ids=range(len(INJECTIONS)))
def test_hostile_directory_names_stay_inside_comments(workdir, hostile):
    """A stack file and a portspecs directory whose names carry nft statements: the export
    still loads with `nft -c`, and every statement in it is one kubeports wrote."""
    import contextlib
    import io

    from kubeports import cli as kcli
    directory = os.path.join(workdir, f"d{abs(hash(hostile))}{hostile}")
    os.makedirs(directory, exist_ok=True)
    specs = os.path.join(directory, "portspecs")
    if not os.path.isdir(specs):
        shutil.copytree(PORTSPECS, specs)
    stack = os.path.join(directory, "Pulumi.dev.yaml")
    shutil.copy(os.path.join(ROOT, "Pulumi.dev.yaml"), stack)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert kcli.main(["export", "--stack-file", stack, "--replace-catalog", specs, "--role", "worker"]) == 0
    text = out.getvalue()
    lines = text.split("\n")
    assert all(line.replace("\t", "").isprintable() for line in lines)
    statements = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    assert "accept" not in statements and not any(s.startswith("chain evil") for s in statements)
    assert all(s.startswith(("table", "delete table", "set", "type", "flags", "auto-merge", "elements", "chain",
                             "ct state", "iif", "oif", "ip ", "ip6 ", "icmpv6", "meta", "}"))
               for s in statements), statements
    nft_check(text, workdir)


# --- item 1, as a property: the rules each cloud module creates never let a CIDR reach a sensitive port ---

EXAMPLE_STACKS = sorted(STACK_FILES) + [OCTAVIA_STACK, NLB_STACK]
RANGES = ["30000-32767", "10000-11000", "2000-3000", "10240-10260", "10257-10259", "1-65535", "9000-9999"]
CLIENT_SETS = [["198.51.100.0/24"], ["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/0", "::/0"], ["::/1", "8000::/1"],
               ["10.0.0.0/24"], ["203.0.113.7/32", "2001:db8:7::/48"]]
RULE_TYPES = {"openstack:networking/secGroupRule:SecGroupRule": ("remoteIpPrefix", "portRangeMin", "portRangeMax"),
              "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("cidrIpv4", "fromPort", "toPort")}


@settings(PLAN_FUZZ, max_examples=min(FUZZ.max_examples, 25))
@given(base=st.sampled_from(EXAMPLE_STACKS), nodeports=st.sampled_from(RANGES),
       api=st.sampled_from(CLIENT_SETS), clients=st.sampled_from(CLIENT_SETS),
       provider=st.sampled_from(["amphora", "ovn"]), rke2=st.booleans(), bastion=st.booleans())
def test_rendered_rules_never_open_a_sensitive_port(workdir, monitors, base, nodeports, api, clients, provider,
                                                    rke2, bastion):
    from kubeports.core.safety import sensitive_ports
    from kubeports.plan.offline import run_plan

    def edit(config: dict) -> None:
        cluster = config["kubeports:cluster"]
        cluster["ports"] = {**cluster.get("ports", {}), "nodeport-range": nodeports}
        cluster["cidrs"] = {**cluster.get("cidrs", {}), "api-clients": api, "nodeport-clients": clients}
        cluster["podCidrs"] = []
        if rke2:
            cluster.update(RKE2)
        if bastion and config.get("kubeports:cloud") == "openstack":
            cluster["roles"]["bastion"] = {"count": 1}
            config["kubeports:openstack"].setdefault("floatingIpPool", "public")
        if "kubeports:openstack" in config:
            config["kubeports:openstack"]["lbProvider"] = provider
    stack = stack_variant(workdir, base, "prop", edit)
    monitors.clear()
    if ends_cleanly(lambda: load_project(stack)) is not None:
        return  # refused before anything is registered (plan_ends_cleanly holds that elsewhere)
    project = load_project(stack)
    guarded = sensitive_ports(project.catalog, project.stack.cluster)
    plan = run_plan(stack)
    name = project.stack.cluster.name
    checked = 0
    for res in plan.resources:
        if res.type not in RULE_TYPES:
            continue
        cidr_key, low_key, high_key = RULE_TYPES[res.type]
        props = res.inputs
        cidr = props.get(cidr_key) or props.get("cidrIpv6")
        if cidr is None and res.type.startswith("openstack:") and not props.get("remoteGroupId"):
            cidr = "::/0" if props.get("ethertype") == "IPv6" else "0.0.0.0/0"  # Neutron: no remote is anywhere
        if props.get("direction", "ingress") != "ingress" or not isinstance(cidr, str):
            continue
        role = next((r for r in sorted(project.stack.cluster.present_roles, key=len, reverse=True)
                     if res.name.startswith(f"{name}-{r}-in-")), None)
        assert role is not None, res.name
        proto = str(props.get("protocol") or props.get("ipProtocol") or "all").lower()
        low, high = props.get(low_key), props.get(high_key)
        for g_proto, g_low, g_high, purpose, roles in guarded:
            if role not in roles or proto not in (g_proto, "all", "-1", "0"):
                continue
            open_low = 0 if low is None else int(low)
            open_high = 65535 if high is None else int(high)
            assert not (open_low <= g_high and g_low <= open_high), f"{res.name}: {cidr} reaches {purpose}"
        checked += 1
    note(f"checked {checked > 0}")
