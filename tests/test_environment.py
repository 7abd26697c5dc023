"""environment.yml, requirements.txt and pyproject.toml agree on what is installed."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)\s*", line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_environment_yml_pins_match_requirements():
    environment = (ROOT / "environment.yml").read_text().splitlines()
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    environment_pins = pins(environment)
    assert environment_pins, "environment.yml pins nothing"
    for name, version in environment_pins.items():
        assert requirements.get(name) == version, (
            f"{name}: environment.yml {version}, requirements.txt {requirements.get(name)}"
        )
    assert any(re.fullmatch(r"\s*-\s+python=3\.11\s*", line) for line in environment)
    assert any(re.fullmatch(r"\s*-\s+-e \.\s*", line) for line in environment)


def test_every_declared_dependency_is_pinned_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0].lower() for spec in declared}
    environment_pins = pins((ROOT / "environment.yml").read_text().splitlines())
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    for name in names:
        assert name in environment_pins, f"{name} is declared in pyproject.toml but not pinned in environment.yml"
        assert name in requirements, f"{name} is declared in pyproject.toml but not pinned in requirements.txt"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    # An unpinned or ranged torch pulls several GB of CUDA packages.
    assert pins((ROOT / "requirements.txt").read_text().splitlines())["torch"] == "2.13.0"
