"""CITATION.cff, LICENSE, the README's BibTeX and launch links: valid, and consistent with pyproject.toml.

The CFF 1.2.0 JSON schema is vendored in tests/data (taken from the cffconvert 2.0.0 wheel, whose pins
clash with this environment's jsonschema; the schema itself is CC-BY-4.0, from citation-file-format).
"""

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from normprop.claims import all_claims
from normprop.repro import docs

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.fixture(scope="module")
def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_citation_is_valid_cff_1_2_0(citation):
    schema = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(citation), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)


def test_the_schema_check_catches_mistakes(citation):
    schema = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())
    broken = {**citation, "date-released": "24 November 2026"}
    broken.pop("authors")
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_citation_agrees_with_pyproject(citation):
    assert citation["cff-version"] == "1.2.0"
    assert citation["title"] == PROJECT["name"] and citation["type"] == "software"
    assert citation["version"] == PROJECT["version"]
    assert citation["license"] == PROJECT["license"]["text"] == "MIT"
    assert citation["repository-code"] == PROJECT["urls"]["Repository"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", citation["date-released"])


def test_references_are_the_papers_the_claims_cite(citation):
    assert docs.citation_file_problems(citation, all_claims()) == []
    for reference in citation["references"]:
        assert reference["url"].startswith("https://arxiv.org/abs/")


def test_license_is_mit_and_named_in_pyproject():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the normprop authors" in text
    assert "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_readme_bibtex_cites_every_paper_and_the_project():
    assert docs.bibtex_problems(readme(), all_claims()) == []
    blocks = re.findall(r"```bibtex\n(.*?)```", readme(), re.S)
    entries = re.findall(r"@(\w+)\{([\w:-]+),(.*?)\n\}", blocks[0], re.S)
    keys = [key for _, key, _ in entries]
    assert len(keys) == len(set(keys)) == len(docs.cited_papers(all_claims())) + 1  # the papers and the project
    project = [body for kind, _, body in entries if kind == "software"]
    assert len(project) == 1 and f"version = {{{PROJECT['version']}}}" in project[0]
    assert PROJECT["urls"]["Repository"] in project[0]
    for _, key, body in entries:  # balanced braces: a malformed entry would swallow the next one
        assert body.count("{") == body.count("}"), key


def test_readme_launch_links_follow_the_repository_slug():
    slug = PROJECT["urls"]["Repository"].removeprefix("https://github.com/")
    colab = r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/main/notebooks/(\w+)\.ipynb"
    links = re.findall(colab, readme())
    assert {notebook for _, notebook in links} == {claim.notebook for claim in all_claims()}
    assert {found for found, _ in links} == {slug}, f"the README's Colab links must use {slug} (pyproject.toml)"
    repositories = re.findall(r"https://github\.com/([\w.-]+/[\w.-]+)", readme())  # the Colab cell, the BibTeX
    assert repositories and set(repositories) == {slug}


def test_every_notebooks_colab_install_cell_clones_the_repository():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
        install = [cell for cell in cells if "colab-install" in cell.metadata.get("tags", [])]
        assert len(install) == 1, path.name
        assert f'repository = "{PROJECT["urls"]["Repository"]}"' in install[0].source, path.name
