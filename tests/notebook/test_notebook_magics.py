"""%kie_image and %%kie_image through a real IPython shell, against a fast in-process sandbox."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from notebook_helpers import Recorder

import kie_widgets
from kie_widgets.assets import Manifest
from kie_widgets.notebook.magics import HELP

Shell = tuple[InteractiveShell, Recorder]


def _cell(ip: InteractiveShell, line: str, body: str | None = None) -> Any:
    if body is None:
        return ip.run_line_magic("kie_image", line)
    return ip.run_cell_magic("kie_image", line, body)


def _manifest(project: Path) -> Manifest:
    return Manifest(project / "assets" / "manifest.json")


def test_load_ext_registers_both_magic_forms_and_unloads(shell: Shell) -> None:
    """%load_ext adds the line and cell magic once; %unload_ext removes them."""
    ip, _ = shell
    assert "kie_image" in ip.magics_manager.magics["line"]
    assert "kie_image" in ip.magics_manager.magics["cell"]
    ip.run_line_magic("unload_ext", "kie_widgets")
    assert "kie_image" not in ip.magics_manager.magics["cell"]
    ip.run_line_magic("load_ext", "kie_widgets")
    assert "kie_image" in ip.magics_manager.magics["cell"]


def test_load_ext_defers_heavy_imports() -> None:
    """Loading the extension imports neither httpx, Pillow, ipywidgets, the catalog nor the client."""
    code = (
        "import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.instance().run_line_magic('load_ext', 'kie_widgets')\n"
        "print(','.join(m for m in ('httpx', 'PIL', 'ipywidgets', 'kie_widgets.catalog', 'kie_widgets.jobs')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_generate_binds_out_and_last_and_shows_small_images(shell: Shell, project: Path) -> None:
    """A cell shows a status line, then a thumbnail under 150 KB with ids in metadata; --out binds assets."""
    ip, rec = shell
    ip.user_ns["animal"] = "fox"
    _cell(ip, "Imagen 4 --ratio 16:9 --out shots --scene 2", "a red {animal} in snow, {{watercolor}}")
    shots = ip.user_ns["shots"]
    assert [a.id for a in shots] == ["img-001"]
    assert kie_widgets.last == shots
    assert shots[0].prompt == "a red fox in snow, {watercolor}"
    first = rec.published()[0]
    assert "planning" in first["data"]["text/plain"]
    assert first["transient"]["display_id"]
    [image] = rec.images()
    mime = "image/jpeg" if "image/jpeg" in image["data"] else "image/png"
    assert len(image["data"][mime]) <= 150_000
    base64.b64decode(image["data"][mime], validate=True)
    meta = image["metadata"]["kie_widgets"]
    assert meta["asset_ids"] == ["img-001"]
    assert meta["task_ids"] == [shots[0].task_id]
    assert meta["scene_id"] == 2
    assert "img-001 · Imagen 4 · v1 · 16:9" in rec.texts()
    assert "headless" in rec.texts()  # no frontend metadata: it works and says so
    entry = _manifest(project).get("img-001")
    assert entry is not None
    assert entry["scene_id"] == 2
    assert entry["kie"]["scene_source"] == "option"


def test_status_line_is_updated_in_place(shell: Shell) -> None:
    """Status changes are updates of the first display, not new outputs."""
    ip, rec = shell
    _cell(ip, "imagen4", "a lighthouse")
    outputs = rec.published()
    status_id = outputs[0]["transient"]["display_id"]
    updates = [o for o in outputs if o["update"] and o["transient"]["display_id"] == status_id]
    states = " ".join(o["data"]["text/plain"] for o in updates)
    assert any(state in states for state in ("submitting", "queued", "generating", "downloading"))
    assert "task " in states
    assert "1 image" in updates[-1]["data"]["text/plain"]


def test_rerun_reuses_and_force_makes_a_new_version(shell: Shell, project: Path, fast_sandbox: Any) -> None:
    """An unchanged cell reuses its result without a request; --force pays again and makes v2."""
    ip, rec = shell
    _cell(ip, "imagen4 --out a", "a quiet harbour at dusk")
    creates = [r for r in fast_sandbox.requests if r.method == "POST" and "createTask" in r.path]
    _cell(ip, "imagen4 --out b", "a quiet harbour at dusk")
    assert [r for r in fast_sandbox.requests if r.method == "POST" and "createTask" in r.path] == creates
    assert ip.user_ns["b"][0].reused
    assert ip.user_ns["b"][0].id == ip.user_ns["a"][0].id
    assert "reused" in rec.texts()
    _cell(ip, "imagen4 --out c --force", "a quiet harbour at dusk")
    assert ip.user_ns["c"][0].version == 2
    first = _manifest(project).get(ip.user_ns["a"][0].id)
    assert first is not None
    assert first["superseded_by"] == ip.user_ns["c"][0].id


def test_dry_run_shows_body_cost_and_warnings_and_sends_nothing(
    shell: Shell, project: Path, fast_sandbox: Any
) -> None:
    """--dry-run prints the exact wire body, the estimate and the linter's warnings; nothing is sent."""
    ip, rec = shell
    _cell(ip, "4o Image --ratio 3:2 --negative blurry --dry-run", "a poster that says 'OPEN'")
    text = rec.texts()
    assert "POST /api/v1/gpt4o-image/generate" in text
    assert '"size": "3:2"' in text
    assert "estimated cost" in text
    assert "warning" in text
    [out] = rec.current()
    assert out["metadata"]["kie_widgets"]["body"] == {"prompt": "a poster that says 'OPEN'", "size": "3:2"}
    assert fast_sandbox.requests == []
    assert _manifest(project).entries == []


