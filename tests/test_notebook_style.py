"""Notebooks read like the paper: short, composing package calls, defining no real code of their own.

A notebook holds at most ``MAX_CODE_LINES`` code lines (non-blank lines of code cells that are not only a
comment; the Colab install cell included), and no function or lambda longer than ``MAX_FUNCTION_LINES`` lines:
anything longer belongs in the claim's module or the package, with a test.
"""

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 150
MAX_FUNCTION_LINES = 3


def code_cells(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def code_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def long_definitions(source: str) -> list[str]:
    """Functions and lambdas defined in ``source`` that span more than MAX_FUNCTION_LINES lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{getattr(node, 'name', 'lambda')} (line {node.lineno}, {lines} lines)")
    return found


def test_the_counts_see_code_and_skip_comments():
    assert code_lines("# a comment\n\nx = 1\n  # indented comment\ny = [\n  2,\n]\n") == 4
    assert long_definitions("f = lambda x: (\n  x\n  + 1\n  + 2)\n") == ["lambda (line 1, 4 lines)"]
    assert long_definitions("def g(x):\n    return x\n") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_has_at_most_150_code_lines(path):
    total = sum(code_lines(source) for source in code_cells(path))
    assert total <= MAX_CODE_LINES, f"{path.name}: {total} code lines (at most {MAX_CODE_LINES})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_defines_no_function_over_3_lines(path):
    found = [name for source in code_cells(path) for name in long_definitions(source)]
    assert not found, f"{path.name} defines {found}: move them to its claim module or the package"
