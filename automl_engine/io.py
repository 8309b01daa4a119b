"""Reading real-world CSV files: encodings, delimiters, decimal commas, headers.

``read_csv`` accepts a path, bytes or a binary file object and returns a DataFrame, or raises
:class:`DataError` with a message a person can act on.
"""
from __future__ import annotations

import csv
import io
import os
import itertools
import re
from collections import Counter
from typing import BinaryIO, Iterator, Union

import numpy as np
import pandas as pd

from .errors import DataError
from .memory import release_freed_memory

DELIMITERS = [",", ";", "\t", "|"]
SNIFF_LINES = 200
SNIFF_CHARS = 256 * 1024  # the lines are looked for in this much of the text first
DETECT_BYTES = 200_000  # the encoding of a file that is not UTF-8 is guessed from this much of it
_BEYOND_ASCII = re.compile(rb"[\x80-\xff]")
_WHOLE = re.compile(r"^\s*[-+]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_THOUSANDS_COMMA = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")
_THOUSANDS_DOT = re.compile(r"^\s*[-+]?\d{1,3}(\.\d{3})+(,\d+)?\s*$")

Source = Union[str, os.PathLike, bytes, BinaryIO]
# The markers pandas reads as a missing value by default; the fast reader is given the same ones.
MISSING_MARKERS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                   "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
TRUE_WORDS, FALSE_WORDS = ["True", "TRUE", "true"], ["False", "FALSE", "false"]
_PADDED = r"^\s|\s$"  # a value with a space at either end (pandas strips the leading ones)


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    if hasattr(source, "read"):
        return source.read()
    with open(source, "rb") as fh:
        return fh.read()


def detect_encoding(raw: bytes, whole: bool = True) -> str:
    """The text encoding of these bytes: BOMs honoured; UTF-8 first, then a detected or Latin-1 fallback.

    ``whole``: the bytes are the whole file (else a sample, whose last character may be cut)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if len(raw) > 3 and raw[1:2] == b"\x00" and raw[3:4] == b"\x00":
        return "utf-16-le"
    if b"\x00" in raw[:4096]:
        raise DataError("This file looks like a binary file, not a CSV table. "
                        "Export your data as CSV (comma or semicolon separated text) and upload that.")
    try:
        (raw if whole else raw[: max(0, len(raw) - 3)]).decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(_lines_beyond_ascii(raw)).best()
        if best is not None and best.encoding:
            return best.encoding
    except Exception:  # pragma: no cover - detection is best effort
        pass
    return "latin-1"


def _lines_beyond_ascii(raw: bytes) -> bytes:
    """Up to DETECT_BYTES of the lines that hold other characters than ASCII: what tells encodings apart.

    A file of plain ASCII at the top and accented names further down would otherwise be judged by
    its top alone, and read as ASCII with the accents lost."""
    found = [raw[: raw.find(b"\n") + 1]]  # the header too: a detector misjudges a handful of short lines
    size = position = len(found[0])
    while size < DETECT_BYTES:
        other = _BEYOND_ASCII.search(raw, position)
        if other is None:
            break
        start = raw.rfind(b"\n", 0, other.start()) + 1
        end = raw.find(b"\n", other.end())
        position = len(raw) if end < 0 else end + 1
        found.append(raw[start:position])
        size += position - start
    return b"".join(found)


def decode_text(raw: bytes) -> str:
    """Decode bytes as text (see detect_encoding)."""
    encoding = detect_encoding(raw)
    return raw.decode(encoding) if encoding in ("utf-8", "utf-16") else raw.decode(encoding, errors="replace")


def _sample_lines(text: str) -> list[str]:
    """The first SNIFF_LINES non-blank lines, split from the start of the text only (a file can be large)."""
    size = SNIFF_CHARS
    while True:
        head = text[:size]
        lines = head.splitlines()
        if len(head) < len(text):
            lines = lines[:-1]  # the last line of a cut may itself be cut
        lines = [line for line in lines if line.strip()][:SNIFF_LINES]
        if len(lines) >= SNIFF_LINES or len(head) >= len(text):
            return lines
        size *= 4


def sniff_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the sample into the most consistent number of fields."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def _detect_number_format(rows: list[list[str]]) -> tuple[str, str | None]:
    values = [v for row in rows[1:] for v in row if v and any(c.isdigit() for c in v)]
    dec_comma = sum(bool(_DECIMAL_COMMA.match(v)) for v in values)
    thou_comma = sum(bool(_THOUSANDS_COMMA.match(v)) for v in values)
    thou_dot = sum(bool(_THOUSANDS_DOT.match(v)) and "," in v for v in values)
    plain_dot = sum(bool(re.match(r"^\s*[-+]?\d+\.\d+\s*$", v)) for v in values)
    if dec_comma + thou_dot > max(plain_dot, 0) and dec_comma + thou_dot > 0:
        return ",", "." if thou_dot else None
    if thou_comma > 0:
        return ".", ","
    return ".", None


def _looks_numeric(value: str) -> bool:
    return bool(_NUMBER.match(value))


def _whole_number(value: str) -> bool:
    return bool(_WHOLE.match(value))


def has_header(rows: list[list[str]]) -> bool:
    """A first row with no numbers, above rows with numbers in the same columns, is a header; so is a
    first row of whole numbers (years, say) above columns whose every value below has a fraction."""
    if len(rows) < 2:
        return True
    first = rows[0]
    numbered = [i for i, v in enumerate(first) if v and _looks_numeric(v)]
    if not numbered:
        return True
    below = [[r[i] for r in rows[1:] if i < len(r) and r[i].strip()] for i in range(len(first))]
    # A numeric first row over numeric columns is data, not a header...
    if not all(any(_looks_numeric(v) for v in below[i]) for i in numbered):
        return True
    # ...unless it is whole numbers, unique, over columns of fractions: rows of a file do not drop their
    # fractions all at once, while headers such as 1850,1860,... are whole numbers.
    whole = all(_whole_number(first[i]) for i in numbered) and len({first[i].strip() for i in numbered}) == len(numbered)
    fractions = sum(bool(below[i]) and not any(_whole_number(v) for v in below[i]) for i in numbered)
    return whole and fractions > len(numbered) / 2


def _dialect(text: str) -> tuple[str, str, str | None, bool]:
    """(delimiter, decimal mark, thousands separator, has a header) from the text's first lines."""
    lines = _sample_lines(text)
    if not lines:
        raise DataError("The file has no data, only blank lines. Upload a CSV file with a header row and rows of data.")
    delim = sniff_delimiter(lines)
    sample_rows = list(csv.reader(lines, delimiter=delim))
    decimal, thousands = _detect_number_format(sample_rows)
    return delim, decimal, thousands, has_header(sample_rows)


