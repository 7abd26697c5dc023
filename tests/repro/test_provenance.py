"""Provenance in the report: code version, packages, torch build, BLAS/OpenMP threads, CPU, seeds."""

import subprocess

import pytest
from tiny_notebooks import write_notebook

from normprop.claims import all_claims
from normprop.repro import layout as paths
from normprop.repro import provenance, report, runner


@pytest.fixture
def no_outer_repository(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # tmp_path must not count as inside a checkout
    return tmp_path


def test_git_state_of_a_clean_and_a_modified_checkout(no_outer_repository):
    folder = no_outer_repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    (folder / "a.txt").write_text("a\n")
    subprocess.run([*git, "add", "a.txt"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-qm", "a"], cwd=folder, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True).stdout.strip()
    assert provenance.git_state(folder) == {"commit": head, "dirty": False, "changed_files": 0}
    (folder / "a.txt").write_text("b\n")
    assert provenance.git_state(folder) == {"commit": head, "dirty": True, "changed_files": 1}


def test_git_state_outside_a_checkout_or_without_git(no_outer_repository, monkeypatch):
    state = provenance.git_state(no_outer_repository)
    assert state["commit"] is None and state["dirty"] is None and state["error"].startswith("not a git checkout")
    monkeypatch.setenv("PATH", str(no_outer_repository))  # no git program at all
    assert provenance.git_state(paths.repo_root())["commit"] is None


def test_environment_names_the_build_the_thread_pools_and_the_versions():
    env = provenance.environment(paths.repo_root(), jobs=2, threads=1)
    assert env["git"]["commit"] is None or len(env["git"]["commit"]) == 40
    assert env["torch_build"]["build_settings"]["TORCH_VERSION"] == "2.13.0"
    assert env["torch_build"]["summary"] and env["torch_build"]["parallel_backend"] != "unknown"
    apis = {pool["user_api"] for pool in env["thread_pools"]}
    assert {"blas", "openmp"} <= apis and all(pool["num_threads"] >= 1 for pool in env["thread_pools"])
    assert all("filepath" not in pool for pool in env["thread_pools"])  # no machine paths in the report
    assert env["packages"]["normprop"] and env["packages"]["threadpoolctl"] != "not installed"
    assert env["cpu"] and env["jobs"] == 2 and env["torch_threads_per_job"] == 1

    outcomes = {claim.notebook: runner.Outcome(runner.FINISHED, "reproduced", 1.0) for claim in all_claims()[:1]}
    markdown = report.report_markdown(report.build_report(all_claims()[:1], "quick", outcomes, env, seeds={}))
    assert "torch build: " in markdown and "TORCH_VERSION=2.13.0" in markdown and "blas library" in markdown
    assert "- Code: " in markdown


def test_notebook_seed_is_read_from_the_parameters_cell(tmp_path):
    assert provenance.notebook_seed(write_notebook(tmp_path, "01_orthogonality")) == 7
    assert provenance.notebook_seed(paths.repo_root() / "notebooks" / "01_orthogonality.ipynb") == 0
    assert provenance.notebook_seed(tmp_path / "missing.ipynb") is None
