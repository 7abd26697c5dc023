"""normprop verify: a run's numbers against the committed reference, with tolerances from the seed spread."""

import json

import pytest

from normprop.claims import find_claim
from normprop.repro import cli, verify
from normprop.repro.layout import ledger_paths, reference_path
from normprop.repro.records import ClaimRun


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMPROP_BUILD_DIR", str(tmp_path))
    # The paper ledger: the slope at seeds 0-3 has a standard deviation of 0.01290994.
    for seed, slope in enumerate([-0.50, -0.52, -0.51, -0.49]):
        ClaimRun("01", "paper", variant=f"seed{seed}").record({"ok": True}, {"slope": slope, "rank": {"BN": 9.0}})
    ledger_paths("paper")[0].parent.mkdir(parents=True, exist_ok=True)
    ledger_paths("paper")[0].write_text(json.dumps({"seeds": [0, 1, 2, 3]}))
    ClaimRun("01", "paper").record({"ok": True}, {"slope": -0.505, "rank": {"BN": 9.0}, "label": "a"})
    verify.write_reference(find_claim("01"))
    return tmp_path


def test_the_reference_holds_numbers_tolerances_and_figures(build):
    reference = json.loads(reference_path("01_orthogonality").read_text())
    assert reference["numbers"] == {"slope": -0.505, "rank.BN": 9.0, "label": "a"}
    assert reference["tolerances"]["slope"] == pytest.approx(3 * 0.012909944, rel=1e-6)
    assert reference["tolerances"]["rank.BN"] == 0.0 and "label" not in reference["tolerances"]
    assert set(reference["figures"]) == {f"{stem}.{s}" for stem in find_claim("01").figures for s in ("png", "pdf")}


def test_a_run_within_the_seed_spread_passes(build, capsys):
    ClaimRun("01", "paper").record({"ok": True}, {"slope": -0.52, "rank": {"BN": 9.0}, "label": "a"})
    assert cli.main(["verify", "--only", "01"]) == 0
    out = capsys.readouterr().out
    assert "within tolerance number  slope: reference -0.505, this run -0.52 (tolerance 0.0387)" in out
    assert "every number within tolerance" in out


def test_a_number_outside_its_tolerance_fails_and_is_named(build, capsys):
    ClaimRun("01", "paper").record({"ok": True}, {"slope": -0.40, "rank": {"BN": 9.0}, "label": "a"})
    assert cli.main(["verify", "--only", "01"]) == 1
    out = capsys.readouterr().out
    assert "OUTSIDE          number  slope: reference -0.505, this run -0.4" in out


def test_a_failed_check_fails_verify(build, capsys):
    ClaimRun("01", "paper").record({"ok": False}, {"slope": -0.505, "rank": {"BN": 9.0}, "label": "a"})
    assert cli.main(["verify", "--only", "01"]) == 1
    assert "OUTSIDE          check   ok: reference True, this run False" in capsys.readouterr().out
