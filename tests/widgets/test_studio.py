"""The Studio in Python, against the sandbox: the form, the cost, runs, the gallery and its actions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PIL import Image

from kie_widgets.catalog import parameters


def _creates(sandbox: Any) -> list[Any]:
    from kie_widgets.sandbox._routes import CREATE_ROUTES

    return [r for r in sandbox.requests if r.path in CREATE_ROUTES]


def _run_to_end(studio: Any, run: Any, wait_until: Any) -> list[Any]:
    assets = run.result(timeout=30)
    # Each tile learns its end from its own event, delivered on the session's thread.
    wait_until(lambda: getattr(run, "_studio_shown", False))
    wait_until(lambda: all(t.stop.disabled for t in studio.runs.tiles))
    return assets


# ---- the form ---------------------------------------------------------------------------------


def test_controls_follow_each_models_spec(studio: Any) -> None:
    """Negative prompt and seed show only for models that take them; the mask slot only for mask models."""
    form = studio.form
    form.set(models=["Imagen 4"])
    rows = form._shared_rows
    assert rows["negative_prompt"].layout.display == ""
    assert rows["seed"].layout.display == ""
    assert rows["mask"].layout.display == "none"
    form.set(models=["4o Image"])
    assert rows["mask"].layout.display == ""
    assert rows["seed"].layout.display == "none"
    assert form.aspect_ratio.options[1:] == ("1:1", "3:2", "2:3")


def test_own_fields_become_typed_controls_with_their_bounds(studio: Any) -> None:
    """Enums are dropdowns, bounded numbers sliders with the spec's bounds, booleans checkboxes."""
    import ipywidgets as w

    studio.form.set(models=["Flux Kontext Pro"])
    controls = studio.form._own["Flux Kontext Pro"]
    by_spec = {p["name"]: p for p in parameters("Flux Kontext Pro")}
    for name, control in controls.items():
        spec = by_spec[name]
        if spec["choices"]:
            assert isinstance(control, w.Dropdown)
        elif spec["type"] == "boolean":
            assert isinstance(control, w.Checkbox)
        elif spec["minimum"] is not None and spec["maximum"] is not None:
            assert (control.min, control.max) == (spec["minimum"], spec["maximum"])
    assert controls, "Flux Kontext has model-specific fields"


def test_switching_models_keeps_what_fits_and_names_what_was_dropped(studio: Any) -> None:
    """16:9 survives a switch to Seedream, is dropped for 4o Image, and the notice says why."""
    form = studio.form
    form.set(models=["Imagen 4"], prompt="a harbour", aspect_ratio="16:9", negative_prompt="blur")
    form.set(models=["Imagen 4", "Seedream 4.5"])
    assert form.aspect_ratio.value == "16:9"
    form.set(models=["4o Image"])
    assert form.aspect_ratio.value == "(model default)"
    assert "aspect ratio 16:9" in form.notice.value
    assert "negative prompt" in form.notice.value
    assert form.prompt.value == "a harbour"


def test_the_picker_finds_models_by_kie_id_and_alias(studio: Any) -> None:
    """Typing a kie id or an alias into "Find model" keeps the matching models."""
    form = studio.form
    form.search.value = "google/imagen4"
    names = {name for _label, name in form.models.options}
    assert "Imagen 4" in names
    assert "4o Image" not in names
    form.search.value = "gpt-4o"
    assert {name for _label, name in form.models.options} >= {"4o Image"}


def test_what_do_you_need_ranks_models_and_picks_them(studio: Any) -> None:
    """The need box lists recommend()'s ranking and "Pick suggested" selects its top two."""
    form = studio.form
    form.need.value = "text in the image"
    assert "4o Image" in form.suggestions.value
    form.use_suggestions.click()
    assert len(form.models.value) == 2
    assert form.models.value[0] == "4o Image"


def test_formula_builder_fills_the_prompt(studio: Any) -> None:
    """The prompt formula's parts compose into the prompt box."""
    formula = studio.form.formula
    formula.parts["subject"].value = "a red fox"
    formula.parts["lighting"].value = "golden hour"
    formula.fill.click()
    assert "a red fox" in studio.form.prompt.value
    assert "golden hour" in studio.form.prompt.value


# ---- cost and the request ---------------------------------------------------------------------


def test_the_estimate_covers_every_model_times_n(studio: Any) -> None:
    """Imagen 4 (8) and Seedream 4.5 (6.5) for two images each: 29 credits, and Generate is on."""
    studio.form.set(models=["Imagen 4", "Seedream 4.5"], prompt="a lighthouse", n=2)
    studio.refresh_estimate()
    assert "Estimate: 29 credits" in studio.estimate.value
    assert not studio.generate_button.disabled


