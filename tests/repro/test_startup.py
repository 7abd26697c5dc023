"""``import normprop`` and the ``normprop`` command start without torch, pandas or the science modules.

Claim modules import those through :func:`normprop.claims.lazy_import`, which leaves an unloaded placeholder in
``sys.modules``; what must not happen is that their code runs, so the test looks for their submodules, which
only a real import brings in. (How fast ``normprop list`` starts is measured by benchmarks/, not here.)
"""

import json
import subprocess
import sys

# Modules that only a real (not a lazy) import of torch, pandas, scipy.stats, matplotlib or a science module brings in.
HEAVY = ("torch._C", "pandas.core.frame", "scipy.stats._stats_py", "matplotlib.pyplot", "normprop.activations")
PROBE = (
    "import json, sys\n"
    "import normprop, normprop.repro.cli\n"
    "from normprop.claims import all_claims\n"
    "claims = all_claims()\n"
    "normprop.repro.cli.main(['list'])\n"
    f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
)


def test_the_cli_lists_every_claim_without_loading_torch_pandas_or_the_science():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    *listing, loaded = result.stdout.strip().splitlines()
    assert json.loads(loaded) == []
    assert any(line.startswith("01_orthogonality: ") for line in listing)


def test_the_probe_would_see_torch():
    probe = PROBE.replace("claims = all_claims()", "claims = all_claims(); import normprop.nets")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "torch._C" in json.loads(result.stdout.strip().splitlines()[-1])


DRIVER_PROBE = (
    "import json, sys\n"
    "import normprop.repro.papermill_driver\n"
    "import nbformat.validator, jsonschema._format\n"
    "print(json.dumps({'blocked': sys.modules.get('rfc3987_syntax', 'absent') is None,\n"
    "                  'papermill': 'papermill.execute' in sys.modules}))\n"
)


def test_the_papermill_driver_runs_papermill_without_importing_rfc3987_syntax():
    result = subprocess.run([sys.executable, "-c", DRIVER_PROBE], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == {"blocked": True, "papermill": True}


def test_the_papermill_driver_is_papermills_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "normprop.repro.papermill_driver", "--help"], capture_output=True, text=True, check=True
    )
    assert "NOTEBOOK_PATH" in result.stdout and "--parameters" in result.stdout
