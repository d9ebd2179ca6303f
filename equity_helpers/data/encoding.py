"""Text files read in the right encoding: UTF-8, else the one ``mapping.yml`` declares, else a detected one,
always with a note; a file that cannot be decoded gets a three-line message, never a parser's dump.

Agencies' exports are often Windows-1252 (``"Doña Ana"`` written by Excel's plain "CSV"). :func:`text_encoding`
checks the whole file as UTF-8 first (a byte-order mark is allowed); a file that is not UTF-8 is read in the
``encoding:`` its table declares in ``mapping.yml``, else in the encoding ``charset-normalizer`` detects, and the
run says which. :class:`UndecodableFile` names the file, the line and the setting to change.
"""
from __future__ import annotations

import codecs
import gzip
from pathlib import Path

__all__ = ["UndecodableFile", "first_bad_line", "is_utf8", "text_encoding"]

_CHUNK = 1 << 20
_WESTERN_LIKE = ("cp1250", "cp1252", "cp1254", "cp1257", "iso8859-1", "iso8859-15", "iso8859-2", "latin", "windows-125",
                 "mac-roman", "cp850")
"""Detected single-byte Latin encodings, read as Windows-1252 when the file decodes so (detection cannot tell
these apart on a few accented letters)."""


class UndecodableFile(ValueError):
    """A text file that cannot be decoded; its message is three plain lines."""


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def first_bad_line(path: Path, encoding: str) -> tuple[int, bytes] | None:
    """``(line number, bytes)`` of the first place ``path`` cannot be decoded in ``encoding``, else None."""
    dec = codecs.getincrementaldecoder(encoding)()
    line = 1
    with _open(path) as fh:
        while chunk := fh.read(_CHUNK):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk.count(b"\n", 0, exc.start), chunk[exc.start:exc.start + 4]
            line += chunk.count(b"\n")
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return line, exc.object[exc.start:exc.start + 4]
    return None


def is_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8 text (with or without a byte-order mark)."""
    return first_bad_line(Path(path), "utf-8-sig") is None


def _message(path: Path, encoding: str, where: tuple[int, bytes]) -> str:
    line, raw = where
    return (f"{path.name} could not be read as {encoding} text: line {line:,} has bytes {raw!r} that are not "
            f"{encoding}.\nSave the file as UTF-8 (in Excel: CSV UTF-8), or\nset the file's encoding for this "
            f"table in mapping.yml, e.g. `encoding: cp1252` under its path:.")


def text_encoding(path: str | Path, declared: str | None = None) -> tuple[str, str | None]:
    """The encoding to read ``path`` in, and the note to show when it is not UTF-8.

    Parameters
    ----------
    path : a CSV or text file (``.gz`` too).
    declared : the table's ``encoding:`` in ``mapping.yml``, if any.

    Returns
    -------
    (encoding, note)

    Raises
    ------
    UndecodableFile
        When the file is neither UTF-8 nor text in the declared (or any detected) encoding.
    """
    path = Path(path)
    if first_bad_line(path, "utf-8-sig") is None:
        return "utf-8-sig", None
    utf8_at = first_bad_line(path, "utf-8-sig")
    if declared:
        bad = first_bad_line(path, str(declared))
        if bad is not None:
            raise UndecodableFile(_message(path, str(declared), bad))
        return str(declared), (f"{path.name} is not UTF-8; it was read as {declared}, as mapping.yml says.")
    with _open(path) as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and first_bad_line(path, "utf-16") is None:
        return "utf-16", f"{path.name} is UTF-16 text (it says so in its first bytes); it was read that way."
    from charset_normalizer import (
        from_bytes,  # detection only for the rare file that is not UTF-8
    )

    with _open(path) as fh:
        best = from_bytes(fh.read()).best()
    found = best.encoding.replace("_", "-") if best is not None else ""
    # only what detection can tell for certain: Western single-byte text that reads as Windows-1252 (what Excel
    # writes for Spanish names); anything else (a rarer code page, binary bytes) is refused, not guessed
    if not found.startswith(_WESTERN_LIKE) or first_bad_line(path, "cp1252") is not None:
        raise UndecodableFile(_message(path, "UTF-8", utf8_at))
    with _open(path) as fh:
        if b"\x00" in fh.read():
            raise UndecodableFile(_message(path, "UTF-8", utf8_at))
    return "cp1252", (f"{path.name} is not UTF-8; it was read as Windows-1252 (cp1252, detected). Check that "
                      "names with accents (such as Doña Ana) look right, and set `encoding: cp1252` for this "
                      "table in mapping.yml to say so explicitly.")