def test_dry_run_of_a_masked_edit_says_how_the_mask_is_converted(
    shell: Shell, project: Path, fast_sandbox: Any
) -> None:
    """--dry-run of a 4o masked edit notes the mask conversion and the ratio kept from a wide source."""
    from PIL import Image

    Image.new("RGB", (320, 180)).save(project / "wide.png")
    Image.new("L", (320, 180)).save(project / "mask.png")
    ip, rec = shell
    _cell(ip, "4o Image --image wide.png --mask mask.png --dry-run", "a window")
    text = rec.texts()
    assert "note: mask: read as white = change" in text
    assert "black = change, white = keep" in text
    assert '"size": "3:2"' in text
    assert "cannot keep the source's shape (320×180)" in text
    assert fast_sandbox.requests == []


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ("imagen5", ["model", "imagen5"]),
        ("4o Image --ratio 16:9", ["aspect_ratio", "1:1, 3:2, 2:3"]),
        ("imagen4 --preset cartoons", ["--preset", "universal"]),
        ("Flux Kontext Pro --image img-999", ["img-999"]),
    ],
)
def test_user_mistakes_fail_the_cell_with_a_short_usage_error(
    shell: Shell, fast_sandbox: Any, line: str, needles: list[str]
) -> None:
    """Unknown models, bad values, presets and asset ids are UsageErrors naming field and allowed values."""
    ip, _ = shell
    with pytest.raises(UsageError) as info:
        _cell(ip, line, "a cat")
    for needle in needles:
        assert needle in str(info.value)
    assert fast_sandbox.requests == []


def test_a_failing_cell_stops_run_all(shell: Shell) -> None:
    """Through run_cell, a user mistake marks the execution as failed (so Run All stops)."""
    ip, _ = shell
    result = ip.run_cell("%%kie_image imagen4 --ratio 99:1\na cat")
    assert not result.success


def test_no_wait_returns_at_once_and_fills_in_its_own_outputs(shell: Shell) -> None:
    """--no-wait returns before the task is done and later updates the displays it made in the cell."""
    ip, rec = shell
    _cell(ip, "imagen4 --no-wait --out later", "a paper boat")
    assert ip.user_ns["later"] == []
    made = {o["transient"]["display_id"] for o in rec.published() if not o["update"]}
    rec.wait_for(lambda: bool(ip.user_ns["later"]) and bool(rec.images()))
    rec.wait_for(lambda: "1 image" in rec.texts())
    updated = {o["transient"]["display_id"] for o in rec.published() if o["update"]}
    assert updated <= made  # everything later is an update of a display made during the cell
    assert kie_widgets.last == ip.user_ns["later"]


