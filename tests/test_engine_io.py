"""Reading real-world CSV files and inferring column kinds and tasks."""
import numpy as np
import pandas as pd
import pytest

from automl_engine import DataError, read_csv
from automl_engine.schema import infer_task, profile_columns
from tests.helpers import DATA


def test_reads_semicolon_delimited_file_with_quoted_header():
    frame = read_csv(b'"a";"b";"quality"\n1.5;2;5\n2.5;3;6\n')
    assert list(frame.columns) == ["a", "b", "quality"]
    assert frame["a"].tolist() == [1.5, 2.5]


def test_reads_decimal_commas_and_tab_delimiter():
    frame = read_csv("x\ty\n1,5\t2,25\n3,0\t4,75\n".encode())
    assert frame["x"].tolist() == [1.5, 3.0]
    assert frame["y"].tolist() == [2.25, 4.75]


def test_reads_thousands_separators_in_quoted_fields():
    frame = read_csv(b'price,n\n"1,234.5",1\n"12,000.0",2\n"999.0",3\n')
    assert frame["price"].tolist() == [1234.5, 12000.0, 999.0]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1"])
def test_reads_common_encodings(encoding):
    text = "ville,prix\nMontréal,1\nQuébec,2\nZürich,3\n"
    frame = read_csv(text.encode(encoding))
    assert frame["ville"].tolist() == ["Montréal", "Québec", "Zürich"]


def test_detects_a_missing_header_and_names_columns():
    frame = read_csv(b"1,2,3\n4,5,6\n7,8,9\n")
    assert list(frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(frame) == 3


def test_skips_blank_lines_and_reads_pipes():
    frame = read_csv(b"a|b\n\n1|x\n\n2|y\n")
    assert frame["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"\x00\x01\x02\x03binary\x00junk", "binary"),
    (b"just one column\n1\n2\n", "one column"),
    (b"a,b\n", "no rows"),
])
def test_files_that_are_not_tables_get_a_clear_message(content, words):
    with pytest.raises(DataError) as info:
        read_csv(content)
    assert words in str(info.value).lower()


def test_the_red_wine_file_with_semicolons_reads_as_numbers():
    frame = read_csv(DATA / "winequality-red.csv")
    assert frame.shape == (1599, 12)
    assert frame.columns[0] == "fixed acidity"
    assert all(frame[c].dtype.kind in "if" for c in frame.columns)


def test_column_kinds_are_inferred_with_reasons():
    n = 60
    frame = pd.DataFrame({
        "row_id": np.arange(1, n + 1),
        "constant": ["same"] * n,
        "amount": np.linspace(0, 1, n),
        "flag": ["yes", "no"] * (n // 2),
        "day": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "city": ["Lisbon", "Porto", "Braga"] * (n // 3),
        "review": [f"this product was honestly quite good number {i} of many" for i in range(n)],
    })
    kinds = {c.name: c for c in profile_columns(frame)}
    assert kinds["row_id"].kind == "id" and "ID" in kinds["row_id"].reason
    assert kinds["constant"].kind == "constant" and kinds["constant"].reason
    assert kinds["amount"].kind == "numeric"
    assert kinds["flag"].kind == "boolean"
    assert kinds["day"].kind == "datetime"
    assert kinds["city"].kind == "categorical"
    assert kinds["review"].kind == "text" and kinds["review"].reason


@pytest.mark.parametrize("values, task", [
    ([0, 1, 1, 0], "binary"),
    (["a", "b", "c", "a"], "multiclass"),
    ([3, 5, 6, 7, 5, 9], "regression"),
    ([1.5, 2.5, 3.5], "regression"),
])
def test_task_is_inferred_from_the_target_with_a_reason(values, task):
    inferred, reason = infer_task(pd.Series(values, name="y"))
    assert inferred == task
    assert "'y'" in reason


def test_a_target_with_one_value_is_refused():
    with pytest.raises(DataError, match="only one value"):
        infer_task(pd.Series([1, 1, 1], name="y"))
