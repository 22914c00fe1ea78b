"""File names come from a pattern and can never leave the images folder, whatever the inputs hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kie_assets_helpers import image_bytes

from kie_widgets.assets import Manifest, save_image_bytes
from kie_widgets.assets.naming import check_pattern, render, safe_target, scene_part, slug
from kie_widgets.errors import KieValidationError

PARAMS = {"size": "1:1", "endpoint": "/api/v1/jobs/createTask"}
HOSTILE = [
    "../../../../etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\system32",
    "a/../../b",
    "nul\x00byte",
    "~/.ssh/authorized_keys",
    "....//....//x",
    "ünï/cödé/../..",
    "",
    ".",
    "..",
    "C:\\x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_slug_keeps_only_safe_characters(text: str) -> None:
    """Every slug is a non-empty run of [a-z0-9._-] that is not '.' or '..' and has no separators."""
    value = slug(text)
    assert value
    assert set(value) <= set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    assert value not in (".", "..")
    assert not value.startswith(".")


def test_scene_numbers_are_two_digits_like_the_document() -> None:
    """Scene 1 gives scene-01-, text ids are slugged, no scene gives nothing."""
    assert scene_part(1) == "scene-01-"
    assert scene_part("7") == "scene-07-"
    assert scene_part(123) == "scene-123-"
    assert scene_part("Intro Shot") == "scene-intro-shot-"
    assert scene_part(None) == ""


@pytest.mark.parametrize("scene_id", ["²", "٣", 10**40, "9" * 200])
def test_odd_numeric_scene_ids_still_record_the_paid_image(project: Path, scene_id: object) -> None:
    """A scene id of superscript or non-ASCII digits, or a huge number, names the file instead of failing."""
    manifest = Manifest(lock_timeout=5)
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    entry = manifest.record_image(saved, prompt="p", model="m", parameters=PARAMS, scene_id=scene_id)
    path = (manifest.root / entry["filename"]).resolve()
    assert path.parent == manifest.images_dir.resolve()
    assert path.is_file()
    assert entry["scene_id"] == scene_id


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_prompt_and_scene_id_stay_inside_images_dir(project: Path, hostile: str) -> None:
    """With a pattern using prompt, scene and model, a hostile value still lands directly in images/."""
    manifest = Manifest(
        name_pattern="{scene}{prompt}-{model}-{scene_id}-{id}-v{version}{ext}", lock_timeout=5
    )
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    entry = manifest.record_image(saved, prompt=hostile, model=hostile, parameters=PARAMS, scene_id=hostile)
    path = (manifest.root / entry["filename"]).resolve()
    assert path.parent == manifest.images_dir.resolve()
    assert path.is_file()
    assert entry["prompt"] == hostile  # the record keeps the real prompt; only the name is cleaned
    assert entry["scene_id"] == hostile


@pytest.mark.parametrize(
    "relative",
    ["../x.png", "a/../../x.png", "/etc/x.png", "a\\..\\x.png", "x\x00.png", "", "a//b.png", "./x.png"],
)
def test_safe_target_refuses_anything_but_a_plain_relative_path(tmp_path: Path, relative: str) -> None:
    """Parent references, absolute paths, backslashes, NUL and empty components are refused."""
    with pytest.raises(KieValidationError):
        safe_target(tmp_path, relative)


def test_safe_target_refuses_a_folder_linked_outside(tmp_path: Path) -> None:
    """A subfolder that is a symbolic link to elsewhere cannot be used to escape."""
    images = tmp_path / "images"
    images.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, images / "sub")
    with pytest.raises(KieValidationError, match="outside"):
        safe_target(images, "sub/x.png")
    assert safe_target(images, "fine/x.png") == images.resolve() / "fine" / "x.png"


@pytest.mark.parametrize(
    "pattern", ["{id.__class__}{ext}", "{nope}{id}", "{id!r}{ext}", "{scene}{ext}", "{id", "{id:{ext}}"]
)
def test_unsafe_or_unknown_patterns_are_rejected_up_front(pattern: str) -> None:
    """Attribute access, conversions, unknown fields, nested specs and a missing {id} are refused."""
    with pytest.raises(KieValidationError):
        check_pattern(pattern)


def test_a_pattern_that_climbs_out_is_refused_at_record_time(project: Path) -> None:
    """A pattern with '..' in it cannot place a file outside images/; the download stays in its temp file."""
    manifest = Manifest(name_pattern="../{id}{ext}", lock_timeout=5)
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    with pytest.raises(KieValidationError):
        manifest.record_image(saved, prompt="fox", model="Imagen 4", parameters=PARAMS)
    assert saved.temp_path.is_file()
    assert manifest.entries == []


def test_subfolder_patterns_work(project: Path) -> None:
    """A pattern may sort files into subfolders of images/, e.g. one per scene."""
    manifest = Manifest(name_pattern="{scene_id}/{id}-v{version}{ext}", lock_timeout=5)
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    entry = manifest.record_image(saved, prompt="fox", model="Imagen 4", parameters=PARAMS, scene_id=4)
    assert entry["filename"] == "assets/images/4/img-001-v1.png"


def test_render_fills_every_documented_field() -> None:
    """All pattern fields render to safe text."""
    text = render(
        "{scene}{scene_id}_{id}_{version}_{model}_{prompt}_{date}{ext}",
        {
            "id": "img-004",
            "version": 2,
            "scene_id": 1,
            "ext": ".jpg",
            "model": "Imagen 4",
            "prompt": "A Fox!",
        },
    )
    assert text == "scene-01-1_img-004_2_imagen-4_a-fox_x.jpg"