def read_csv_chunks(path, chunk_rows: int = 50_000, sample_bytes: int = 256 * 1024) -> tuple[list[str], Iterator]:
    """A large CSV file of unknown dialect, read in chunks of rows (memory stays flat): (columns, chunks).

    The dialect (encoding, delimiter, decimal mark, header) is found on the first ``sample_bytes``, as
    ``read_csv`` finds it on the whole file."""
    with open(path, "rb") as fh:
        head = fh.read(sample_bytes)
    if not head.strip():
        raise DataError("The file is empty. Upload a CSV file with a header row and at least a few rows of data.")
    encoding = detect_encoding(head, whole=False)
    delim, decimal, thousands, header = _dialect(head.decode(encoding, errors="ignore"))
    try:
        reader = pd.read_csv(path, sep=delim, decimal=decimal, thousands=thousands, header=0 if header else None,
                             skip_blank_lines=True, low_memory=False, skipinitialspace=True, encoding=encoding,
                             encoding_errors="replace", chunksize=chunk_rows)
        first = next(reader)
    except StopIteration:
        raise DataError("The file has a header but no rows of data.")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise DataError(f"This file could not be read as a table: {exc}") from exc
    columns = [str(c).strip() for c in first.columns] if header else [f"column_{i + 1}" for i in range(first.shape[1])]

    def chunks():
        for chunk in itertools.chain([first], reader):
            chunk.columns = columns
            yield chunk.dropna(how="all")

    return columns, chunks()


def _plain(lines: list[str], delim: str, decimal: str, thousands: str | None, header: bool) -> bool:
    """Whether the fast reader reads these lines as pandas would: a point for decimals, no thousands
    separator, no spaces around values, and distinct, non-blank column names."""
    if decimal != "." or thousands is not None:
        return False
    rows = list(csv.reader(lines, delimiter=delim))
    if any(value != value.strip() for row in rows for value in row):
        return False
    names = [name.strip() for name in rows[0]] if header and rows else []
    return all(names) and len(set(names)) == len(names)


