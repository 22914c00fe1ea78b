"""The README's two set-up commands are the ones CI and users actually run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## On a fresh machine\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md has no 'On a fresh machine' bash block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands() -> None:
    """One command runs the main job, one runs the tests."""
    commands = _readme_commands()
    assert len(commands) == 2
    assert "demo" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    """.ci/run calls the README's test command, character for character."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in [line.strip() for line in ci]


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_plan_error_example_is_the_real_message() -> None:
    """The dry-run error shown in the README is, word for word, what plan() raises."""
    import kie_widgets as kw

    text = _readme()
    call = 'kw.plan("4o Image", "A harbour at dawn", aspect_ratio="16:9")\n'
    shown_lines = []
    for line in text.split(call, 1)[1].splitlines():
        if not line.startswith("#"):
            break
        shown_lines.append(line.lstrip("# ").strip())
    shown = " ".join(shown_lines)
    with pytest.raises(kw.KieValidationError) as info:
        kw.plan("4o Image", "A harbour at dawn", aspect_ratio="16:9")
    assert shown == f"{type(info.value).__name__}: {info.value}"


def test_readme_status_line_example_is_what_a_market_model_shows() -> None:
    """The status line in the README is the one the notebook draws for Imagen 4 (no progress figure)."""
    from kie_widgets.notebook.display import status_text

    task = "226b846f36f37513ae6e986c15c8c9b2"
    assert status_text("Imagen 4", "generating", elapsed=12, task_id=task) in _readme()


def test_readme_names_the_key_the_sandbox_server_accepts() -> None:
    """A reader can reach the stand-alone sandbox server: the README names the key it accepts."""
    from kie_widgets.config import SANDBOX_API_KEY
    from kie_widgets.sandbox import SandboxConfig

    assert SandboxConfig().api_key == SANDBOX_API_KEY
    assert f"KIE_API_KEY={SANDBOX_API_KEY}" in _readme()
