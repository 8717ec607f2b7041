"""Project errors: each carries one plain sentence for the user (what, where, what to do).

The CLI prints ``str(error)`` and exits non-zero without a traceback; the app shows it next to the widget.
"""

from __future__ import annotations

import os
from pathlib import Path


class OrchardError(Exception):
    """Base class of every error a user may see; ``str(error)`` is the whole message."""


class InputError(OrchardError, ValueError):
    """A file, argument or value given by the user is malformed, inconsistent or out of range."""


class ParameterError(InputError):
    """A parameter file or override is invalid (unknown or missing key, out of range, wrong unit)."""


class AccessError(OrchardError, PermissionError):
    """The caller may not see or change the object they asked for."""


class StorageError(OrchardError):
    """The database could not be opened, migrated or written."""


#: Largest input file read whole into memory [bytes]; ``ORCHARD_MAX_FILE_MB`` overrides it.
DEFAULT_MAX_FILE_MB = 1024


def max_file_bytes() -> int:
    """Largest accepted input file [bytes], from ``ORCHARD_MAX_FILE_MB`` (default 1024 MB)."""
    raw = os.environ.get("ORCHARD_MAX_FILE_MB", str(DEFAULT_MAX_FILE_MB))
    try:
        megabytes = float(raw)
    except ValueError:
        raise InputError(f"ORCHARD_MAX_FILE_MB={raw!r} is not a number; set it to a size in megabytes.") from None
    return int(megabytes * 1024 * 1024)


def check_input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Check that ``path`` is an existing, non-empty regular file small enough to read.

    Refuses by size *before* reading, so a file of several GB never reaches a parser.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what}; check the path.")
    if not path.is_file():
        raise InputError(f"{path}: is not a file; give the path of a {what}.")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: the {what} is empty.")
    limit = max_file_bytes()
    if size > limit:
        raise InputError(
            f"{path}: the {what} is {size / 1024**3:.1f} GB, more than the {limit / 1024**2:.0f} MB limit; "
            "split it or raise ORCHARD_MAX_FILE_MB."
        )
    return path


#: Encodings tried, in order, for text files from users: UTF-8 (with or without a byte-order mark), then
#: GB18030, the Chinese national standard that contains GBK and GB2312 (what Chinese Excel and most loggers'
#: PC software write).
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def read_text_file(path: str | os.PathLike, what: str = "file") -> str:
    """The text of a (checked) input file, decoded as UTF-8 or else GB18030 (so GBK); else one sentence.

    Every reader of delimited text uses this, so a file one reader takes is not refused by another for its
    encoding.
    """
    path = Path(path)
    raw = path.read_bytes()
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: the {what} is not text in UTF-8 or GB18030 (GBK); save it as UTF-8 CSV.")
