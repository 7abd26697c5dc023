"""What the README and ``CITATION.cff`` say about the claims, checked against the claims registry.

The README's claims table and figure table, its BibTeX block and ``CITATION.cff``'s references restate what
the claim modules and the bibliography hold; these checks (run by ``tests/repro/test_docs.py``, and by
``python -m normprop.repro.docs`` for a contributor) list every place where they disagree, so that a new claim
or a renamed figure cannot drift. ``python -m normprop.repro.docs --rows NN`` prints the README rows a new claim
needs, to paste and complete.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from normprop.claims import Claim, all_claims, find_claim
from normprop.claims.papers import PAPERS, Paper
from normprop.repro.layout import repo_root

_ARXIV = re.compile(r"\b(\d{4}\.\d{4,5})")


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    """The body rows of the first markdown table whose header line starts with ``header``, as cells."""
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for row in lines[index + 2 :]:
                if not row.startswith("|"):
                    break
                cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
                rows.append([cell.strip().replace("\\|", "|") for cell in cells])
            return rows
    return []


def claims_table_problems(readme: str, claims: Sequence[Claim]) -> list[str]:
    """The claims table (``| # | notebook | ...``): one row per claim, in order, linking its notebook."""
    rows = _table_rows(readme, "| # | notebook |")
    if not rows:
        return ["README: no claims table (a table whose header starts with '| # | notebook |')"]
    problems = []
    found = [row[0] for row in rows]
    wanted = [claim.number for claim in claims]
    if found != wanted:
        problems.append(f"README claims table: rows {found}, registry {wanted}")
    for claim in claims:
        row = next((row for row in rows if row[0] == claim.number), None)
        if row is not None and f"(notebooks/{claim.notebook}.ipynb)" not in row[1]:
            problems.append(f"README claims table: row {claim.number} does not link notebooks/{claim.notebook}.ipynb")
    return problems


def figure_table_problems(readme: str, claims: Sequence[Claim]) -> list[str]:
    """The figure table (``| paper figure | file | notebook | ...``): one row per figure of every claim, in the
    registry's order, naming the claim's notebook and the paper figure the claim module names."""
    rows = _table_rows(readme, "| paper figure | file |")
    if not rows:
        return ["README: no figure table (a table whose header starts with '| paper figure | file |')"]
    problems = []
    wanted = [(claim, stem) for claim in claims for stem in claim.figures]
    found = [re.sub(r"^`figures/|\.png`$", "", row[1]) for row in rows]
    if found != [stem for _, stem in wanted]:
        missing = sorted({stem for _, stem in wanted} - set(found))
        extra = sorted(set(found) - {stem for _, stem in wanted})
        problems.append(f"README figure table: missing {missing}, not registered {extra}, or out of order")
    for row in rows:
        stem = re.sub(r"^`figures/|\.png`$", "", row[1])
        claim = next((claim for claim, figure in wanted if figure == stem), None)
        if claim is None:
            continue
        if row[2] != claim.number:
            problems.append(f"README figure table: {stem} names notebook {row[2]}, not {claim.number}")
        if row[0] != claim.figures[stem]:
            problems.append(
                f"README figure table: {stem} says {row[0]!r}; its claim module says {claim.figures[stem]!r}"
            )
    return problems


def cited_papers(claims: Iterable[Claim]) -> list[Paper]:
    """Every paper some claim cites, once, in bibliography order."""
    keys = {citation.key for claim in claims for citation in claim.citations}
    return [paper for key, paper in PAPERS.items() if key in keys]


def bibtex_problems(readme: str, claims: Sequence[Claim]) -> list[str]:
    """The README's BibTeX block cites exactly the papers the claims cite, by key, title, year and arXiv id."""
    blocks = re.findall(r"```bibtex\n(.*?)```", readme, re.S)
    if len(blocks) != 1:
        return [f"README: {len(blocks)} BibTeX blocks, want 1"]
    entries = {key: body for _, key, body in re.findall(r"@(\w+)\{([\w:-]+),(.*?)\n\}", blocks[0], re.S)}
    problems = []
    papers = cited_papers(claims)
    cited = {key for key, body in entries.items() if "eprint" in body}
    if cited != {paper.key for paper in papers}:
        problems.append(f"README BibTeX: entries {sorted(cited)}, cited papers {sorted(p.key for p in papers)}")
    for paper in papers:
        body = entries.get(paper.key, "")
        for field, value in (("title", paper.title), ("year", str(paper.year)), ("eprint", paper.arxiv)):
            if body and not re.search(rf"{field}\s*=\s*\{{{re.escape(value)}\}}", body):
                problems.append(f"README BibTeX {paper.key}: {field} is not {{{value}}}")
    return problems


def citation_file_problems(citation: Mapping[str, Any], claims: Sequence[Claim]) -> list[str]:
    """``CITATION.cff``'s references are the cited papers: titles, years, authors and arXiv ids."""
    problems = []
    references = {
        ids[0]: reference
        for reference in citation.get("references", [])
        if (ids := [m for i in reference.get("identifiers", []) for m in _ARXIV.findall(str(i.get("value")))])
    }
    papers = cited_papers(claims)
    if set(references) != {paper.arxiv for paper in papers}:
        problems.append(f"CITATION.cff references {sorted(references)}, cited papers {sorted(p.arxiv for p in papers)}")
    for paper in papers:
        reference = references.get(paper.arxiv)
        if reference is None:
            continue
        if reference.get("title") != paper.title or reference.get("year") != paper.year:
            problems.append(f"CITATION.cff {paper.arxiv}: title or year differ from the bibliography")
        authors = [(a.get("family-names"), a.get("given-names")) for a in reference.get("authors", [])]
        if authors != list(paper.authors):
            problems.append(f"CITATION.cff {paper.arxiv}: authors {authors}, bibliography {list(paper.authors)}")
    return problems


def problems(root: Path | None = None, claims: Sequence[Claim] | None = None) -> list[str]:
    """Every disagreement between the README, CITATION.cff and the registry (empty when they agree)."""
    import yaml  # a dependency of papermill and jupyter; only needed for this check

    root = root or repo_root()
    claims = all_claims() if claims is None else claims
    readme = (root / "README.md").read_text(encoding="utf-8")
    citation = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    return [
        *claims_table_problems(readme, claims),
        *figure_table_problems(readme, claims),
        *bibtex_problems(readme, claims),
        *citation_file_problems(citation, claims),
    ]


def readme_rows(claim: Claim) -> str:
    """The README rows a claim needs: its claims-table row and one figure-table row per figure (to complete)."""
    launch = (
        f"[Colab](https://colab.research.google.com/github/OWNER/normprop/blob/main/notebooks/{claim.notebook}.ipynb)"
    )
    lines = [
        f"| {claim.number} | [`{claim.notebook}`](notebooks/{claim.notebook}.ipynb) | {claim.title} | ... | {launch} |"
    ]
    for index, (stem, paper_figure) in enumerate(claim.figures.items()):
        command = f"`normprop run {claim.number} --preset paper`" if index == 0 else "same"
        lines.append(f"| {paper_figure} | `figures/{stem}.png` | {claim.number} | {command} | ... | ... |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m normprop.repro.docs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", metavar="NN", help="print the README rows the claim NN needs")
    args = parser.parse_args(argv)
    if args.rows:
        print(readme_rows(find_claim(args.rows)))
        return 0
    found = problems()
    for problem in found:
        print(problem)
    print("README and CITATION.cff agree with the claims registry" if not found else f"{len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
