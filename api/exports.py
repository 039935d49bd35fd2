"""Writing tables as streamed CSV or XLSX responses.

CSV is written row by row as the rows arrive (UTF-8 with a byte-order mark, so spreadsheet
programs read the Chinese headings). XLSX is written by openpyxl in write-only mode to a
temporary file, which is then streamed and removed; a workbook may hold several sheets.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import StreamingResponse
from openpyxl import Workbook

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows below its heading
CHUNK = 1 << 16


def cell(value: Any) -> Any:
    """A value a CSV or XLSX cell can hold (datetimes in ISO 8601 UTC, decimals as floats)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store"}


def csv_response(header: list[str], rows: AsyncIterator[Iterable[Any]] | Iterable,
                 filename: str) -> StreamingResponse:
    """Stream `rows` (sync or async iterable) as a CSV file under `header`."""

    def line(values: Iterable[Any]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf).writerow(["" if v is None else cell(v) for v in values])
        return buf.getvalue().encode("utf-8")

    async def body() -> AsyncIterator[bytes]:
        yield b"\xef\xbb\xbf" + line(header)
        if hasattr(rows, "__aiter__"):
            async for row in rows:
                yield line(row)
        else:
            for row in rows:
                yield line(row)

    return StreamingResponse(body(), media_type=CSV_TYPE, headers=_disposition(filename))


class XlsxBook:
    """A write-only workbook on a temporary file; `response()` streams it and removes it."""

    def __init__(self) -> None:
        self.book = Workbook(write_only=True)
        fd, self.path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)

    def sheet(self, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
        """Add a sheet with a heading row and `rows`."""
        ws = self.book.create_sheet(title=title[:31])
        ws.append(header)
        for row in rows:
            ws.append([cell(v) for v in row])

    async def sheet_async(self, title: str, header: list[str],
                          rows: AsyncIterator[Iterable[Any]]) -> None:
        """Add a sheet from an async row source (a server-side cursor)."""
        ws = self.book.create_sheet(title=title[:31])
        ws.append(header)
        async for row in rows:
            ws.append([cell(v) for v in row])

    def response(self, filename: str) -> StreamingResponse:
        """Save the workbook and stream the file (removed once sent)."""
        self.book.save(self.path)
        path = self.path

        async def body() -> AsyncIterator[bytes]:
            try:
                with open(path, "rb") as fh:
                    while chunk := fh.read(CHUNK):
                        yield chunk
            finally:
                os.unlink(path)

        return StreamingResponse(body(), media_type=XLSX_TYPE, headers=_disposition(filename))

    def discard(self) -> None:
        """Remove the temporary file (when the response is not sent)."""
        if os.path.exists(self.path):
            os.unlink(self.path)
