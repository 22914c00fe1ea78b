"""Each API family end to end against the sandbox: plan, submit, journal, poll, download, record."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import creates, field_of

from kie_widgets.jobs import StatusUpdate

pytestmark = pytest.mark.anyio

FAMILIES = [
    ("4o Image", "gpt4o", "/api/v1/gpt4o-image/generate", {"aspect_ratio": "3:2"}),
    ("Flux Kontext Pro", "flux-kontext", "/api/v1/flux/kontext/generate", {"aspect_ratio": "16:9"}),
    ("Imagen 4", "market", "/api/v1/jobs/createTask", {"aspect_ratio": "16:9"}),
]


@pytest.mark.parametrize(("model", "family", "endpoint", "params"), FAMILIES)
async def test_generate_records_every_result(
    kie: Any, sandbox: Any, manifest: Any, project: Path, model: str, family: str, endpoint: str, params: dict
) -> None:
    """One request per family ends with its image on disk, recorded with every extra key, journal complete."""
    updates: list[StatusUpdate] = []
    context = {"cell_id": "cell-42", "notebook": "demo.ipynb", "cell_source": "%%kie_image"}
    assets = await kie.generate(
        model,
        "a red fox in the snow",
        context=context,
        scene_id="scene-01",
        on_status=updates.append,
        **params,
    )
    assert len(assets) == 1
    asset = assets[0]
    assert asset.path.is_file()
    assert asset.path.is_relative_to(project / "assets" / "images")
    assert asset.task_id in sandbox.tasks
    assert asset.prompt == "a red fox in the snow"
    assert len(creates(sandbox)) == 1
    assert field_of(creates(sandbox)[0], "path") == endpoint

    entry = manifest.get(asset.id)
    assert entry["parameters"]["endpoint"] == endpoint
    assert entry["scene_id"] == "scene-01"
    flat = _flatten(entry)
    for key in ("task_id", "model_id", "params", "operation", "recipe", "source_url", "cell_id", "notebook"):
        assert key in flat, key
    assert flat["operation"] == "generate"
    assert flat["cell_id"] == "cell-42"
    assert manifest.pending() == []

    states = [u.state for u in updates]
    assert states[0] == "planning"
    assert "submitting" in states
    assert "generating" in states
    assert states[-2:] == ["downloading", "done"]
    assert all(
        u.task_id == asset.task_id for u in updates if u.state in ("generating", "downloading", "done")
    )


async def test_task_id_is_announced_before_the_first_status_read(kie: Any) -> None:
    """on_status hears 'queued' with the task id as soon as kie accepts the create, not a poll later."""
    events: list[tuple[str, str | None]] = []
    status = kie.api.status

    async def spy_status(family: str, task_id: str) -> Any:
        events.append(("poll", task_id))
        return await status(family, task_id)

    kie.api.status = spy_status
    [asset] = await kie.generate(
        "Imagen 4", "a lantern", on_status=lambda u: events.append((u.state, u.task_id))
    )
    first_poll = events.index(("poll", asset.task_id))
    assert ("queued", asset.task_id) in events[:first_poll]


async def test_task_is_journaled_before_the_first_poll(kie: Any, sandbox: Any, manifest: Any) -> None:
    """The journal holds the task id before any status read goes out, so no poll can outrun it."""
    order: list[str] = []
    journal_submit = manifest.journal_submit
    status = kie.api.status

    def spy_journal(task_id: str, **kwargs: Any) -> None:
        order.append("journal")
        journal_submit(task_id, **kwargs)

    async def spy_status(family: str, task_id: str) -> Any:
        order.append("status")
        return await status(family, task_id)

    manifest.journal_submit = spy_journal
    kie.api.status = spy_status
    await kie.generate("Imagen 4", "a lighthouse")
    assert order[0] == "journal"
    assert order.count("journal") == 1
    assert order.count("status") >= 1


async def _read_times(kie: Any, clock: Any, prompt: str) -> list[float]:
    """Generate one Imagen 4 image and return the client-clock times of its status reads."""
    times: list[float] = []
    status = kie.api.status

    async def spy_status(family: str, task_id: str) -> Any:
        times.append(clock.monotonic())
        return await status(family, task_id)

    kie.api.status = spy_status
    started = clock.monotonic()
    await kie.generate("Imagen 4", prompt, timeout=600)
    kie.api.status = status
    return [t - started for t in times]


async def test_polling_gaps_grow_with_the_wait_and_the_end_is_seen_promptly(
    make_sandbox: Any, make_client: Any, clock: Any
) -> None:
    """A 150-second task is read ever less often, each gap at most a tenth of the wait so far, and
    its end is noticed within a tenth of its length."""
    sb = make_sandbox(model_seconds={"google/imagen4": 150.0})
    async with make_client(sb) as kie:
        times = await _read_times(kie, clock, "a slow task")
    gaps = list(itertools.pairwise(times))
    assert all(0.4 - 1e-6 <= b - a <= max(0.5, 0.1 * a) + 1e-6 for a, b in gaps)
    assert times[-1] >= 150.0
    assert times[-2] < 150.0 <= times[-1] <= 165.0
    fewest, most = kie.schedule.reads_within(150.0)
    assert fewest <= len(times) <= most + 2


async def test_polling_learns_the_models_duration_and_reads_densely_near_it(
    make_sandbox: Any, make_client: Any, clock: Any
) -> None:
    """Once a model's tasks are known to take 60 s, the next one is read less often before 45 s and
    every 3 s from then on, so it is seen done within 5 % of its length."""
    sb = make_sandbox(model_seconds={"google/imagen4": 60.0})
    async with make_client(sb) as kie:
        first = await _read_times(kie, clock, "a first task")
        assert kie.manifest.typical_seconds("google/imagen4") == pytest.approx(60.0, abs=1.0)
        second = await _read_times(kie, clock, "a second task")
    assert len([t for t in second if t < 45.0]) < len([t for t in first if t < 45.0])
    near = [b - a for a, b in itertools.pairwise(second) if a >= 45.0]
    assert near
    assert all(2.4 - 1e-6 <= gap <= 3.0 + 1e-6 for gap in near)
    assert second[-1] - 60.0 <= 3.0


async def test_inputs_from_path_bytes_pil_and_asset_ids_are_uploaded(
    kie: Any, sandbox: Any, manifest: Any, project: Path
) -> None:
    """Local inputs of every kind are uploaded before the create; an asset id becomes a parent."""
    from PIL import Image

    first = (await kie.generate("Imagen 4", "a base image"))[0]
    path = project / "input.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(path)
    pil = Image.new("RGBA", (32, 32), (0, 0, 255, 128))
    raw = path.read_bytes()
    uploads_before = _uploads(sandbox)
    edited = await kie.edit(first.id, "make it night", model="Flux Kontext Pro")
    assert _uploads(sandbox) == uploads_before + 1
    assert _flatten(manifest.get(edited[0].id))["parents"] == [first.id]
    assert _flatten(manifest.get(edited[0].id))["operation"] == "edit"
    for source in (path, raw, pil):
        before = _uploads(sandbox)
        out = await kie.edit(source, "add a hat", model="Seedream 4.5")
        assert len(out) == 1
        assert _uploads(sandbox) >= before  # identical bytes may reuse an earlier upload
    assert _uploads(sandbox) >= uploads_before + 2


async def test_oversized_input_is_refused_before_any_upload(kie: Any, sandbox: Any) -> None:
    """An input over the model's size limit fails validation without uploading or creating anything."""
    from kie_widgets.errors import KieValidationError

    plan = kie.plan("recraft/remove-background", images=[b"\x89PNG\r\n\x1a\n" + b"\0" * 64])
    limit = plan.uploads[0].max_bytes
    assert limit
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (limit + 1)
    with pytest.raises(KieValidationError, match=r"too large|limit"):
        await kie.remove_background(huge, model="recraft/remove-background")
    assert _uploads(sandbox) == 0
    assert creates(sandbox) == []


