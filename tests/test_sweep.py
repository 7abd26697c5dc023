"""Declarative grids: every configuration once, in a fixed order, as columns of one table."""

import pandas as pd
import pytest

from normprop import sweep


def test_grid_runs_every_configuration_in_product_order_and_labels_rows():
    calls = []

    def measure(width, activation, depth):
        calls.append((width, activation))
        return pd.DataFrame({"seed": [0, 1], "value": [width, width + depth]})

    table = sweep.grid(measure, fixed={"depth": 3}, width=[8, 16], activation=["relu", "tanh"])
    assert calls == [(8, "relu"), (8, "tanh"), (16, "relu"), (16, "tanh")]
    assert list(table.columns) == ["seed", "value", "width", "activation"]
    assert len(table) == 8 and "depth" not in table
    assert table[(table.width == 16) & (table.activation == "tanh")].value.tolist() == [16, 19]


def test_grid_accepts_mappings_as_single_rows_and_keeps_returned_columns():
    table = sweep.grid(lambda d, n: {"ratio": d / n, "d": -1}, d=[4, 8], n=[2])
    assert table.to_dict("records") == [{"ratio": 2.0, "d": -1, "n": 2}, {"ratio": 4.0, "d": -1, "n": 2}]


@pytest.mark.parametrize("bad", [[], "relu", 3])
def test_an_axis_must_be_a_non_empty_list(bad):
    with pytest.raises(ValueError, match="axis width"):
        sweep.grid(lambda width: {}, width=bad)


def test_cases_runs_paired_configurations_in_order():
    configurations = [{"norm": "batch", "x": "a"}, {"norm": "none", "x": "b"}]
    table = sweep.cases(lambda norm, x: {"out": f"{norm}/{x}"}, configurations)
    assert table.out.tolist() == ["batch/a", "none/b"] and table.norm.tolist() == ["batch", "none"]
    with pytest.raises(ValueError, match="at least one"):
        sweep.cases(lambda: {}, [])