def _temporal_columns(raw: bytes, read, parse, convert) -> dict:
    """The columns pyarrow would turn into dates, times or timestamps, to be read as text instead: the
    engine's own typing decides what is a date, as it does for every other reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    head = pacsv.open_csv(io.BytesIO(raw), read_options=read, parse_options=parse, convert_options=convert,
                          memory_pool=pa.system_memory_pool())
    return {f.name: pa.string() for f in head.schema if pa.types.is_temporal(f.type)}


def read_fast(raw: bytes, delim: str, header: bool) -> pd.DataFrame | None:
    """A UTF-8 file in the plain dialect, read by pyarrow's multi-threaded reader (about ten times faster
    than pandas' on a million rows), or None where pyarrow is missing or the file might read differently
    from pandas' reader: then the caller reads it with pandas."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is in requirements.txt
        return None
    read = pacsv.ReadOptions(autogenerate_column_names=not header)
    parse = pacsv.ParseOptions(delimiter=delim, newlines_in_values=True)
    convert = dict(null_values=MISSING_MARKERS, strings_can_be_null=True, true_values=TRUE_WORDS,
                   false_values=FALSE_WORDS)
    pool = pa.system_memory_pool()  # malloc's: the memory goes back to the system after the read (see automl)
    try:
        texts = _temporal_columns(raw, read, parse, pacsv.ConvertOptions(**convert))
        table = pacsv.read_csv(io.BytesIO(raw), read_options=read, parse_options=parse, memory_pool=pool,
                               convert_options=pacsv.ConvertOptions(column_types=texts, **convert))
    except (pa.ArrowException, ValueError):  # ragged rows, a type that changes down the file, ...
        return None
    columns, missing_text = {}, {}
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(pc.unique(column), _PADDED)).as_py():
                return None
            if column.null_count:
                missing_text[name] = column.is_null().to_numpy(zero_copy_only=False)
        elif pa.types.is_null(column.type):  # an empty column: pandas reads it as missing numbers
            column = column.cast(pa.float64())
        elif not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                  or pa.types.is_boolean(column.type)):
            return None
        columns[name] = column
    frame = pa.table(columns).to_pandas(memory_pool=pool)
    del table, columns
    release_freed_memory()
    for name, missing in missing_text.items():  # pyarrow's missing text is None, pandas' is NaN
        values = frame[name].to_numpy()
        copied = not values.flags.writeable  # else the frame's own column: filled where it is
        if copied:
            values = values.copy()
        values[missing] = np.nan
        if copied:
            frame[name] = values
    if not header:
        frame.columns = range(frame.shape[1])
    return frame


def read_csv(source: Source, *, max_rows: int | None = None) -> pd.DataFrame:
    """Read a CSV file of unknown dialect into a DataFrame."""
    raw = _read_bytes(source)
    if raw.isspace() or not raw:  # isspace stops at the first other byte; strip() would copy the file
        raise DataError("The file is empty. Upload a CSV file with a header row and at least a few rows of data.")
    # The encoding of the first part decides whether the fast reader may try. It checks the rest
    # itself (text that is not UTF-8 fails it), so decoding the whole file here would only cost time.
    encoding = detect_encoding(raw[:SNIFF_CHARS], whole=len(raw) <= SNIFF_CHARS)
    if encoding in ("utf-8", "utf-8-sig") and max_rows is None and b"\x00" not in raw:
        head = raw[:SNIFF_CHARS].decode(encoding, errors="ignore")  # pyarrow skips the BOM itself
        if len(raw) > SNIFF_CHARS:
            head = head[: head.rfind("\n") + 1]  # whole lines only
        if head.strip():
            delim, decimal, thousands, header = _dialect(head)
            frame = read_fast(raw, delim, header) if _plain(_sample_lines(head), delim, decimal, thousands,
                                                                 header) else None
            if frame is not None:
                return _checked(frame, header)
    text = decode_text(raw)
    if "\x00" in text:
        raise DataError("This file contains binary data, not a CSV table. Export it as CSV text and try again.")
    delim, decimal, thousands, header = _dialect(text)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delim, decimal=decimal, thousands=thousands,
            header=0 if header else None, skip_blank_lines=True, nrows=max_rows,
            low_memory=False, skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        raise DataError(
            "The rows of this file do not line up with its header "
            f"(some rows have more fields than others: {detail}). "
            "Check the file for stray delimiters or unclosed quotes."
        ) from exc
    except (pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
        raise DataError(f"This file could not be read as a table: {exc}") from exc
    return _checked(frame, header)


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Positions of the rows without any value: each column is asked only about the rows still blank,
    numbers first (cheap to check), so a large table costs a pass over one column or two."""
    rows = np.arange(len(frame))
    for i in np.argsort((frame.dtypes == object).to_numpy(), kind="stable"):
        rows = rows[pd.isna(frame.iloc[:, i].to_numpy()[rows])]
        if not len(rows):
            break
    return rows


def _checked(frame: pd.DataFrame, header: bool) -> pd.DataFrame:
    """Column names as text, blank rows gone, and a clear message for a table the engine cannot use."""
    if not header:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
    frame.columns = [str(c).strip() for c in frame.columns]
    blank = _blank_rows(frame)
    if len(blank):  # dropped only where there is one: copying a large table costs a second
        frame = frame.drop(index=frame.index[blank]).reset_index(drop=True)
    if frame.shape[1] < 2:
        raise DataError(
            "Only one column was found. A table needs at least two columns: something to predict and "
            "something to predict it from. If your file uses an unusual separator, save it as a "
            "comma-separated CSV."
        )
    if len(frame) == 0:
        raise DataError("The file has a header but no rows of data.")
    return frame
