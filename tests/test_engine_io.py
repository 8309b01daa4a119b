"""Reading real-world CSV files and inferring column kinds and tasks."""
import numpy as np
import pandas as pd
import pytest

from automl_engine import DataError, read_csv
from automl_engine import io as engine_io
from automl_engine.io import read_fast
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


def test_a_large_file_whose_accents_start_far_down_is_read_in_its_own_encoding():
    # Only the first part of a file is checked before the fast reader tries; text further down that
    # is not UTF-8 sends the file to the careful reader, which reads it as Latin-1.
    rows = "".join(f"Paris,{i}\n" for i in range(40_000))  # about 350 KB of plain ASCII first
    text = "ville,prix\n" + rows + "Montréal,1\nQuébec,2\n"
    assert len(text) > engine_io.SNIFF_CHARS
    frame = read_csv(text.encode("latin-1"))
    assert len(frame) == 40_002 and frame["ville"].tolist()[-2:] == ["Montréal", "Québec"]
    assert frame["prix"].sum() == sum(range(40_000)) + 3


def test_detects_a_missing_header_and_names_columns():
    frame = read_csv(b"1,2,3\n4,5,6\n7,8,9\n")
    assert list(frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(frame) == 3


def test_a_header_of_years_over_columns_of_fractions_is_a_header():
    frame = read_csv(b"region,1850,1860,1870\nnorth,0.25,0.5,0.75\nsouth,1.5,2.25,3.0\n")
    assert list(frame.columns) == ["region", "1850", "1860", "1870"] and len(frame) == 2
    assert frame["1860"].tolist() == [0.5, 2.25]
    frame = read_csv(b"1850,1860\n3.8e-05,6.9e-05\n0.0,0.5\n")  # numbers only: still the years' header
    assert list(frame.columns) == ["1850", "1860"] and len(frame) == 2
    # Whole numbers that repeat, or over columns that have whole numbers further down, are data.
    assert list(read_csv(b"1,1\n0.5,0.25\n0.75,0.5\n").columns) == ["column_1", "column_2"]
    assert len(read_csv(b"3,4\n2.5,1.5\n7,8\n")) == 3


def test_skips_blank_lines_and_reads_pipes():
    frame = read_csv(b"a|b\n\n1|x\n\n2|y\n")
    assert frame["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize("spaced", ["", " "])  # without a space the fast reader reads it, with one pandas
def test_rows_without_any_value_are_dropped_and_the_rest_kept_in_order(spaced):
    text = f"a,b,c\n1,x,\n,,\n,y,\n,,{spaced}\n3,,\n"
    frame = read_csv(text.encode())
    assert frame["a"].tolist()[::2] == [1, 3] and np.isnan(frame["a"][1])
    assert frame["b"].tolist()[:2] == ["x", "y"] and frame.index.tolist() == [0, 1, 2]


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


# -- the fast reader (pyarrow) and pandas' reader give the same table ------------------------------

CORPUS = sorted([*DATA.glob("*.csv"), *(DATA / "bad").glob("*.csv"), *(DATA / "bad").glob("*.tsv")])
BETTER_THAN_PANDAS = {"infinities.csv"}  # '-1e400' is a number too large to store: -inf, where pandas keeps text


def _both_readers(raw: bytes, monkeypatch) -> tuple[object, object, bool]:
    """(what read_csv gives, what pandas' reader alone gives, whether the fast reader returned the table)."""
    used = []

    def tracked(*args):
        frame = read_fast(*args)
        used.append(frame is not None)
        return frame

    def outcome():
        try:
            return read_csv(raw)
        except Exception as exc:  # the web app refuses some of these files before reading them
            return f"{type(exc).__name__}: {exc}"

    monkeypatch.setattr(engine_io, "read_fast", tracked)
    first = outcome()
    monkeypatch.setattr(engine_io, "read_fast", lambda *args: None)
    return first, outcome(), any(used)


def test_the_fast_reader_reads_every_file_of_the_corpus_as_pandas_does(monkeypatch):
    fast_files = []
    for path in CORPUS:
        if path.name in BETTER_THAN_PANDAS:
            continue
        got, expected, used = _both_readers(path.read_bytes(), monkeypatch)
        if isinstance(expected, str):
            assert got == expected, path.name  # the same message for a file that is not a table
        else:
            pd.testing.assert_frame_equal(got, expected, obj=path.name)
        fast_files += [path.name] * used
    # It does read most real files, so the comparison above is not only pandas against itself.
    assert {"wine_quality_train.csv", "car_evaluation.csv", "missing_markers.csv", "quoted_newlines.csv",
            "no_header.csv", "tabs.tsv", "unicode_names.csv"} <= set(fast_files)
    assert len(fast_files) >= 25


def test_the_fast_reader_leaves_timestamps_as_text_and_the_engine_types_them(monkeypatch):
    lines = ["when,day,n,y"] + [f"2013-01-{d:02d}T10:00:00Z,2013-01-{d:02d},{d},{'ab'[d % 2]}" for d in range(1, 29)]
    lines[5] = lines[5][:-1] + "NA"
    got, expected, used = _both_readers("\n".join(lines).encode(), monkeypatch)
    assert used
    pd.testing.assert_frame_equal(got, expected)
    assert isinstance(got["y"][4], float) and np.isnan(got["y"][4])  # missing text is NaN, as pandas has it
    assert got["when"].dtype == object and got["when"][0] == "2013-01-01T10:00:00Z"
    assert {c.name: c.kind for c in profile_columns(got)}["when"] == "datetime"


def test_a_column_that_turns_to_text_far_down_a_large_file_reads_as_pandas_does(monkeypatch):
    """pyarrow guesses each column's type from the file's first megabyte: a later surprise sends the
    file to pandas' reader, so the table is the same either way."""
    rows = [f"{i},{i % 7},{'ab'[i % 2]}" for i in range(200_000)]
    rows[150_000] = "n/a?,3,a"  # past the first megabyte
    got, expected, used = _both_readers(("id,x,y\n" + "\n".join(rows)).encode(), monkeypatch)
    pd.testing.assert_frame_equal(got, expected)
    assert got["id"].dtype == object and got["id"][150_000] == "n/a?"


def test_spaces_around_values_anywhere_in_the_file_read_as_pandas_does(monkeypatch):
    rows = [f"{i},c{i % 5},{'ab'[i % 2]}" for i in range(400)]
    rows[350] = "3, c1,b"  # beyond the lines the dialect is guessed from
    got, expected, used = _both_readers(("x,c,y\n" + "\n".join(rows)).encode(), monkeypatch)
    assert not used
    pd.testing.assert_frame_equal(got, expected)
    assert got["c"][350] == "c1"  # pandas drops the space after the comma


def test_the_fast_reader_reads_numbers_too_large_to_store_as_infinite():
    frame = read_csv((DATA / "bad" / "infinities.csv").read_bytes())
    assert frame["x"].dtype == float and np.isinf(frame["x"]).sum() > 0


def test_a_bom_and_a_late_nul_byte_read_as_pandas_does(monkeypatch):
    rows = "".join(f"{i},{'ab'[i % 2]}\n" for i in range(30))
    got, expected, used = _both_readers(("\ufeffx,y\n" + rows).encode("utf-8"), monkeypatch)
    assert used and list(got.columns) == ["x", "y"]
    pd.testing.assert_frame_equal(got, expected)
    got, expected, used = _both_readers(("x,y\n" + rows + "3,a\x00b\n").encode("utf-8"), monkeypatch)
    assert not used and got == expected and "binary" in got
