"""``AssetRecord``: one typed value that the journal, the manifest, the sidecar and readers share."""

from __future__ import annotations

import dataclasses
import json

import pytest
from kie_assets_helpers import image_bytes

from kie_widgets.assets import Asset, AssetRecord, Manifest, recipe_from, save_image_bytes
from kie_widgets.assets.meta import parse_xmp, sidecar_path

RECORD = AssetRecord(
    prompt="a fox",
    model="Imagen 4",
    size="16:9",
    endpoint="/api/v1/jobs/createTask",
    scene_id=2,
    task_id="task-1",
    model_id="google/imagen4",
    params={"prompt": "a fox", "seed": 7},
    seed=7,
    parents=("img-001",),
    operation="generate",
    credits=4.0,
    recipe="r1-abc",
    batch="b1",
    cell_id="cell-9",
    notebook="n.ipynb",
)


def test_a_record_survives_the_journal_round_trip() -> None:
    """What ``to_dict`` writes (as JSON) reads back as the same record, unknown values staying unknown."""
    stored = json.loads(json.dumps(RECORD.to_dict()))
    assert AssetRecord.from_dict(stored) == RECORD
    assert "negative_prompt" not in stored
    assert stored["parents"] == ["img-001"]


def test_a_recorded_entry_reads_back_as_its_record_plus_the_file(manifest: Manifest) -> None:
    """record_image writes the record; reading the entry gives it back with the file's facts added."""
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    entry = manifest.record_image(saved, RECORD)
    assert list(entry["kie"]) == [*RECORD.extras(), "sha256", "format", "width", "height", "bytes"]
    back = AssetRecord.from_entry(entry)
    assert back == dataclasses.replace(
        RECORD,
        sha256=saved.sha256,
        format=saved.format,
        width=saved.width,
        height=saved.height,
        bytes=saved.nbytes,
    )
    assert Asset.from_entry(entry, manifest).record == back


def test_the_record_form_and_the_keyword_form_write_the_same_entry(manifest: Manifest) -> None:
    """Passing a record is the same as passing its fields one by one (the older form)."""
    first = manifest.record_image(save_image_bytes(image_bytes(), folder=manifest.images_dir), RECORD)
    keywords = RECORD.extras()
    second = manifest.record_image(
        save_image_bytes(image_bytes(), folder=manifest.images_dir),
        prompt=RECORD.prompt,
        model=RECORD.model,
        parameters=RECORD.parameters(),
        scene_id=RECORD.scene_id,
        **keywords,
    )
    strip = ("id", "filename", "created_at", "version", "superseded_by")
    assert {k: v for k, v in first.items() if k not in strip} == {
        k: v for k, v in second.items() if k not in strip
    }


def test_record_image_refuses_a_record_and_loose_fields_together(manifest: Manifest) -> None:
    """Mixing both forms is a mistake (which would win?), reported before anything moves."""
    saved = save_image_bytes(image_bytes(), folder=manifest.images_dir)
    with pytest.raises(TypeError):
        manifest.record_image(saved, RECORD, prompt="another")
    assert saved.temp_path.is_file()


def test_files_carry_what_remakes_an_image_and_nothing_about_the_notebook(manifest: Manifest) -> None:
    """The sidecar and recipe_from hold the carried fields; cell, notebook and credits stay home."""
    entry = manifest.record_image(save_image_bytes(image_bytes(), folder=manifest.images_dir), RECORD)
    path = manifest.root / str(entry["filename"])
    payload = parse_xmp(sidecar_path(path).read_bytes())
    assert payload is not None
    assert payload["parents"] == ["img-001"]
    assert payload["task_id"] == "task-1"
    assert not {"cell_id", "notebook", "credits", "batch"} & set(payload)
    assert recipe_from(entry["id"], manifest=manifest)["recipe"] == "r1-abc"


def test_a_journal_record_from_before_the_typed_record_still_reads() -> None:
    """The old journal kept the request's fields in context.record and the rest on the task."""
    task = {
        "task_id": "t-old",
        "model_id": "google/imagen4",
        "model": "Imagen 4",
        "endpoint": "/api/v1/jobs/createTask",
        "recipe": "r1-old",
        "context": {
            "cell_id": "c1",
            "record": {"prompt": "owl", "size": "1:1", "parents": [], "seed": None, "credits": 8},
        },
    }
    record = AssetRecord.from_journal(task)
    assert record == AssetRecord(
        prompt="owl",
        model="Imagen 4",
        size="1:1",
        endpoint="/api/v1/jobs/createTask",
        task_id="t-old",
        model_id="google/imagen4",
        parents=(),
        operation="generate",
        credits=8,
        recipe="r1-old",
        cell_id="c1",
    )


def test_a_journal_record_in_todays_format_reads_as_written() -> None:
    """Today's journal keeps the whole record in context.record; it wins over the task's own keys."""
    task = {"task_id": "task-1", "model": "other", "context": {"record": RECORD.to_dict()}}
    assert AssetRecord.from_journal(task) == RECORD


def test_an_entry_written_by_the_node_snippet_reads_as_a_record() -> None:
    """An entry with only the document's keys (no "kie" object) gives its fields and nothing else."""
    entry = {"id": "img-001", "prompt": "p", "model": "m", "parameters": {"size": "1:1", "endpoint": "/e"}}
    assert AssetRecord.from_entry(entry) == AssetRecord(prompt="p", model="m", size="1:1", endpoint="/e")
    assert AssetRecord.from_entry({"parameters": "odd", "kie": []}) == AssetRecord()