def test_several_models_run_side_by_side(shell: Shell) -> None:
    """A comma-separated model list runs each model and binds all results in order."""
    ip, rec = shell
    _cell(ip, "Imagen 4, Seedream 4.5, Flux Kontext Pro --ratio 16:9 --out trio", "a lighthouse at night")
    assert [a.model for a in ip.user_ns["trio"]] == ["Imagen 4", "Seedream 4.5", "Flux Kontext Pro"]
    assert len(rec.images()) == 3


def test_each_models_images_follow_its_own_caption(shell: Shell) -> None:
    """With several models, every image sits right under the caption of the model that made it."""
    ip, rec = shell
    _cell(ip, "Imagen 4, Seedream 4.5 --ratio 16:9 --out pair", "a windmill at noon")
    shown = rec.current()
    kinds = ["image" if o in rec.images() else "text" for o in shown]
    assert kinds == ["text", "image", "text", "image"]
    for caption, image in zip(shown[::2], shown[1::2], strict=True):
        [asset_id] = image["metadata"]["kie_widgets"]["asset_ids"]
        assert asset_id in caption["data"]["text/plain"]


def test_cell_id_metadata_and_scene_tag_reach_the_manifest(shell: Shell, project: Path) -> None:
    """The execute request's cellId and cell metadata are recorded, and a scene-N tag sets the scene."""
    ip, rec = shell
    ip.parent_header = {  # type: ignore[attr-defined]  # what ipykernel's shell carries
        "header": {"msg_type": "execute_request"},
        "metadata": {"cellId": "cell-42", "deletedCells": [], "tags": ["scene-5"], "kie": {"note": "hero"}},
        "content": {},
    }
    _cell(ip, "imagen4 --out tagged", "a castle")
    assert "headless" not in rec.texts()
    entry = _manifest(project).get(ip.user_ns["tagged"][0].id)
    assert entry is not None
    assert entry["scene_id"] == 5
    extra = entry["kie"]
    assert extra["cell_id"] == "cell-42"
    assert extra["cell_metadata"] == {"tags": ["scene-5"], "kie": {"note": "hero"}}
    assert extra["scene_source"] == "cell-tag"
    assert extra["cell_source"].startswith("%%kie_image imagen4")


def test_scene_numbers_reach_the_manifest_as_integers(shell: Shell, project: Path) -> None:
    """A scene written as text ("scene-03" in the cell metadata, "4" on a shorthand) is recorded as an int."""
    ip, _ = shell
    ip.parent_header = {  # type: ignore[attr-defined]
        "header": {"msg_type": "execute_request"},
        "metadata": {"cellId": "cell-7", "kie": {"scene_id": "scene-03"}},
        "content": {},
    }
    _cell(ip, "imagen4 --out base", "a pier")
    del ip.parent_header  # type: ignore[attr-defined]
    _cell(ip, f"upscale {ip.user_ns['base'][0].id} --scene 4 --out big")
    manifest = _manifest(project)
    scenes = [manifest.get(ip.user_ns[name][0].id)["scene_id"] for name in ("base", "big")]  # type: ignore[index]
    assert scenes == [3, 4]
    assert all(type(scene) is int for scene in scenes)


def test_shorthands_upscale_and_remove_background_record_parents(shell: Shell, project: Path) -> None:
    """upscale ID and remove-bg ID run the catalog's model for the job on an existing asset."""
    ip, _ = shell
    _cell(ip, "imagen4 --out base", "a teapot")
    base = ip.user_ns["base"][0]
    _cell(ip, f"upscale {base.id} --out big")
    _cell(ip, f"remove-bg {base.id} --out cut")
    for name, operation in (("big", "upscale"), ("cut", "remove-background")):
        entry = _manifest(project).get(ip.user_ns[name][0].id)
        assert entry is not None
        assert entry["kie"]["parents"] == [base.id]
        assert entry["kie"]["operation"] == operation