async def test_oversized_pil_input_is_refused_before_any_upload(kie: Any, sandbox: Any) -> None:
    """A PIL image with alpha whose PNG is over the limit is refused once encoded, before uploading."""
    import os

    from PIL import Image

    from kie_widgets.errors import KieValidationError

    noise = Image.frombytes("RGBA", (1200, 1200), os.urandom(1200 * 1200 * 4))  # incompressible: ~5.8 MB
    with pytest.raises(KieValidationError, match=r"limit|too large"):
        await kie.remove_background(noise, model="recraft/remove-background")
    assert _uploads(sandbox) == 0
    assert creates(sandbox) == []


async def test_a_photo_too_big_as_png_is_sent_as_jpeg(kie: Any, sandbox: Any) -> None:
    """An RGB PIL image over the limit as PNG goes up as a high-quality JPEG that fits."""
    import os

    from PIL import Image

    noise = Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3))  # ~5.9 MB as PNG
    assets = await kie.remove_background(noise, model="recraft/remove-background")
    assert len(assets) == 1
    assert [u.mime for u in sandbox.uploads.values()] == ["image/jpeg"]


async def test_input_of_a_type_the_model_refuses_is_rejected(kie: Any, sandbox: Any, project: Path) -> None:
    """A GIF for a model that takes PNG, JPEG or WebP fails validation with the allowed types listed."""
    from PIL import Image

    from kie_widgets.errors import KieValidationError

    path = project / "anim.gif"
    Image.new("RGB", (300, 300), (5, 5, 5)).save(path, format="GIF")
    with pytest.raises(KieValidationError) as info:
        await kie.remove_background(path, model="recraft/remove-background")
    assert "gif" in str(info.value).lower()
    assert _uploads(sandbox) == 0


