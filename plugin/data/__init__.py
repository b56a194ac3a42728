"""Data sets vendored with the package (CDNOW transactions), readable from an installed wheel."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TextIO

CDNOW_DIR = Path(__file__).resolve().parent / "cdnow"
CDNOW_MASTER = CDNOW_DIR / "CDNOW_master.txt.gz"
CDNOW_SAMPLE = CDNOW_DIR / "CDNOW_sample.txt.gz"
CDNOW_REFERENCE_FITS = CDNOW_DIR / "cdnow_reference_fits.json"


def open_text(path: Path) -> TextIO:
    """A text stream of `path`, decompressed on the fly when it ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="ascii")
    return path.open(encoding="ascii")


def open_cdnow(name: str = "CDNOW_master.txt") -> TextIO:
    """One of the vendored CDNOW files by its original name (`CDNOW_master.txt`, …)."""
    path = CDNOW_DIR / name
    return open_text(path if path.exists() else path.with_name(path.name + ".gz"))
