"""Writes the broken and hostile files of this folder (run it to rebuild them; the output is
deterministic), and makes the big ones at test time so they do not bloat the repository.

    .venv/bin/python tests/data/bad/make_corpus.py

README.md lists each file and what the app must answer; manifest.json is the same list for
tests/test_bad_files.py.
"""
from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rows(n: int, seed: int = 0, label=lambda i, r: "yes" if r.random() > 0.5 else "no") -> list[list]:
    rnd = random.Random(seed)
    return [[round(rnd.gauss(0, 1), 3), rnd.choice(["red", "green", "blue"]), label(i, rnd)] for i in range(n)]


def _csv(header: list[str], rows: list[list], sep: str = ",", end: str = "\n") -> str:
    return end.join([sep.join(header)] + [sep.join(str(v) for v in row) for row in rows]) + end


def _good(n: int = 60, seed: int = 0) -> str:
    return _csv(["x", "colour", "y"], _rows(n, seed))


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return buf.getvalue()


def small_files() -> dict[str, bytes]:
    rnd = random.Random(42)
    files: dict[str, str | bytes] = {
        "empty.csv": b"",
        "blank_lines.csv": "\n\n   \n\t\n\n",
        "header_only.csv": "x,colour,y\n",
        "one_column.csv": "value\n" + "".join(f"{i}\n" for i in range(30)),
        "binary_junk.bin": bytes(rnd.getrandbits(8) for _ in range(4096)),
        "png_image.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rnd.getrandbits(8) for _ in range(512)),
        "gzip_compressed.csv.gz": gzip.compress(_good().encode(), mtime=0),
        "excel_workbook.xlsx": _xlsx(),
        "nul_bytes_later.csv": _good(300).encode() + b"\x00" * 64 + b"1,red,yes\n",
        "ragged_rows.csv": "x,colour,y\n1,red,yes\n2,blue,no,extra,fields,here\n3,green,yes\n",
        "unclosed_quote.csv": 'x,colour,y\n1,"red,yes\n2,blue,no\n3,green,yes\n',
        "only_delimiters.csv": ",,,\n,,,\n,,,\n,,,\n",
        "single_huge_line.csv": "a" * 200_000,
        "html_error_page.csv": "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n"
                               "<body>\n<h1>Bad Gateway</h1>\n<p>The server is down.</p>\n</body>\n</html>\n",
        "target_all_missing.csv": _csv(["x", "colour", "y"], [[r[0], r[1], ""] for r in _rows(60)]),
        "target_single_class.csv": _csv(["x", "colour", "y"], [[r[0], r[1], "yes"] for r in _rows(60)]),
        "too_few_rows.csv": _good(5),
        "target_mostly_missing.csv": _csv(["x", "colour", "y"],
                                          [[r[0], r[1], r[2] if i < 6 else ""] for i, r in enumerate(_rows(100))]),
        "target_1000_classes.csv": _csv(["x", "colour", "y"], _rows(2000, label=lambda i, r: f"class_{i % 1000}")),
        "no_usable_feature.csv": _csv(["customer_id", "country", "y"],
                                      [[f"C{i:05d}", "FR", "yes" if i % 3 else "no"] for i in range(60)]),
        "long_column_name.csv": _csv(["x", "colour", "t" * 300], _rows(60)),
        "duplicate_column_names.csv": _csv(["x", "x", "colour", "y"], [[r[0], -r[0], r[1], r[2]] for r in _rows(60)]),
        "latin1_encoding.csv": _csv(["x", "ville", "y"], [[r[0], rnd.choice(["Orléans", "Besançon", "Épinal"]),
                                                          r[2]] for r in _rows(60)]).encode("latin-1"),
        "utf16_with_bom.csv": _good().encode("utf-16"),
        "semicolons_decimal_commas_bom.csv": b"\xef\xbb\xbf" + _csv(
            ["x", "colour", "y"], [[str(r[0]).replace(".", ","), r[1], r[2]] for r in _rows(60)], sep=";").encode(),
        "formulas.csv": _csv(["x", "note", "y"], [
            [r[0], rnd.choice(["=1+1", "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3", "plain"]),
             '"=HYPERLINK(""http://example.invalid"",""win"")"' if r[0] > 0 else "lose"] for r in _rows(80)]),
        "quoted_newlines.csv": _csv(["x", "comment", "y"], [[r[0], f'"line one\nline {r[1]}"', r[2]]
                                                           for r in _rows(60)]),
        "newline_in_header.csv": _csv(["x", '"colour\nof the car"', "y"], _rows(60)),
        "missing_markers.csv": _csv(["x", "colour", "y"], [[rnd.choice(["NA", "?", "-", "n/a", "", r[0]]), r[1], r[2]]
                                                          for r in _rows(60)]),
        "infinities.csv": _csv(["x", "colour", "y"], [[rnd.choice(["inf", "-inf", "-1e400", r[0]]), r[1], r[2]]
                                                     for r in _rows(60)]),
        "huge_numbers.csv": _csv(["x", "colour", "y"], [[rnd.choice(["1e308", "-1.7e308", r[0]]), r[1], r[2]]
                                                       for r in _rows(60)]),
        "no_header.csv": _csv(["1.5", "2", "7", "0"], [[r[0], i % 7, i % 3, int(r[0] > 0)] for i, r in
                                                        enumerate(_rows(60))]),
        "whitespace_padding.csv": _csv(["  x ", " colour", "y  "], [[f"  {r[0]} ", f" {r[1]}  ", f" {r[2]} "]
                                                                   for r in _rows(60)]),
        "trailing_delimiters.csv": _csv(["x", "colour", "y", ""], [[r[0], r[1], r[2], ""] for r in _rows(60)]),
        "tabs.tsv": _csv(["x", "colour", "y"], _rows(60), sep="\t"),
        "old_mac_line_endings.csv": _csv(["x", "colour", "y"], _rows(60), end="\r"),
        "unicode_names.csv": _csv(["温度", "😀 colour", "ünïcödé"], _rows(60)),
        "html_in_cells.csv": _csv(["x", "<script>alert(1)</script>", "y"],
                                  [[r[0], "<img src=x onerror=alert(1)>" if r[0] > 0 else "<b>bold</b>", r[2]]
                                   for r in _rows(60)]),
        "duplicate_rows.csv": _csv(["x", "colour", "y"], _rows(20) * 4),
        "excel_sep_hint.csv": "sep=;\n" + _csv(["x", "colour", "y"], _rows(60), sep=";"),
        "numeric_target_1000_values.csv": _csv(["x", "colour", "y"], [[r[0], r[1], i * 0.5 + r[0]]
                                                                     for i, r in enumerate(_rows(1000))]),
        "many_rows_small.csv": _good(600),
        "bom_only.csv": b"\xef\xbb\xbf",
        "utf16le_no_bom.csv": _good().encode("utf-16-le"),
        "cp1252_smart_quotes.csv": _csv(["x", "remark", "y"], [[r[0], rnd.choice(["\u201cfine\u201d", "it\u2019s ok",
                                                                                  "\u20ac 5"]), r[2]]
                                                              for r in _rows(60)]).encode("cp1252"),
    }
    return {name: data if isinstance(data, bytes) else data.encode() for name, data in files.items()}


def generated_files(max_upload_mb: int) -> dict[str, bytes]:
    """The big ones, made at test time."""
    header = ",".join(f"c{i}" for i in range(10_000)) + ",y\n"
    row = ",".join("1" for _ in range(10_000))
    wide = header + "".join(f"{row},{i % 2}\n" for i in range(20))
    line = "0.123456789,red,yes\n"
    oversized = "x,colour,y\n" + line * (max_upload_mb * 1024 * 1024 // len(line) + 100)
    rows = _rows(60)
    too_long = _csv(["x", "story", "y"], [[r[0], "word " * 30_000 if i == 3 else "short", r[2]]
                                          for i, r in enumerate(rows)])
    long_ok = _csv(["x", "story", "y"], [[r[0], f"tale {i} " + "word " * 10_000 if i % 20 == 0 else f"tale {i}", r[2]]
                                         for i, r in enumerate(rows)])
    return {"wide_10000_columns.csv": wide.encode(), "over_the_size_limit.csv": oversized.encode(),
            "field_too_long.csv": too_long.encode(), "long_fields.csv": long_ok.encode()}


def main() -> None:
    for name, data in small_files().items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