def test_edit_shorthand_takes_the_prompt_from_the_body(shell: Shell, project: Path) -> None:
    """%%kie_image edit ID uses the cell body as the instruction."""
    ip, _ = shell
    _cell(ip, "imagen4 --out base", "a red car")
    base = ip.user_ns["base"][0]
    _cell(ip, f"edit {base.id} --out edited", "make the car blue")
    edited = ip.user_ns["edited"][0]
    assert edited.prompt == "make the car blue"
    with pytest.raises(UsageError, match="what to change"):
        _cell(ip, f"edit {base.id}")


def test_history_lists_and_filters_the_manifest(shell: Shell) -> None:
    """history shows entries and filters by scene, model and date."""
    ip, rec = shell
    _cell(ip, "imagen4 --scene 1", "a hill")
    _cell(ip, "seedream 4.5 --scene 2", "a valley")
    rec.outputs.clear()
    _cell(ip, "history --scene 2")
    text = rec.texts()
    assert "Seedream 4.5" in text
    assert "a valley" in text
    assert "a hill" not in text
    rec.outputs.clear()
    _cell(ip, "history --model imagen --since 2000-01-01")
    assert "a hill" in rec.texts()
    assert "a valley" not in rec.texts()
    with pytest.raises(UsageError, match="--since"):
        _cell(ip, "history --since yesterday")


def test_history_shows_every_variant_of_the_latest_request(shell: Shell, project: Path) -> None:
    """The n variants of one cell all show; a forced re-run hides the older request's variants."""
    ip, rec = shell
    _cell(ip, "imagen4 --n 2 --out first", "twin lanterns")
    first = [a.id for a in ip.user_ns["first"]]
    rec.outputs.clear()
    _cell(ip, "history")
    assert all(asset_id in rec.texts() for asset_id in first)
    _cell(ip, "imagen4 --n 2 --force --out second", "twin lanterns")
    second = [a.id for a in ip.user_ns["second"]]
    rec.outputs.clear()
    _cell(ip, "history")
    text = rec.texts()
    assert all(asset_id in text for asset_id in second)
    assert not any(asset_id in text for asset_id in first)
    rec.outputs.clear()
    _cell(ip, "history --all")
    assert all(asset_id in rec.texts() for asset_id in first + second)


def test_list_filters_models(shell: Shell) -> None:
    """list shows matching models with their kie ids."""
    ip, rec = shell
    _cell(ip, "list --mode upscale")
    text = rec.texts()
    assert "topaz/image-upscale" in text
    assert "google/imagen4" not in text
    with pytest.raises(UsageError, match="no model matches"):
        _cell(ip, "list zzzz")
    with pytest.raises(UsageError, match=r"--mode: unknown mode 'zoom' \(allowed: .*upscale"):
        _cell(ip, "list --mode zoom")
    rec.outputs.clear()
    _cell(ip, "list --with mask")
    assert "gpt4o-image" in rec.texts()
    assert "google/imagen4 " not in rec.texts()


def test_list_fits_100_columns_and_wide_shows_every_column(shell: Shell) -> None:
    """The default listing fits a 100-column terminal and marks new and older models; --wide has all."""
    ip, rec = shell
    _cell(ip, "list")
    lines = rec.texts().splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any("nano-banana-2-1" in line and " new " in line for line in lines)
    assert any("gpt4o-image" in line and " older " in line for line in lines)
    rec.outputs.clear()
    _cell(ip, "list --wide")
    wide = rec.texts()
    assert "aspect ratios" in wide
    assert "text-to-image, edit" in wide
    assert max(len(line) for line in wide.splitlines()) > 100


def test_raw_cell_sends_set_fields_unchecked_and_records_unvalidated(
    shell: Shell, fast_sandbox: Any, project: Path
) -> None:
    """%%kie_image MODEL --raw --set k=v sends the body as written, says so, and records it unvalidated."""
    ip, rec = shell
    fast_sandbox.config.extra_models = ("vendor/new-model",)
    from kie_widgets.catalog import KieUnvalidatedWarning

    with pytest.warns(KieUnvalidatedWarning, match="nothing was validated"):
        _cell(ip, "vendor/new-model --raw --set size=1K --set steps=9", "a paper boat")
    bodies = [r.json for r in fast_sandbox.requests if r.path == "/api/v1/jobs/createTask"]
    assert bodies == [
        {"model": "vendor/new-model", "input": {"prompt": "a paper boat", "size": "1K", "steps": 9}}
    ]
    assert "unvalidated, cost unknown" in rec.texts()
    (entry,) = _manifest(project).entries
    assert entry["model"] == "vendor/new-model"
    assert entry["kie"]["unvalidated"] is True