async def test_unknown_asset_id_is_a_validation_error(kie: Any, sandbox: Any) -> None:
    """An asset id that is not in the manifest is rejected before any request."""
    from kie_widgets.errors import KieValidationError

    with pytest.raises(KieValidationError, match="img-999"):
        await kie.edit("img-999", "anything", model="Flux Kontext Pro")
    assert sandbox.requests == []


async def test_reuse_returns_the_recorded_result_without_a_request(kie: Any, sandbox: Any) -> None:
    """reuse=True with an identical recipe hands back the recorded asset and sends nothing."""
    first = await kie.generate("Imagen 4", "a teapot", aspect_ratio="1:1", seed="7")
    count = len(sandbox.requests)
    again = await kie.generate("Imagen 4", "a teapot", aspect_ratio="1:1", seed="7", reuse=True)
    assert [a.id for a in again] == [a.id for a in first]
    assert all(a.reused for a in again)
    assert len(sandbox.requests) == count
    other = await kie.generate("Imagen 4", "a teapot", aspect_ratio="16:9", seed="7", reuse=True)
    assert other[0].id != first[0].id
    assert not other[0].reused


async def test_credits_reads_the_balance(kie: Any, sandbox: Any) -> None:
    """credits() returns the sandbox's ledger, which a generation debits."""
    before = await kie.credits()
    assert before == pytest.approx(sandbox.balance)
    await kie.generate("Imagen 4", "a coin")
    assert await kie.credits() < before


def _uploads(sandbox: Any) -> int:
    return sum(1 for r in sandbox.requests if "upload" in str(field_of(r, "path")))


def _flatten(entry: dict) -> dict:
    flat = dict(entry)
    for value in entry.values():
        if isinstance(value, dict):
            flat.update(value)
    return flat


@pytest.mark.slow
async def test_kie_sandbox_env_uses_the_shared_in_process_sandbox(
    monkeypatch: pytest.MonkeyPatch, manifest: Any
) -> None:
    """KIE_SANDBOX=1 and no transport: the client needs no key and talks to the process's sandbox."""
    import math

    from kie_widgets.jobs import KieClient, PollSchedule
    from kie_widgets.sandbox import shared_sandbox

    monkeypatch.setenv("KIE_SANDBOX", "1")
    # A real key in the environment is neither needed nor sent: the sandbox gets its own key.
    monkeypatch.setenv("KIE_API_KEY", "real-looking-key-0123456789")
    fast = PollSchedule(bands=((math.inf, 0.2, 0.3),))
    async with KieClient(manifest=manifest, schedule=fast) as kie:
        assert kie.settings.sandbox
        assert kie.settings.api_key.reveal() == shared_sandbox().api_key
        before = len(shared_sandbox().requests)
        assert await kie.credits() == pytest.approx(shared_sandbox().balance)
        assets = await kie.generate("Imagen 4", "a fox from the shared sandbox", timeout=30)
    assert assets[0].task_id in shared_sandbox().tasks
    assert len(shared_sandbox().requests) > before