def test_the_request_view_shows_the_bodies_that_plan_makes(studio: Any) -> None:
    """The "Request" view is the exact JSON of the session's plans."""
    studio.form.set(models=["4o Image"], prompt="a harbour", n=3, aspect_ratio="3:2")
    plans = studio.refresh_estimate()
    shown = studio.request_view.value
    assert [p.body.get("nVariants", 1) for p in plans] == [2, 1]
    for p in plans:
        assert json.dumps(p.body, indent=2, ensure_ascii=False) in shown


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"models": []}, "Pick at least one model"),
        ({"models": ["Imagen 4"], "prompt": ""}, "Write a prompt"),
        ({"models": ["Imagen 4"], "prompt": "x" * 6000}, "prompt"),
    ],
)
def test_generate_is_off_with_the_reason_for_a_bad_form(
    studio: Any, setup: dict[str, Any], reason: str
) -> None:
    """An invalid form disables Generate and says why; nothing is sent."""
    studio.form.set(**setup)
    studio.refresh_estimate()
    assert studio.generate_button.disabled
    assert reason in studio.reason.value


def test_the_budget_stops_generate_before_anything_is_sent(studio: Any, sandbox: Any) -> None:
    """Over budget, Generate is off with the numbers, and a scripted generate() sends nothing."""
    studio.form.set(models=["Imagen 4"], prompt="a lighthouse", n=2)
    studio.budget.value = 10
    assert studio.generate_button.disabled
    assert "budget of 10" in studio.reason.value
    with pytest.raises(Exception, match="budget"):
        studio.generate()
    assert _creates(sandbox) == []


# ---- generating, keeping, following up --------------------------------------------------------


def test_generate_keep_upscale_restore_round_trip(studio: Any, wait_until: Any, sandbox: Any) -> None:
    """Two models side by side, keep one, upscale it, restore its settings; all recorded with the cell."""
    studio.form.set(models=["Imagen 4", "Seedream 4.5"], prompt="A lighthouse at dusk", aspect_ratio="16:9")
    run = studio.generate()
    assets = _run_to_end(studio, run, wait_until)
    assert [a.model for a in assets] == ["Imagen 4", "Seedream 4.5"]  # request order
    assert len(studio.runs.tiles) == 2
    assert all(t.image.value for t in studio.runs.tiles)
    assert "img-" in studio._plain_items[0]

    studio.runs.tiles[0].keep.click()
    kept = studio.session.manifest.get(assets[0].id)
    assert kept["kie"]["kept"] is True
    assert "superseded_by" not in kept

    studio.gallery.refresh()
    studio.gallery.select(assets[0].id)
    studio.gallery.buttons["Upscale"].click()
    (big,) = _run_to_end(studio, studio.last_run, wait_until)
    entry = studio.session.manifest.get(big.id)
    assert entry["kie"]["operation"] == "upscale"
    assert entry["kie"]["parents"] == [assets[0].id]

    studio.form.set(models=["4o Image"], prompt="something else")
    studio.gallery.select(assets[1].id)
    studio.gallery.buttons["Restore settings"].click()
    assert studio.form.models.value == ("Seedream 4.5",)
    assert studio.form.prompt.value == "A lighthouse at dusk"
    assert studio.form.aspect_ratio.value == "16:9"

    for e in studio.session.entries():
        assert e["kie"]["cell_id"] == "studio-cell"
        assert e["scene_id"] == 4
    assert len(_creates(sandbox)) == 3


def test_stop_waiting_leaves_the_task_journaled_for_resume(
    studio: Any, wait_until: Any, sandbox: Any
) -> None:
    """ "Stop waiting" ends the tile's wait; the task stays pending and Resume collects it."""
    sandbox.config.generating = 3.0
    studio.form.set(models=["Imagen 4"], prompt="a slow one")
    run = studio.generate()
    wait_until(lambda: run.handles[0].task_id is not None)
    studio.runs.tiles[0].stop.click()
    wait_until(lambda: run.handles[0].state == "stopped waiting")
    wait_until(lambda: "resume" in studio.runs.tiles[0].state.value)  # the tile hears it on its thread
    assert [r["task_id"] for r in studio.session.pending()] == [run.handles[0].task_id]
    future = studio.resume()
    assert future is not None
    (asset,) = future.result(timeout=30)
    assert asset.task_id == run.handles[0].task_id
    assert len(_creates(sandbox)) == 1


def test_a_sweep_lays_out_one_take_per_value_with_a_legend(studio: Any, wait_until: Any) -> None:
    """A sweep over the seed makes one tile per value, each labelled with its value."""
    studio.form.set(models=["Imagen 4"], prompt="a fox")
    run = studio.sweep("seed", [1, 2, 3])
    _run_to_end(studio, run, wait_until)
    legends = [t.title.value for t in studio.runs.tiles]
    assert [any(f"seed = {v}" in text for text in legends) for v in (1, 2, 3)] == [True] * 3
    seeds = [p.body["input"]["seed"] for p in run.plans]
    assert seeds == ["1", "2", "3"]


