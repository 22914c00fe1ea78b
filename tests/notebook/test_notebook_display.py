"""Status lines, captions and tables: the text a cell shows, built without a kernel."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import Recorder

from kie_widgets.notebook import display as ui


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"state": "queued", "elapsed": 3.9}, "⏳ Imagen 4 · queued · 3s"),
        ({"state": "generating", "elapsed": 12, "progress": 0.4}, "⚙ Imagen 4 · generating 40% · 12s"),
        ({"state": "generating", "elapsed": 75, "progress": 55}, "⚙ Imagen 4 · generating 55% · 1m15s"),
        ({"state": "downloading", "elapsed": 1, "task_id": "t1"}, "⇣ Imagen 4 · downloading · 1s · task t1"),
        ({"state": "failed", "elapsed": 0, "message": "boom"}, "✘ Imagen 4 · failed · 0s · boom"),
    ],
)
def test_status_text(kwargs: dict[str, Any], expected: str) -> None:
    """The status line names state, progress, elapsed time and task id."""
    state = kwargs.pop("state")
    assert ui.status_text("Imagen 4", state, **kwargs) == expected


def _asset(**over: Any) -> Any:
    base = {
        "id": "img-004",
        "path": Path.cwd() / "assets" / "images" / "img-004-v2.png",
        "model": "Imagen 4",
        "version": 2,
        "parameters": {"size": "16:9"},
        "task_id": "t9",
        "scene_id": 3,
        "entry": {"kie": {"credits": 4}},
        "reused": False,
    }
    base.update(over)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({}, "img-004 · Imagen 4 · v2 · 16:9 · 4 credits · scene 3"),
        ({"reused": True}, "img-004 · Imagen 4 · v2 · 16:9 · reused, no credits · scene 3"),
        ({"entry": {}, "scene_id": None, "parameters": {}}, "img-004 · Imagen 4 · v2"),
    ],
)
def test_caption_text(over: dict[str, Any], expected: str) -> None:
    """Captions carry id, model, version, size, credits (or reused) and scene."""
    assert ui.caption_text(_asset(**over)) == expected


def test_caption_bundle_links_the_full_file_relative_to_the_notebook() -> None:
    """The caption table links each full file relative to the working directory and lists ids."""
    data, meta = ui.caption_bundle([_asset()], title="Imagen 4 · 1 image")
    assert 'href="assets/images/img-004-v2.png"' in data["text/html"]
    assert "assets/images/img-004-v2.png" in data["text/plain"]
    assert meta["kie_widgets"] == {
        "asset_ids": ["img-004"],
        "task_ids": ["t9"],
        "scene_id": 3,
        "reused": [False],
    }


def test_html_is_escaped() -> None:
    """Prompts and names cannot inject markup into the output."""
    bundle = ui.table_bundle(("a",), [("<script>x</script>",)])
    assert "<script>" not in bundle["text/html"]
    assert "&lt;script&gt;" in bundle["text/html"]


def test_status_line_redraws_in_place_and_never_after_replace() -> None:
    """Updates reuse the display id; once replaced by the result, late updates are dropped."""
    shell = InteractiveShell.instance()
    saved, shell.display_pub = shell.display_pub, Recorder()
    try:
        line = ui.StatusLine("Imagen 4", live=True, min_interval=0)
        line.update("queued", task_id="t1")
        line.replace({"text/plain": "done"})
        line.update("generating", progress=0.5)
        line.tick()
        outputs = shell.display_pub.outputs
    finally:
        shell.display_pub = saved
    assert [o["update"] for o in outputs] == [False, True, True]
    assert len({o["transient"]["display_id"] for o in outputs}) == 1
    assert outputs[-1]["data"] == {"text/plain": "done"}


def test_status_line_ticks_publish_only_when_the_line_changes() -> None:
    """Ticks within the same second send no update; a new state or a new second does."""
    shell = InteractiveShell.instance()
    saved, shell.display_pub = shell.display_pub, Recorder()
    try:
        line = ui.StatusLine("Imagen 4", live=True, min_interval=0)
        for _ in range(5):
            line.tick()
        line.update("queued")
        line.started -= 1.0  # a second later
        line.tick()
        outputs = shell.display_pub.outputs
    finally:
        shell.display_pub = saved
    texts = [o["data"]["text/plain"] for o in outputs]
    assert texts == ["… Imagen 4 · planning · 0s", "⏳ Imagen 4 · queued · 0s", "⏳ Imagen 4 · queued · 1s"]


def _noisy_png(path: Path, side: int) -> Path:
    from PIL import Image

    Image.merge("RGB", [Image.effect_noise((side, side), 60 + i) for i in range(3)]).save(path)
    return path


def test_inline_image_stays_under_the_byte_bound_whatever_the_source(tmp_path: Path) -> None:
    """A 2K noisy source is shrunk until its base64 fits max_bytes; if nothing fits, only text is shown."""
    from kie_widgets.notebook.render import Renderer

    asset = _asset(path=_noisy_png(tmp_path / "big.png", 2048))
    data, meta = Renderer(max_bytes=20_000).bundle(asset)
    [mime] = [m for m in data if m.startswith("image/")]
    assert len(data[mime]) <= 20_000
    assert meta["kie_widgets"]["asset_ids"] == ["img-004"]
    data, _ = Renderer(max_bytes=10).bundle(asset)
    assert set(data) == {"text/plain"}
    assert "too large" in data["text/plain"]


def test_missing_file_still_gets_a_caption(tmp_path: Path) -> None:
    """A result whose file is gone shows its caption and why there is no preview."""
    from kie_widgets.notebook.render import Renderer

    data, _ = Renderer().bundle(_asset(path=tmp_path / "gone.png"))
    assert data["text/plain"].startswith("img-004 · Imagen 4")
    assert "preview unavailable" in data["text/plain"]