async def test_upscale_and_remove_background_record_their_operation_and_parent(
    kie: Any, sandbox: Any, manifest: Any
) -> None:
    """upscale() and remove_background() pick the catalog's model and record the source as parent."""
    first = (await kie.generate("Imagen 4", "a cat on a chair"))[0]
    upscaled = (await kie.upscale(first.id))[0]
    cut = (await kie.remove_background(first.id))[0]
    for asset, operation in ((upscaled, "upscale"), (cut, "remove-background")):
        flat = _flatten(manifest.get(asset.id))
        assert flat["operation"] == operation
        assert flat["parents"] == [first.id]
    assert _flatten(manifest.get(cut.id))["model_id"] == "recraft/remove-background"


async def test_upscale_defaults_to_the_model_recommend_ranks_first(kie: Any) -> None:
    """Without model=, upscale() uses the catalog guidance's first choice, so defaults match advice."""
    from kie_widgets.catalog import recommend

    first = (await kie.generate("Imagen 4", "a lighthouse"))[0]
    upscaled = (await kie.upscale(first.id))[0]
    assert upscaled.entry["kie"]["model_id"] == recommend("upscale")[0].model_id


async def test_prompt_less_operations_are_not_versions_of_each_other(kie: Any, manifest: Any) -> None:
    """Upscales of two different images get distinct prompts, so neither supersedes the other."""
    one = (await kie.generate("Imagen 4", "a red door"))[0]
    two = (await kie.generate("Imagen 4", "a blue door"))[0]
    up_one = (await kie.upscale(one.id, model="Recraft Crisp Upscale"))[0]
    up_two = (await kie.upscale(two.id, model="Recraft Crisp Upscale"))[0]
    assert up_one.prompt == f"upscale of {one.id}"
    assert up_two.prompt == f"upscale of {two.id}"
    assert up_two.version == 1
    assert "superseded_by" not in manifest.get(up_one.id)


async def test_a_url_input_is_sent_as_is_and_links_its_parent(kie: Any, sandbox: Any, manifest: Any) -> None:
    """An http(s) input goes into the body unchanged (no upload); a recorded result's URL names its parent."""
    first = (await kie.generate("Imagen 4", "a bridge"))[0]
    url = _flatten(manifest.get(first.id))["source_url"]
    uploads = _uploads(sandbox)
    edited = (await kie.edit(url, "at night", model="Flux Kontext Pro"))[0]
    assert _uploads(sandbox) == uploads
    assert creates(sandbox)[-1].json["inputImage"] == url
    assert _flatten(manifest.get(edited.id))["parents"] == [first.id]


async def test_negative_prompt_and_seed_are_recorded(kie: Any, manifest: Any) -> None:
    """The unified negative_prompt and seed reach the record's extra data as the user gave them."""
    asset = (await kie.generate("Imagen 4", "a quiet harbour", negative_prompt="blurry, text", seed="42"))[0]
    flat = _flatten(manifest.get(asset.id))
    assert flat["negative_prompt"] == "blurry, text"
    assert str(flat["seed"]) == "42"
    assert flat["params"]["negative_prompt"] == "blurry, text"


async def test_status_updates_report_failure_and_reuse(kie: Any, sandbox: Any) -> None:
    """on_status hears 'failed' for a refused request and 'reused' for a recipe already recorded."""
    from kie_widgets.errors import KieValidationError

    seen: list[Any] = []
    with pytest.raises(KieValidationError):
        await kie.generate("Imagen 4", "bad ratio", aspect_ratio="7:3", on_status=seen.append)
    assert [u.state for u in seen] == ["planning", "failed"]
    await kie.generate("Imagen 4", "a reused kite")
    seen.clear()
    await kie.generate("Imagen 4", "a reused kite", reuse=True, on_status=seen.append)
    assert [u.state for u in seen] == ["planning", "reused"]


async def test_masked_edit_uploads_image_and_mask(kie: Any, sandbox: Any, project: Path) -> None:
    """edit() with a mask picks a mask-capable model and uploads both inputs before the create."""
    from PIL import Image

    image = Image.new("RGB", (256, 256), (200, 180, 20))
    mask = Image.new("L", (256, 256), 255)
    assets = await kie.edit(image, "replace the sky", mask=mask)
    assert len(assets) == 1
    assert _uploads(sandbox) == 2
    body = creates(sandbox)[-1].json
    assert body["maskUrl"].startswith("http")
    assert all(url.startswith("http") for url in body["filesUrl"])
