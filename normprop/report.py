"""The reproduction report (``build/<preset>/report.json`` and ``report.md``) and the figure gallery.

The report records, per claim, the papers, the verdict, every check, the headline numbers and the runtime,
plus the environment the run used. The gallery (``figures/README.md`` for the paper preset) is built from the
catalog alone, so regenerating it never changes a committed byte.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from normprop.catalog import CLAIMS, Claim
from normprop.paths import build_dir, figures_dir
from normprop.results import REPRODUCED, read_record

PACKAGES = ("torch", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "scikit-learn", "papermill", "normprop")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(jobs: int, threads: int) -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "jobs": jobs,
        "torch_threads_per_job": threads,
        "packages": versions,
    }


def build_report(claims: Sequence[Claim], preset: str, statuses: dict[str, tuple[str, float]], env: dict) -> dict:
    entries = []
    for claim in claims:
        status, seconds = statuses[claim.notebook]
        record = read_record(claim.notebook, preset) or {}
        entries.append(
            {
                "notebook": claim.notebook,
                "title": claim.title,
                "claim": claim.statement,
                "papers": list(claim.papers),
                "figures": claim.figures,
                "verdict": status,
                "checks": record.get("checks", {}),
                "numbers": record.get("numbers", {}),
                "notebook_seconds": record.get("seconds"),
                "wall_seconds": round(seconds, 1),
            }
        )
    return {
        "preset": preset,
        "all_reproduced": all(entry["verdict"] == REPRODUCED for entry in entries),
        "claims": entries,
        "environment": env,
    }


def _format_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_format_number(item)}" for key, item in value.items())
    return str(value)


def report_markdown(report: dict) -> str:
    lines = [f"# normprop reproduction report ({report['preset']} preset)", ""]
    overall = "every claim reproduced" if report["all_reproduced"] else "SOME CLAIMS NOT REPRODUCED"
    lines += [f"**Result: {overall}.**", "", "| notebook | verdict | runtime (s) |", "|---|---|---|"]
    for entry in report["claims"]:
        lines.append(f"| {entry['notebook']} | {entry['verdict']} | {entry['wall_seconds']} |")
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
    env = report["environment"]
    lines += ["", "## Environment", ""]
    lines += [f"- Python {env['python']} on {env['platform']}", f"- CPU: {env['cpu']} ({env['cores']} cores)"]
    lines += [f"- {env['jobs']} parallel job(s), {env['torch_threads_per_job']} torch thread(s) each"]
    lines += [f"- {name} {version}" for name, version in env["packages"].items()]
    return "\n".join(lines) + "\n"


def write_report(report: dict, preset: str) -> tuple[Path, Path]:
    folder = build_dir(preset)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, markdown_path = folder / "report.json", folder / "report.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    markdown_path.write_text(report_markdown(report))
    return json_path, markdown_path


def gallery_markdown(claims: Sequence[Claim] = CLAIMS) -> str:
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
    path = figures_dir(preset) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gallery_markdown())
    return path
