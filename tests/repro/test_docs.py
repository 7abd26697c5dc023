"""Everything that lists the claims follows the claims registry: README tables, BibTeX, CITATION.cff (via
normprop.repro.docs) and the full preset's cost model (benchmarks/full_preset_cost.py)."""

import runpy
from pathlib import Path

from normprop.claims import all_claims
from normprop.repro import docs

ROOT = Path(__file__).resolve().parents[2]


def test_readme_and_citation_agree_with_the_registry():
    assert docs.problems() == []


def test_the_full_preset_cost_model_covers_every_claim():
    script = runpy.run_path(str(ROOT / "benchmarks" / "full_preset_cost.py"), run_name="not_main")
    assert set(script["WORKLOADS"]) == {claim.notebook for claim in all_claims()}
