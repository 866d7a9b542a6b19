"""Where a built book spent its time, page by page, from the times papermill writes into each executed page.

Every page that ``make book`` executes carries ``metadata.papermill.start_time``, ``end_time`` and
``duration``; this reads them from ``book/`` (or ``--book``) and prints one row per page in the order the
pages started: when it started (minutes after the first page), how long it ran, and, last, the span from the
first page's start to the last page's end beside the pages' summed time. With ``PAGE_JOBS=2`` (the Makefile's
default) pages overlap, and the ratio of the two says how much. The time before the first page (the data
generated, the preflight) is not in the pages: time ``make book`` as a whole for that.

    .venv/bin/python benchmarks/page_times.py                # the book under book/
    .venv/bin/python benchmarks/page_times.py --book /tmp/other/book
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path


def page_times(book: Path) -> list[dict]:
    """One row per executed page under ``book``: its path, start and end (datetimes), seconds."""
    rows = []
    for page in sorted(book.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in page.parts:
            continue
        meta = json.loads(page.read_text()).get("metadata", {}).get("papermill", {})
        if not meta.get("start_time") or not meta.get("end_time"):
            continue  # a page that was never executed by papermill (or did not finish)
        start, end = (datetime.fromisoformat(meta[k]) for k in ("start_time", "end_time"))
        rows.append({"page": str(page.relative_to(book)), "start": start, "end": end,
                     "seconds": (end - start).total_seconds()})
    return sorted(rows, key=lambda row: row["start"])


def table(rows: list[dict]) -> str:
    """The rows as a Markdown table, with the span and the summed page time under it."""
    first = rows[0]["start"]
    lines = ["| page | started (min) | ran (min) |", "|---|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['page']} | {(row['start'] - first).total_seconds() / 60:.1f} "
                     f"| {row['seconds'] / 60:.1f} |")
    span = (max(row["end"] for row in rows) - first).total_seconds()
    summed = sum(row["seconds"] for row in rows)
    lines.append("")
    lines.append(f"{len(rows)} pages: {span / 60:.1f} min from the first page's start to the last one's end; "
                 f"{summed / 60:.1f} min of page time summed ({summed / span:.2f} pages running at a time "
                 "on average).")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=Path("book"), help="the folder of executed pages")
    args = parser.parse_args(argv)
    rows = page_times(args.book)
    if not rows:
        parser.exit(1, f"error: no executed pages under {args.book}; run `make book` (or `make pages`) first\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
