import pandas as pd
import pytest

from normprop.repro.sweeps import configurations, label_table


def test_configurations_are_the_product_of_the_axes_in_order():
    assert list(configurations(width=[8, 16], activation=["relu", "tanh"])) == [
        {"width": 8, "activation": "relu"},
        {"width": 8, "activation": "tanh"},
        {"width": 16, "activation": "relu"},
        {"width": 16, "activation": "tanh"},
    ]


@pytest.mark.parametrize("bad", [[], "abc", 3])
def test_an_axis_must_be_a_non_empty_list(bad):
    with pytest.raises(ValueError, match="width"):
        list(configurations(width=bad))


def test_label_table_adds_the_configuration_and_keeps_returned_columns():
    table = label_table({"ratio": 0.5, "d": -1}, {"d": 4, "n": 2, "f": len})
    assert table.to_dict("records") == [{"ratio": 0.5, "d": -1, "n": 2, "f": "len"}]
    original = pd.DataFrame({"x": [1, 2]})
    assert list(label_table(original, {"w": 3})["w"]) == [3, 3] and "w" not in original
