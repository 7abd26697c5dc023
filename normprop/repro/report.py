"""The reproduction report (``build/<preset>/report.json`` and ``report.md``) and the figure gallery.

The report records, per claim, the papers, the verdict, every check, the headline numbers, the seed and the
runtime, plus the provenance of the run (:mod:`normprop.repro.provenance`). A run replaces the report with a
*running* one before it starts any notebook and writes the final one when it ends, complete or not, so a
report never speaks for a run that did not finish: ``"complete": false`` and INCOMPLETE in the markdown
unless every notebook ran to its end. The gallery (``figures/README.md`` for the paper preset) is built
from the catalog alone, so regenerating it never changes a committed byte. Both are written atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from normprop.claims import Claim, all_claims
from normprop.repro.files import write_text_atomic
from normprop.repro.layout import gallery_path, ledger_paths, report_paths
from normprop.repro.records import REPRODUCED, read_record
from normprop.repro.runner import FINISHED, INTERRUPTED, NOT_STARTED, TIMED_OUT, Outcome

STATES = (FINISHED, INTERRUPTED, TIMED_OUT, NOT_STARTED)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %z")


def _entry(claim: Claim, preset: str, outcome: Outcome, seed: Any) -> dict[str, Any]:
    record = (read_record(claim.notebook, preset) or {}) if outcome.state == FINISHED else {}
    return {
        "notebook": claim.notebook,
        "title": claim.title,
        "claim": claim.statement,
        "papers": list(claim.papers),
        "figures": claim.figures,
        "state": outcome.state,
        "verdict": outcome.verdict,
        "seed": seed,
        "checks": record.get("checks", {}),
        "numbers": record.get("numbers", {}),
        "notebook_seconds": record.get("seconds"),
        "wall_seconds": round(outcome.seconds, 1),
    }


def build_report(
    claims: Sequence[Claim],
    preset: str,
    outcomes: Mapping[str, Outcome],
    env: dict,
    *,
    run: Mapping[str, Any] | None = None,
    seeds: Mapping[str, Any] | None = None,
    stopped_by: str | None = None,
) -> dict:
    """The final report of a run. ``run`` holds how it was started (command, pid, timeout, start time)."""
    entries = [_entry(claim, preset, outcomes[claim.notebook], (seeds or {}).get(claim.notebook)) for claim in claims]
    complete = all(entry["state"] == FINISHED for entry in entries)
    return {
        "preset": preset,
        "status": "complete" if complete else "incomplete",
        "complete": complete,
        "all_reproduced": complete and all(entry["verdict"] == REPRODUCED for entry in entries),
        "stopped_by": stopped_by,
        "counts": {state: sum(entry["state"] == state for entry in entries) for state in STATES},
        "run": {**(run or {}), "finished": now()},
        "claims": entries,
        "environment": env,
    }


def running_report(
    claims: Sequence[Claim], preset: str, env: dict, run: Mapping[str, Any], seeds: Mapping[str, Any] | None = None
) -> dict:
    """The report written before any notebook runs: it replaces the last run's, and stays if this run is
    killed outright (SIGKILL, power cut) before it can write its final report."""
    outcomes = {claim.notebook: Outcome(NOT_STARTED, "-", 0.0) for claim in claims}
    report = build_report(claims, preset, outcomes, env, run=run, seeds=seeds)
    report.update(status="running", run={**run, "finished": None})
    return report


def _format_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_format_number(item)}" for key, item in value.items())
    return str(value)


def _result_line(report: dict) -> str:
    run = report.get("run", {})
    if report["status"] == "running":
        return (
            f"INCOMPLETE: this run is in progress (pid {run.get('pid')}, started {run.get('started')}); "
            "if that process is gone, it was killed before it finished"
        )
    if not report["complete"]:
        counts = ", ".join(f"{count} {state}" for state, count in report["counts"].items() if count)
        why = f"stopped by {report['stopped_by']}" if report["stopped_by"] else "not every notebook ran to its end"
        return f"INCOMPLETE ({why}): {counts}; no claim below counts as reproduced by this run unless it finished"
    return "every claim reproduced" if report["all_reproduced"] else "SOME CLAIMS NOT REPRODUCED"


def _environment_markdown(env: dict) -> list[str]:
    git = env.get("git", {})
    if git.get("commit"):
        state = f"with {git['changed_files']} uncommitted change(s)" if git["dirty"] else "clean"
        code = f"git commit `{git['commit']}`, {state}"
    else:
        code = f"code version unknown ({git.get('error', 'no git information')})"
    lines = ["", "## Environment", "", f"- Code: {code}"]
    lines += [f"- Python {env['python']} on {env['platform']}", f"- CPU: {env['cpu']} ({env['cores']} cores)"]
    lines += [f"- {env['jobs']} parallel job(s), {env['torch_threads_per_job']} torch thread(s) each"]
    if env.get("code_paths"):
        pins = ", ".join(f"{name}={value}" for name, value in env["code_paths"].items())
        lines.append(f"- numerical code paths of every kernel: {pins}")
    torch_build = env.get("torch_build", {})
    if torch_build:
        settings = ", ".join(f"{key}={value}" for key, value in torch_build.get("build_settings", {}).items())
        lines.append(f"- torch build: {settings}; parallel backend {torch_build.get('parallel_backend')}")
        lines += [f"  - {line}" for line in torch_build.get("summary", [])]
    for pool in env.get("thread_pools", []):
        if "error" in pool:
            lines.append(f"- thread pools: {pool['error']}")
        else:
            library = " ".join(str(pool[key]) for key in ("internal_api", "version") if pool.get(key))
            lines.append(
                f"- {pool.get('user_api')} library {pool.get('prefix')} ({library}): "
                f"{pool.get('num_threads')} thread(s) by default"
            )
    lines += [f"- {name} {version}" for name, version in env["packages"].items()]
    return lines


def report_markdown(report: dict) -> str:
    run = report.get("run", {})
    lines = [f"# normprop reproduction report ({report['preset']} preset)", ""]
    lines += [f"**Result: {_result_line(report)}.**", ""]
    if run:
        lines += [
            f"Command: `{run.get('command')}` (pid {run.get('pid')}); started {run.get('started')}, "
            f"finished {run.get('finished') or '-'}; time limit {run.get('timeout_seconds')} s per notebook.",
            "",
        ]
    if run.get("parameters"):
        lines += ["Parameters: " + ", ".join(f"`{k} = {v!r}`" for k, v in run["parameters"].items()), ""]
    if ledger_paths(report["preset"])[1].is_file():
        lines += ["How often each check held over seeds, and by what margin: the claim ledger, `ledger.md`.", ""]
    lines += ["| notebook | state | verdict | seed | runtime (s) |", "|---|---|---|---|---|"]
    for entry in report["claims"]:
        seed = "" if entry["seed"] is None else entry["seed"]
        cells = (entry["notebook"], entry["state"], entry["verdict"], seed, entry["wall_seconds"])
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    for entry in report["claims"]:
        lines += ["", f"## {entry['notebook']}: {entry['title']}", "", entry["claim"], ""]
        lines += [f"- Paper: {paper}" for paper in entry["papers"]]
        lines += ["", f"Verdict: **{entry['verdict']}**", ""]
        if entry["checks"]:
            lines += ["| check | holds |", "|---|---|"]
            lines += [f"| {name} | {'yes' if ok else 'NO'} |" for name, ok in entry["checks"].items()]
            lines.append("")
        if entry["numbers"]:
            lines += ["| headline number | value |", "|---|---|"]
            lines += [f"| `{name}` | {_format_number(value)} |" for name, value in entry["numbers"].items()]
    lines += _environment_markdown(report["environment"])
    return "\n".join(lines) + "\n"


def write_report(report: dict, preset: str) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` under ``build/<preset>/``, each atomically."""
    json_path, markdown_path = report_paths(preset)
    folder = json_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    # The JSON first: it is what tools read, and the markdown is derived from it.
    write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    write_text_atomic(markdown_path, report_markdown(report))
    return json_path, markdown_path


def gallery_markdown(claims: Sequence[Claim] = all_claims()) -> str:
    """The figure gallery, from the catalog only (no numbers or timings: byte-identical on every run)."""
    lines = [
        "# Figure gallery",
        "",
        "Generated by `normprop reproduce --preset paper` (`make figures`); do not edit by hand.",
        "Each figure is also written as a PDF next to its PNG.",
    ]
    for claim in claims:
        lines += ["", f"## {claim.notebook}: {claim.title}", "", claim.statement, ""]
        lines += [f"Notebook: [`notebooks/{claim.notebook}.ipynb`](../notebooks/{claim.notebook}.ipynb)", ""]
        lines += [f"Paper: {paper}" + "  " for paper in claim.papers]
        for stem, paper_figure in claim.figures.items():
            lines += ["", f"### {paper_figure}", "", f"![{paper_figure}]({stem}.png)"]
    return "\n".join(lines) + "\n"


def write_gallery(preset: str) -> Path:
    path = gallery_path(preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != gallery_markdown():  # unchanged: leave the committed file alone
        write_text_atomic(path, gallery_markdown())
    return path