def test_layer_decomposition_cell_shows_its_results_as_one_group(shell: Shell) -> None:
    """A decomposition of img-001 is captioned as its base image and layers, every image shown."""
    ip, rec = shell
    _cell(ip, "Imagen 4", "a lighthouse on a cliff")
    rec.outputs.clear()
    _cell(ip, "Seedream 5.0 Flash Layer Decomposition --image img-001 --out parts")
    assert [a.id for a in ip.user_ns["parts"]] == ["img-002", "img-003", "img-004"]
    assert "layers of img-001: base image + 2 transparent layers" in rec.texts()


def test_near_miss_model_in_a_cell_suggests_and_sends_nothing(shell: Shell, fast_sandbox: Any) -> None:
    """A misspelt id without --raw is a UsageError with the close ids; kie receives nothing."""
    ip, _ = shell
    with pytest.raises(UsageError, match=r"did you mean.*seedream/5-flash-text-to-image"):
        _cell(ip, "seedream/5-flash-text-to-imag", "a paper boat")
    assert fast_sandbox.requests == []


def test_credits_and_doctor_report_without_showing_the_key(
    shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """credits shows the sandbox balance; doctor shows the key source masked, never the key."""
    ip, rec = shell
    _cell(ip, "credits")
    assert "credits" in rec.texts()
    assert "sandbox" in rec.texts()
    secret = "sk-very-secret-key-1234567890abcd"
    monkeypatch.setenv("KIE_API_KEY", secret)
    rec.outputs.clear()
    _cell(ip, "doctor")
    dump = json.dumps(rec.published())
    assert secret not in dump
    assert "****abcd" in dump
    assert "environment" in dump


def test_missing_key_headless_suggests_the_sandbox(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key or sandbox and no way to ask, the cell fails with how to set a key or use the sandbox."""
    ip, _ = shell
    monkeypatch.delenv("KIE_SANDBOX")
    with pytest.raises(UsageError, match="KIE_SANDBOX=1"):
        _cell(ip, "imagen4", "a cat")


def test_insufficient_credits_says_balance_and_cost(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 402 becomes a message with the balance and what the request costs, and the cell fails."""
    import math

    from kie_widgets import runner
    from kie_widgets.jobs import PollSchedule
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    monkeypatch.setenv("KIE_SANDBOX", "1")
    poor = Sandbox(SandboxConfig(credits=1.0, waiting=0.05, queuing=0.05, generating=0.1, invisible_for=0.0))
    runner.configure(transport=poor.transport, schedule=PollSchedule(bands=((math.inf, 0.05, 0.1),)))
    ip = InteractiveShell.instance()
    ip.display_pub = Recorder()
    ip.run_line_magic("load_ext", "kie_widgets")
    try:
        with pytest.raises(UsageError) as info:
            _cell(ip, "imagen4", "a golden crown")
        assert "not enough credits" in str(info.value)
        assert "balance" in str(info.value)
    finally:
        ip.run_line_magic("unload_ext", "kie_widgets")
        runner.configure()


def test_help_covers_every_option() -> None:
    """The %%kie_image? text mentions every option of the parser."""
    from kie_widgets.notebook.options import generate_parser

    for action in generate_parser()._actions:
        for flag in action.option_strings:
            assert flag in HELP, flag


def test_help_prints_and_does_nothing(
    shell: Shell, fast_sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """--help on the magic and on a subcommand prints usage and sends nothing."""
    ip, _ = shell
    _cell(ip, "imagen4 --help", "a cat")
    _cell(ip, "history --help")
    out = capsys.readouterr().out
    assert "--ratio" in out
    assert "--since" in out
    assert fast_sandbox.requests == []


@pytest.mark.parametrize(
    ("fault", "needles"),
    [
        ({"kind": "envelope", "code": 455, "route": "create"}, ["maintenance", "try again"]),
        ({"kind": "fail", "code": 501}, ["KieTaskFailedError", "not charged"]),
        ({"kind": "timeout", "route": "create"}, ["uncertain", "kie.ai/logs"]),
    ],
)
def test_api_errors_say_what_happened_and_what_to_do(
    shell: Shell, fast_sandbox: Any, fault: dict[str, Any], needles: list[str]
) -> None:
    """Maintenance, a failed task and an uncertain submit each fail the cell with advice."""
    from kie_widgets.sandbox import Fault

    ip, rec = shell
    fast_sandbox.add_fault(Fault(**fault))
    with pytest.raises(UsageError) as info:
        _cell(ip, "imagen4", "a windmill")
    message = str(info.value).lower()
    for needle in needles:
        assert needle.lower() in message
    assert "✘" in rec.texts()


def test_question_mark_help_is_the_full_help(shell: Shell) -> None:
    """%%kie_image? shows the magic's docstring, which is the full help text."""
    ip, _ = shell
    assert ip.find_cell_magic("kie_image").__doc__ == HELP
    assert ip.find_line_magic("kie_image").__doc__ == HELP


def test_missing_key_is_asked_for_with_a_hidden_prompt(
    shell: Shell, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the frontend can ask, the key is read with getpass, kept for the kernel and never printed."""
    import getpass
    import os

    from kie_widgets.notebook import advice

    ip, rec = shell
    secret = "sk-typed-in-secret-0000000000wxyz"
    monkeypatch.setenv("KIE_API_KEY", "placeholder")  # so teardown restores "unset"
    monkeypatch.delenv("KIE_API_KEY")
    monkeypatch.delenv("KIE_SANDBOX")
    monkeypatch.setattr(advice, "interactive_stdin", lambda: True)
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return secret

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    ip.magics_manager.registry["KieMagics"]._ensure_key()
    assert os.environ["KIE_API_KEY"] == secret
    assert prompts
    assert "hidden" in prompts[0]
    assert secret not in capsys.readouterr().out
    assert secret not in json.dumps(rec.published())


@pytest.mark.slow
def test_switching_to_the_sandbox_with_env_takes_effect_in_the_next_cell(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client made before `%env KIE_SANDBOX=1` is replaced, so the next cell runs offline."""
    from kie_widgets import runner

    runner.configure()
    ip = InteractiveShell.instance()
    saved, ip.display_pub = ip.display_pub, Recorder()
    ip.run_line_magic("load_ext", "kie_widgets")
    try:
        _cell(ip, "imagen4 --dry-run", "a kite")  # builds a live client (no key, nothing sent)
        ip.run_line_magic("env", "KIE_SANDBOX=1")
        monkeypatch.setenv("KIE_SANDBOX", "1")  # restored after the test
        _cell(ip, "imagen4 --out kite", "a kite")
        assert ip.user_ns["kite"][0].id == "img-001"
    finally:
        ip.run_line_magic("unload_ext", "kie_widgets")
        ip.display_pub = saved
        runner.shutdown()
        runner.configure()


def test_line_form_prompt_is_expanded_once_by_ipython(shell: Shell) -> None:
    """`%kie_image MODEL -p "..."` gets {name} from IPython's own line expansion, with {{ kept literal."""
    ip, rec = shell
    ip.user_ns["thing"] = "kite"
    result = ip.run_cell('%kie_image imagen4 -p "a {thing} {{kept}}" --dry-run')
    assert result.success
    [out] = rec.current()
    assert out["metadata"]["kie_widgets"]["body"]["input"]["prompt"] == "a kite {kept}"


def test_an_undefined_name_on_the_magic_line_fails_instead_of_being_sent(
    shell: Shell, fast_sandbox: Any
) -> None:
    """`-p "a {nosuch}"` is a UsageError naming the variable, not a prompt with literal braces."""
    ip, rec = shell
    result = ip.run_cell('%kie_image imagen4 -p "a {nosuch_thing} at dawn" --dry-run')
    assert not result.success
    assert "nosuch_thing" in str(result.error_in_exec)
    assert rec.outputs == []
    assert fast_sandbox.requests == []


def test_line_expansion_sees_a_functions_local_variables(shell: Shell) -> None:
    """Inside a function, `{name}` on the magic line reads the function's locals, as IPython does."""
    ip, rec = shell
    ip.run_cell('def plan_for(thing):\n    %kie_image imagen4 -p "a {thing}" --dry-run\n')
    assert ip.run_cell("plan_for('kite')").success
    [out] = rec.current()
    assert out["metadata"]["kie_widgets"]["body"]["input"]["prompt"] == "a kite"


def test_partial_failure_shows_the_successes_and_fails_the_cell(shell: Shell, fast_sandbox: Any) -> None:
    """With --n 2 and one failed task, the saved image is shown and bound, and the cell still fails."""
    from kie_widgets.sandbox import Fault

    ip, rec = shell
    fast_sandbox.add_fault(Fault(kind="fail", code=501, times=1))
    with pytest.raises(UsageError, match="1 request"):
        _cell(ip, "imagen4 --n 2 --out pair", "two kites")
    assert len(ip.user_ns["pair"]) == 1
    assert len(rec.images()) == 1
    assert "failed" in rec.texts()


def test_no_wait_failure_replaces_the_status_line_with_the_error(shell: Shell, fast_sandbox: Any) -> None:
    """A --no-wait cell whose task fails ends with the error in its status line, not an empty result."""
    from kie_widgets.sandbox import Fault

    ip, rec = shell
    fast_sandbox.add_fault(Fault(kind="fail", code=501))
    _cell(ip, "imagen4 --no-wait", "a doomed kite")
    rec.wait_for(lambda: "not charged" in rec.texts())
    assert "0 images" not in rec.texts()
    assert rec.images() == []


def test_default_model_is_configurable_with_config(shell: Shell) -> None:
    """`%config KieMagics.default_model = ...` changes the model of cells that name none."""
    ip, rec = shell
    ip.run_line_magic("config", "KieMagics.default_model = 'Seedream 4.5'")
    try:
        _cell(ip, "--dry-run", "a kite")
    finally:
        ip.run_line_magic("config", "KieMagics.default_model = 'Flux Kontext Pro'")
    assert "seedream/4.5-text-to-image" in rec.texts()


def _uploads_as_placeholders(body: Any, urls: list[str]) -> Any:
    """``body`` with each uploaded URL replaced by its ``kie-upload://N`` placeholder (by upload order)."""
    text = json.dumps(body)
    for index, url in enumerate(urls):
        text = text.replace(json.dumps(url)[1:-1], f"kie-upload://{index}")
    return json.loads(text)


def test_dry_run_bodies_are_exactly_what_the_same_cell_sends(
    shell: Shell, project: Path, fast_sandbox: Any
) -> None:
    """Several models, n above a model's batch size and a local input: the dry run shows every body sent."""
    from PIL import Image

    ip, rec = shell
    Image.new("RGB", (300, 200), (20, 120, 200)).save(project / "ref.png")
    line = "4o Image, Seedream 4.5 -n 3 --ratio 3:2 --image ref.png --seed 7"
    _cell(ip, line + " --dry-run", "the same harbour at night")
    planned = [out["metadata"]["kie_widgets"]["bodies"] for out in rec.current()]
    assert [len(bodies) for bodies in planned] == [2, 3]  # 4o: 2 + 1 images; Seedream: one each
    assert fast_sandbox.requests == []

    _cell(ip, line + " --force", "the same harbour at night")
    uploads = [r for r in fast_sandbox.requests if "upload" in r.path]
    urls = sorted({u for r in fast_sandbox.requests for u in _urls(r.json)})
    from kie_widgets.sandbox._routes import CREATE_ROUTES

    sent = [r.json for r in fast_sandbox.requests if r.path in CREATE_ROUTES]
    assert uploads
    shown = [body for bodies in planned for body in bodies]
    sent_shown = [_uploads_as_placeholders(body, urls) for body in sent]
    assert sorted(map(json.dumps, sent_shown)) == sorted(map(json.dumps, shown))


def _urls(body: Any) -> list[str]:
    if isinstance(body, dict):
        return [u for v in body.values() for u in _urls(v)]
    if isinstance(body, list):
        return [u for v in body for u in _urls(v)]
    return [body] if isinstance(body, str) and body.startswith("http") else []
