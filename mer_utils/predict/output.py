"""``mer predict``'s output: the rows of songs, segments and curves as a text table, CSV or JSON, same columns in each.
Used by: :mod:`mer_utils.predict.cli` (``mer predict``, which re-exports every name here).

Why this module: formatting results is apart from reading inputs and predicting, and
keeps :mod:`mer_utils.predict.cli` short enough to read.
"""

from __future__ import annotations

import io
import json

# One row per song (and per segment with --segments), the same columns in the table, the CSV and the JSON;
# the targets' short names (valence, arousal) follow, then quadrant and quadrant_p with --quadrant.
COLUMNS = ("file", "level", "start_s", "end_s", "segments", "data", "backbone", "weights", "scale", "model")
QUADRANT_COLUMNS = ("quadrant", "quadrant_p")
CURVE_COLUMNS = ("file", "time_s", "valence", "arousal", "data", "backbone", "weights", "scale", "model")


def output_columns(names: list[str], quadrant: bool = False) -> list[str]:
    """The columns of every format: :data:`COLUMNS`, the targets (``valence``, ``arousal``), the quadrant's."""
    return [*COLUMNS, *names, *(QUADRANT_COLUMNS if quadrant else ())]


def _rows(results: list[dict], columns: list[str], segments: bool) -> list[dict]:
    """Rows with ``columns``: one per song (``level`` "song"), with ``segments`` one per segment too."""
    rows = []
    for result in results:
        song = {c: result[c] for c in columns}
        rows.append(song)
        if segments:
            rows.extend({**song, "level": "segment", "segments": 1, **point} for point in result["curve"])
    return rows


def format_results(results: list[dict], names: list[str], fmt: str, segments: bool, quadrant: bool = False) -> str:
    """Render predictions as a text table, CSV or JSON, with the same columns (:func:`output_columns`) in each.

    JSON is a list of song objects; with ``segments`` each also holds its
    ``curve`` (the segment rows' times and values).
    """
    columns = output_columns(names, quadrant)
    if fmt == "json":
        songs = [{c: r[c] for c in columns} | ({"curve": r["curve"]} if segments else {}) for r in results]
        return json.dumps(songs, indent=2) + "\n"
    song_rows = _rows(results, columns, segments)
    if fmt == "csv":
        return _csv(song_rows, columns)
    if not song_rows:
        return ""
    return _table(song_rows, columns, names)


def _csv(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as CSV with a header of ``columns``, floats to 4 decimals."""
    import csv

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def format_curves(results: list[dict], fmt: str) -> str:
    """Curves (``--curve``) as a table or CSV (one row per half second, :data:`CURVE_COLUMNS`) or JSON (one object
    per song, its ``curve`` a list of ``time_s``, ``valence``, ``arousal``)."""
    if fmt == "json":
        songs = [{c: r[c] for c in CURVE_COLUMNS if c in r} | {"curve": r["curve"]} for r in results]
        return json.dumps(songs, indent=2) + "\n"
    rows = [{**{c: r[c] for c in CURVE_COLUMNS if c in r}, **point} for r in results for point in r["curve"]]
    if fmt == "csv":
        return _csv(rows, list(CURVE_COLUMNS))
    if not rows:
        return ""
    widths = {c: max(len(c), *(len(_cell(row[c])) for row in rows)) for c in CURVE_COLUMNS}
    lines = ["  ".join(f"{c:<{widths[c]}}" for c in CURVE_COLUMNS).rstrip()]
    lines += ["  ".join(f"{_cell(row[c]):<{widths[c]}}" for c in CURVE_COLUMNS).rstrip() for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _table(rows: list[dict], columns: list[str], names: list[str]) -> str:
    """Aligned text; a segment row leaves file and provenance blank (they are the song row's above)."""
    headers = {c: (f"{c} (1-9)" if c in names else c) for c in columns}
    blank_on_segments = {"file", "data", "backbone", "weights", "scale", "model"}
    decimals = {"quadrant_p"}

    def cell(row, column):
        value = row[column]
        if row["level"] == "segment" and column in blank_on_segments:
            return ""
        if column in names or column in decimals:
            return f"{value:.2f}"
        return f"{value:g}" if isinstance(value, float) else str(value)

    cells = [[cell(row, c) for c in columns] for row in rows]
    widths = [max(len(headers[c]), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    right = {c for c in columns if c in names or c in decimals or c in ("start_s", "end_s", "segments")}

    def line(values):
        return "  ".join(
            f"{v:>{w}}" if c in right else f"{v:<{w}}" for v, w, c in zip(values, widths, columns)
        ).rstrip()

    return "\n".join([line([headers[c] for c in columns]), *(line(r) for r in cells)]) + "\n"