def test_recipe_diff_names_what_differs_between_two_takes(studio: Any, wait_until: Any) -> None:
    """Selecting two takes and "Diff recipes" shows the fields that differ."""
    studio.form.set(models=["Imagen 4"], prompt="a fox")
    a, b = _run_to_end(studio, studio.sweep("seed", [5, 6]), wait_until)
    studio.gallery.refresh()
    studio.gallery.select(a.id)
    studio.gallery.select(b.id)
    studio.gallery.buttons["Diff recipes"].click()
    assert "seed" in studio.gallery.detail.value
    assert "prompt" not in studio.gallery.diff_html().split("<tr>")[2]


def test_copy_as_cell_gives_the_equivalent_magic_cell(studio: Any, wait_until: Any) -> None:
    """ "Copy as cell" writes a %%kie_image cell with the model, options and the prompt."""
    studio.form.set(models=["Imagen 4"], prompt="a fox in snow", aspect_ratio="16:9")
    (asset,) = _run_to_end(studio, studio.generate(), wait_until)
    text = studio.copy_as_cell(asset.id)
    assert text.splitlines()[0].startswith("%%kie_image Imagen 4 --ratio 16:9")
    assert text.splitlines()[1] == "a fox in snow"


def test_edit_opens_the_mask_editor_and_its_mask_goes_into_the_request(
    studio: Any, wait_until: Any, sandbox: Any
) -> None:
    """ "Edit" loads the asset as input and opens the editor; an applied mask is sent with the edit."""
    studio.form.set(models=["Imagen 4"], prompt="a fox")
    (asset,) = _run_to_end(studio, studio.generate(), wait_until)
    studio.gallery.refresh()
    studio.gallery.select(asset.id)
    studio.gallery.buttons["Edit"].click()
    editor = studio.edit_panel.children[1]
    editor.set_rectangle(0, 0, 10, 10)
    editor.apply_count += 1
    mask = Image.new("L", editor.source_size, 0)
    mask.paste(255, (0, 0, 10, 10))
    editor._set_mask(mask)
    studio.form.use_painted_mask(editor.mask)
    from kie_widgets.catalog import default_model, resolve

    mask_model = resolve(default_model("masked-edit")).display_name
    assert studio.form.models.value == (mask_model,)  # Imagen 4 takes no mask
    studio.form.set(models=["4o Image"], prompt="add a window")
    (edited,) = _run_to_end(studio, studio.generate(), wait_until)
    body = _creates(sandbox)[-1].json
    assert body["maskUrl"].startswith("http")
    assert studio.session.manifest.get(edited.id)["kie"]["parents"] == [asset.id]


def test_storyboard_rows_come_from_scenes_md_and_the_manifest(
    studio: Any, wait_until: Any, project: Any
) -> None:
    """SCENES.md's scenes are rows; "Generate missing" shows the cost, then makes one take per scene."""
    (project / "SCENES.md").write_text(
        "# Story\n\n## Scene 1: Harbour\nA harbour at dawn, fishing boats.\n\n## Scene 2: Storm\nWaves.\n"
    )
    studio.form.set(models=["Imagen 4"], prompt="unused")
    board = studio.storyboard
    board.refresh()
    assert [s.number for s in board.scenes] == [1, 2]
    assert len(board.missing) == 2
    board.generate.click()
    assert "16 credits" in board.summary.value
    runs = board.confirm.click() or None
    assert runs is None  # the button's own return value is dropped; the runs are in the Studio
    wait_until(lambda: len(studio.session.entries()) == 2)
    board.refresh()
    assert board.missing == []
    scenes = sorted(e["scene_id"] for e in studio.session.entries())
    assert scenes == [1, 2]
    prompts = {e["prompt"] for e in studio.session.entries()}
    assert "A harbour at dawn, fishing boats." in prompts


def test_a_repeat_of_an_uncertain_create_asks_before_paying_again(
    studio: Any, sandbox: Any, wait_until: Any
) -> None:
    """After a create that got no answer, Generate again is refused with "Send anyway" and "Dismiss"."""
    from kie_widgets.sandbox import Fault

    sandbox.add_fault(Fault(kind="timeout", route="create"))
    studio.form.set(models=["Imagen 4"], prompt="a fox on a flaky line")
    first = studio.generate()
    wait_until(lambda: first.handles[0].state == "uncertain")
    second = studio.generate()
    wait_until(lambda: len(studio.confirm_box.children) == 2)
    assert "kie.ai/logs" in studio.confirm_box.children[0].value
    assert second.handles[0].state == "failed"
    creates = len(_creates(sandbox))
    send, dismiss = studio.confirm_box.children[1].children
    assert (send.description, dismiss.description) == ("Send anyway", "Dismiss the old record")
    send.click()
    assert studio.last_run is not second
    (asset,) = studio.last_run.result(timeout=30)
    assert len(_creates(sandbox)) == creates + 1
    assert asset.model == "Imagen 4"
