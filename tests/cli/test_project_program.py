"""kubeports.cli.stacks.project_program: `plan` runs the program of the project found from
the current directory, as `pulumi up` there would (its `main:`, else its __main__.py)."""
from __future__ import annotations

from kubeports.cli.stacks import project_program


def test_the_project_directory_s_main_module_from_any_subdirectory(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\n")
    (tmp_path / "ops" / "deep").mkdir(parents=True)
    assert project_program(str(tmp_path / "ops" / "deep")) == str(tmp_path / "__main__.py")


def test_main_names_a_directory_or_a_file(tmp_path):
    (tmp_path / "infra").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\nmain: infra/\n")
    assert project_program(str(tmp_path)) == str(tmp_path / "infra" / "__main__.py")
    (tmp_path / "Pulumi.yaml").write_text("name: acme\nruntime: python\nmain: infra/cluster.py\n")
    assert project_program(str(tmp_path)) == str(tmp_path / "infra" / "cluster.py")


def test_no_project_no_program(tmp_path):
    assert project_program(str(tmp_path)) is None  # no Pulumi.yaml above a temporary directory
