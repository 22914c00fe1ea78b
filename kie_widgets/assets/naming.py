"""File names for downloaded images: a pattern, safe values, and a hard guarantee of staying inside.

The default, ``{scene}{id}-v{version}{ext}``, gives ``scene-01-img-004-v2.png`` (or ``img-004-v2.png``
without a scene), in the spirit of the skill document's ``assets/images/scene-01.png``. Every value
put into the pattern is reduced to ``[a-z0-9._-]``; the rendered name is then checked component by
component and by resolved path, so no prompt, scene id or pattern can write outside the folder;
``place`` moves a validated download to its name without ever replacing a file.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import string
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kie_widgets.assets._store import fsync_dir
from kie_widgets.errors import KieManifestError, KieValidationError

DEFAULT_NAME_PATTERN = "{scene}{id}-v{version}{ext}"
#: The fields a pattern may use.
PATTERN_FIELDS = frozenset({"scene", "scene_id", "id", "version", "ext", "model", "prompt", "date"})
_MAX_COMPONENT = 120


def slug(text: Any, max_len: int = 40) -> str:
    """``text`` as a short, lower-case, file-name-safe word list (``[a-z0-9._-]``; never empty)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", ascii_text.lower())
    cleaned = re.sub(r"[-.]{2,}", "-", cleaned).strip("-._")[:max_len].strip("-._")
    return cleaned or "x"


def scene_part(scene_id: Any) -> str:
    """``scene-01-`` for scene 1 (two digits, like the document), a slug for text ids, ``""`` for none."""
    if scene_id is None or scene_id == "":
        return ""
    if isinstance(scene_id, bool):
        scene_id = int(scene_id)
    text = str(scene_id)
    # isdecimal, not isdigit: "²" is a digit that int() rejects. A number too long for a file name is
    # cut like any other text rather than failing after the image was paid for.
    if text.isdecimal() and len(text.lstrip("0")) <= 30:
        return f"scene-{int(text):02d}-"
    return f"scene-{slug(scene_id, 30)}-"


def check_pattern(pattern: str) -> None:
    """Reject a pattern with unknown fields, conversions or attribute access before any file is named."""
    problems = []
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise KieValidationError(f"file name pattern {pattern!r} is malformed: {exc}") from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in PATTERN_FIELDS or conversion or (spec and "{" in spec):
            problems.append(field)
    if problems or "{id}" not in pattern:
        raise KieValidationError(
            f"file name pattern {pattern!r} must contain {{id}} and use only the fields "
            f"{', '.join(sorted(PATTERN_FIELDS))} (got {problems or 'no {id}'})"
        )


def render(pattern: str, fields: Mapping[str, Any]) -> str:
    """Fill ``pattern`` with sanitised ``fields``; the result is a relative POSIX path."""
    check_pattern(pattern)
    safe = {
        "scene": scene_part(fields.get("scene_id")),
        "scene_id": slug(fields.get("scene_id") if fields.get("scene_id") is not None else "none", 30),
        "id": slug(fields["id"], 30),
        "version": int(fields.get("version") or 1),
        "ext": "." + slug(str(fields.get("ext", ".png")).lstrip("."), 8),
        "model": slug(fields.get("model") or "model", 30),
        "prompt": slug(fields.get("prompt") or "untitled", 40),
        "date": slug(fields.get("date") or "", 20),
    }
    return pattern.format_map(safe)


def safe_target(folder: Path, relative: str) -> Path:
    """``folder / relative``, or ``KieValidationError`` if it would land anywhere but inside ``folder``."""
    if "\\" in relative or "\x00" in relative or relative.startswith("/"):
        raise KieValidationError(f"file name {relative!r} is not a plain relative path")
    parts = relative.split("/")
    if any(p in ("", ".", "..") or len(p) > _MAX_COMPONENT for p in parts):
        raise KieValidationError(f"file name {relative!r} has an empty, '.', '..' or overlong component")
    base = folder.resolve()
    target = base.joinpath(*parts)
    try:
        target.parent.resolve().relative_to(base)
    except ValueError:
        raise KieValidationError(f"file name {relative!r} resolves outside {base}") from None
    if target.is_symlink():
        raise KieValidationError(f"file name {relative!r} is a symbolic link")
    return target


def with_suffix_number(path: Path, n: int) -> Path:
    """``scene-01-img-004-v1-2.png`` for ``n=2``: the name to try when the plain one is taken."""
    return path.with_name(f"{path.stem}-{n}{path.suffix}")


def place(temp: Path, folder: Path, relative: str) -> Path:
    """Move ``temp`` to ``folder/relative`` (or a numbered variant), never replacing a file.

    The caller holds the manifest lock, which is what makes the no-hard-link fallback's
    check-then-replace safe against our other writers.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = safe_target(folder, relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    safe_target(folder, relative)  # the parent may have been created as a link
    try:
        if temp.stat().st_dev != target.parent.stat().st_dev:
            temp = _copy_across(temp, target.parent)
    except OSError as exc:
        raise KieManifestError(f"Could not move the image into {target.parent}: {exc.strerror}.") from exc
    for n in range(1, 1000):
        candidate = target if n == 1 else with_suffix_number(target, n)
        try:
            os.link(temp, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS):
                raise KieManifestError(f"Could not move the image to {candidate}: {exc.strerror}.") from exc
            if candidate.exists():
                continue
            os.replace(temp, candidate)
        else:
            os.unlink(temp)
        fsync_dir(candidate.parent)
        return candidate
    raise KieManifestError(f"Could not find a free file name for {relative} in {folder}.")


def _copy_across(temp: Path, folder: Path) -> Path:
    """Copy a temp file from another file system into ``folder`` (durably), then drop the original."""
    local = folder / f".download-{secrets.token_hex(8)}.part"
    with open(temp, "rb") as src, open(local, "xb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    temp.unlink()
    return local
