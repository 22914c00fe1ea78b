"""The package's one table of image signatures: what it recognises, and that every layer may import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kie_widgets.imagetype as imagetype
from kie_widgets.imagetype import BMP, BY_MIME, GIF, JPEG, PNG, TIFF, WEBP, ImageType, sniff_image_type


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, PNG),
        (b"\xff\xd8\xff\xe0" + b"\0" * 8, JPEG),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", WEBP),
        (b"GIF87a" + b"\0" * 4, GIF),
        (b"GIF89a" + b"\0" * 4, GIF),
        (b"BM" + b"\0" * 12, BMP),
        (b"II*\x00" + b"\0" * 8, TIFF),
        (b"MM\x00*" + b"\0" * 8, TIFF),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"WEBP", None),
        (b"\x89PNG", None),
        (b"<html>an error page</html>", None),
        (b"", None),
    ],
)
def test_sniff_image_type_reads_the_signature_not_the_length(data: bytes, kind: ImageType | None) -> None:
    """Each signature gives its type; a RIFF of another form, a cut-off signature or text give none."""
    assert sniff_image_type(data) == kind


def test_every_type_is_found_by_its_content_type() -> None:
    """BY_MIME maps each content type back to its type, with the extension we name files by."""
    assert BY_MIME["image/jpeg"] == JPEG
    assert {kind.ext for kind in BY_MIME.values()} == {".png", ".jpg", ".webp", ".gif", ".bmp", ".tiff"}


def test_the_table_imports_nothing_so_every_layer_may_use_it() -> None:
    """The module imports only the standard library's typing helpers, never the package or a dependency."""
    tree = ast.parse(Path(imagetype.__file__).read_text(encoding="utf-8"))
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= {"__future__", "collections.abc", "types", "typing"}
