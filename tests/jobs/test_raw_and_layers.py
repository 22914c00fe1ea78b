"""Raw requests for models the catalog lacks, and layer decompositions recorded as one group."""

from __future__ import annotations

from typing import Any

import pytest
from jobs_helpers import creates, extra, field_of

from kie_widgets.catalog import KieUnvalidatedWarning
from kie_widgets.errors import KieModelNotFoundError, KieValidationError
from kie_widgets.notebook.cellrun import layers_title

pytestmark = pytest.mark.anyio

NEW_MODEL = "vendor/new-model"


async def test_raw_request_is_created_followed_downloaded_and_recorded_unvalidated(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A raw request sends input as given after a warning, and its result is saved with unvalidated true."""
    sb = make_sandbox(extra_models=(NEW_MODEL,), prices={NEW_MODEL: 2.5})
    async with make_client(sb) as kie:
        with pytest.warns(KieUnvalidatedWarning, match="nothing was validated and its cost is unknown"):
            assets = await kie.generate(NEW_MODEL, input={"prompt": "a fox", "size": "1K", "steps": 9})
    assert len(assets) == 1
    assert assets[0].path.is_file()
    assert assets[0].model == NEW_MODEL
    sent = creates(sb)
    assert len(sent) == 1
    assert field_of(sent[0], "json") == {
        "model": NEW_MODEL,
        "input": {"prompt": "a fox", "size": "1K", "steps": 9},
    }
    entry = manifest.get(assets[0].id)
    assert entry["model"] == NEW_MODEL
    assert entry["kie"]["unvalidated"] is True
    assert extra(entry, "credits") is None
    assert extra(entry, "task_id") in sb.tasks
    assert manifest.pending() == []
    assert sb.balance == pytest.approx(1000.0 - 2.5)


async def test_plan_shows_the_raw_body_and_sends_nothing(make_sandbox: Any, make_client: Any) -> None:
    """plan() of a raw request is the exact createTask body, marked unvalidated, with nothing sent."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        with pytest.warns(KieUnvalidatedWarning):
            planned = kie.plan(NEW_MODEL, "a fox", raw=True, size="2K")
    assert planned.body == {"model": NEW_MODEL, "input": {"prompt": "a fox", "size": "2K"}}
    assert planned.unvalidated
    assert planned.endpoint == "/api/v1/jobs/createTask"
    assert sb.requests == []


async def test_near_miss_id_without_raw_suggests_the_known_id_and_sends_nothing(
    make_sandbox: Any, make_client: Any
) -> None:
    """A misspelt catalog id gets "did you mean" (no request at all) unless raw is asked for."""
    sb = make_sandbox()
    async with make_client(sb) as kie:
        with pytest.raises(KieModelNotFoundError) as caught:
            await kie.generate("seedream/5-flash-text-to-imag", "a fox")
    assert "seedream/5-flash-text-to-image" in caught.value.suggestions
    assert sb.requests == []


async def test_raw_request_refuses_inputs_it_cannot_place(make_sandbox: Any, make_client: Any) -> None:
    """Unified image inputs and several images per raw request are errors naming the field, before sending."""
    sb = make_sandbox(extra_models=(NEW_MODEL,))
    async with make_client(sb) as kie:
        with pytest.raises(KieValidationError) as caught:
            await kie.generate(NEW_MODEL, "a fox", raw=True, images=["https://example.com/a.png"])
    assert [p.field for p in caught.value.problems] == ["images"]
    assert sb.requests == []


async def test_layer_decomposition_is_recorded_as_a_group_under_its_source(
    make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """A decomposition's base image and layers share one group, in order, each with the source as parent."""
    sb = make_sandbox(layers=3)
    async with make_client(sb) as kie:
        (source,) = await kie.generate("Imagen 4", "a lighthouse on a cliff")
        layers = await kie.generate("Seedream 5.0 Flash Layer Decomposition", images=[source.id])
    assert len(layers) == 3
    groups = [extra(manifest.get(a.id), "layer_group") for a in layers]
    task_id = layers[0].task_id
    assert groups == [{"id": task_id, "index": i, "count": 3} for i in range(3)]
    assert all(extra(manifest.get(a.id), "parents") == [source.id] for a in layers)
    assert extra(manifest.get(source.id), "layer_group") is None
    assert layers_title(layers) == f"layers of {source.id}: base image + 2 transparent layers"
    assert layers_title([source]) is None
