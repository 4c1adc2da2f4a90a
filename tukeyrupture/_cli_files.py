"""The command line's files and words: CSV reading with line numbers, library messages
put in the command line's words (flags for parameters, files for frames, lines for rows)."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# What a flag takes, for scikit-learn's parameter messages (written for Python users).
_EXPECTED = {
    "iqr_multiplier": "a non-negative number",
    "absolute_sd_multiplier": "a non-negative number",
    "pooled_sd": "'within', 'total' or a non-negative number",
    "min_consecutive": "a positive integer",
}
_SKLEARN_PARAMETER = re.compile(
    r"The '(\w+)' parameter of \w+ must be (.+?)\. Got (.+?) instead\."
)
_FRAME_COLUMN = re.compile(r"`(\w+)\[('[^']*'|\"[^\"]*\")\]`")


class CommandError(Exception):
    """A user error found by a command (missing file, column, ...): printed in one line."""


def _in_cli_words(message: str, names: Mapping[str, str]) -> str:
    """``message`` of the library with the command line's words for ``names``.

    A name in backticks or quotes is replaced; one with ``_``, ``=`` or ``[`` also bare
    (``pooled_sd=<float>``), a plain word (``data``) only when quoted. ``frame['col']`` in
    backticks becomes "column 'col' of <frame's words>"; "rows [3, 4]" becomes "lines
    [3, 4]" and "row 6" "line 6", as frames read from files are indexed by line numbers.
    """
    message = _SKLEARN_PARAMETER.sub(
        lambda m: f"`{m[1]}` must be {_EXPECTED.get(m[1], m[2])}; got {m[3]}.", message
    )
    for name in sorted(names, key=len, reverse=True):
        key = re.escape(name)
        forms = [f"`{key}`", f"'{key}'"]
        if not name.isalnum():
            forms.append(rf"(?<![\w`'-]){key}(?![\w`'])")
        message = re.sub("|".join(forms), lambda _, name=name: names[name], message)

    def column(match):
        frame = names.get(match[1])
        return match[0] if frame is None else f"column {match[2]} of {frame}"

    message = _FRAME_COLUMN.sub(column, message)
    message = re.sub(r"\bin (rows (?=\[)|row (?=\d))", r"on \1", message)
    message = re.sub(r"\brows (?=\[)", "lines ", message)
    return re.sub(r"\brow (?=\d)", "line ", message)


def _separator(header: str) -> tuple[str, str]:
    """Field separator and decimal mark: ';' (with decimal commas, as spreadsheets in many
    locales export), tab, or ',' -- whichever the header line holds most of."""
    counts = {",": header.count(","), ";": header.count(";"), "\t": header.count("\t")}
    sep = max(counts, key=counts.get)
    return sep, "," if sep == ";" else "."


def _layout(file: Path, sep: str) -> tuple[list[str], list[int], list[int]]:
    """Header fields, and the file line number and number of fields of each record, the
    header's first (blank lines skipped, as pandas skips them; a quoted field may span
    lines)."""
    header, starts, widths, previous = None, [], [], 0
    with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep)
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if len(record) > 1 or "".join(record).strip():
                header = record if header is None else header
                starts.append(start)
                widths.append(len(record))
    return header or [], starts, widths


def _check_short_records(path, option, sep, lines, widths) -> None:
    """A record with fewer fields than the header is an error, as one with more is
    (pandas would read the missing fields as empty)."""
    expected = widths[0]
    short = [(line, width) for line, width in zip(lines, widths) if width < expected]
    if short:
        line, width = short[0]
        more = f" (and {len(short) - 1} more short lines)" if len(short) > 1 else ""
        raise CommandError(
            f"cannot read {path} ({option}) as CSV: Expected {expected} fields in line "
            f"{line}, saw {width}{more} (fields separated by {sep!r}, as on the header "
            "line); leave a missing value empty between separators"
        )


# A number written with a decimal comma (1,5 or 12) and one written with a decimal point.
_COMMA_NUMBER = r"\s*[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?\s*"
_POINT_NUMBER = r"\s*[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"


def _decimal_commas(frame, path, option, text_columns) -> pd.DataFrame:
    """Columns of a decimal-comma file that pandas left as text because of a few odd
    entries: their numbers as floats, the odd entries kept as text (so that messages
    name only their lines); a number with a decimal point there is an error."""
    frame = frame.copy()
    for column in frame.columns:
        if column in text_columns or frame[column].dtype.kind != "O":
            continue
        entries = frame[column].astype("string")
        comma = entries.str.fullmatch(_COMMA_NUMBER).fillna(False).to_numpy(dtype=bool)
        if not comma.any():
            continue
        point = entries.str.fullmatch(_POINT_NUMBER).fillna(False).to_numpy(dtype=bool)
        if point.any():
            lines = list(frame.index[point][:5])
            raise CommandError(
                f"{path} ({option}) separates fields by ';' and writes decimal commas, but "
                f"column {column!r} has {list(frame[column][point][:3])} with a decimal "
                f"point on lines {lines}; write them with a decimal comma"
            )
        converted = frame[column].astype(object)
        converted[comma] = [float(text.replace(",", ".")) for text in entries[comma]]
        frame[column] = (
            converted if (~comma & frame[column].notna()).any() else (converted.astype(np.float64))
        )
    return frame


def _read_table(path: str, option: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV file, indexed by file line numbers (header = line 1), for ``option``.

    Commas, semicolons (with decimal commas) or tabs separate the fields (see
    :func:`_separator`); ``text_columns`` are read as text, so that ids such as ``007``
    keep their zeros. One-line errors for a missing, empty, header-only or unreadable file.
    """
    file = Path(path)
    if not file.exists():
        raise CommandError(f"file not found: {path}")
    if file.is_dir():
        raise CommandError(f"{path} ({option}) is a directory, not a CSV file")
    with file.open(encoding="utf-8", errors="replace") as handle:
        header = next((line for line in handle if line.strip()), "")
    sep, decimal = _separator(header)
    try:
        frame = pd.read_csv(
            file, sep=sep, decimal=decimal, dtype={column: str for column in text_columns}
        )
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} ({option}) is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CommandError(f"cannot read {path} ({option}) as CSV: {first_line}") from None
    if frame.empty:
        raise CommandError(f"{path} ({option}) has no data rows, only the header line")
    header, lines, widths = _layout(file, sep)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CommandError(
            f"{path} ({option}) has duplicated column names {repeated} on line {lines[0]} "
            "(its header); rename them"
        )
    _check_short_records(path, option, sep, lines, widths)
    lines = lines[1:]
    frame.index = lines if len(lines) == len(frame) else pd.RangeIndex(2, len(frame) + 2)
    if decimal == ",":
        frame = _decimal_commas(frame, path, option, text_columns)
    return frame


def _with_line_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Bundled demo data, indexed by the line numbers of its CSV file (no blank lines)."""
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _check_columns(data: pd.DataFrame, source: str, columns: dict[str, str]) -> None:
    """``columns`` maps an option (``--series``) to the column name it gave."""
    missing = [f"{name!r} ({option})" for option, name in columns.items() if name not in data]
    if missing:
        available = ", ".join(repr(str(c)) for c in data.columns)
        raise CommandError(
            f"{source} has no column {', '.join(missing)}; its columns are: {available}"
        )
