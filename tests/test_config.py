"""Settings resolution and the secret wrapper."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from kie_widgets.config import (
    DEFAULT_BASE_URL,
    SANDBOX_API_KEY,
    Secret,
    find_project_root,
    load_settings,
)
from kie_widgets.errors import KieConfigError

KEY = "test-key-ABCDEFGHIJKLMNOP-1234"


def test_secret_never_shows_its_value_in_repr_or_str() -> None:
    """repr, str and f-strings of a Secret show only a masked hint."""
    secret = Secret(KEY)
    for text in (repr(secret), str(secret), f"{secret}", repr([secret]), repr({"k": secret})):
        assert KEY not in text
    assert secret.masked() == "****1234"
    assert secret.reveal() == KEY


def test_secret_refuses_to_be_pickled() -> None:
    """A Secret cannot leak through pickling (e.g. into a multiprocessing queue)."""
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_short_secret_masks_completely() -> None:
    """A key too short to hint at is fully masked."""
    assert Secret("abc").masked() == "****"


@pytest.mark.parametrize(
    ("argument", "environ", "dotenv", "expected_source"),
    [
        (KEY, {"KIE_API_KEY": "env-key-value-123456"}, "KIE_API_KEY=dotenv-key-value-1234\n", "argument"),
        (None, {"KIE_API_KEY": KEY}, "KIE_API_KEY=dotenv-key-value-1234\n", "environment"),
        (None, {}, f"KIE_API_KEY={KEY}\n", ".env"),
        (None, {}, "", "none"),
    ],
)
def test_key_resolution_order_is_argument_environment_dotenv(
    project: Path, argument: str | None, environ: dict[str, str], dotenv: str, expected_source: str
) -> None:
    """The key comes from the argument, else the environment, else the project's .env."""
    (project / ".env").write_text(dotenv)
    settings = load_settings(api_key=argument, environ=environ, project_root=project)
    assert settings.key_source == expected_source
    if expected_source != "none":
        assert settings.require_key().reveal() == KEY


def test_dotenv_is_read_without_touching_os_environ(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading .env does not export its values into the process environment."""
    import os

    (project / ".env").write_text(f"KIE_API_KEY={KEY}\nKIE_BASE_URL=http://127.0.0.1:9/\n")
    settings = load_settings(project_root=project)
    assert settings.base_url == "http://127.0.0.1:9"
    assert "KIE_API_KEY" not in os.environ


def test_missing_key_error_says_how_to_provide_one(project: Path) -> None:
    """Without a key, require_key names KIE_API_KEY, .env and the sandbox."""
    settings = load_settings(environ={}, project_root=project)
    with pytest.raises(KieConfigError) as caught:
        settings.require_key()
    text = str(caught.value)
    assert "KIE_API_KEY" in text
    assert ".env" in text
    assert "KIE_SANDBOX=1" in text


def test_sandbox_flag_supplies_the_sandbox_key_and_keeps_a_real_one(project: Path) -> None:
    """KIE_SANDBOX=1 works with no key; an explicit key still wins."""
    settings = load_settings(environ={"KIE_SANDBOX": "1"}, project_root=project)
    assert settings.sandbox
    assert settings.key_source == "sandbox"
    assert settings.require_key().reveal() == SANDBOX_API_KEY
    settings = load_settings(environ={"KIE_SANDBOX": "true", "KIE_API_KEY": KEY}, project_root=project)
    assert settings.key_source == "environment"


def test_settings_repr_hides_the_key(project: Path) -> None:
    """The dataclass repr of Settings shows the masked key only."""
    settings = load_settings(api_key=KEY, environ={}, project_root=project)
    assert KEY not in repr(settings)
    assert settings.base_url == DEFAULT_BASE_URL


def test_project_root_is_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nearest folder with a manifest, pyproject, .git or .env is the project root."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "manifest.json").write_text('{"assets": []}')
    deep = tmp_path / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path.resolve()
    monkeypatch.setenv("KIE_PROJECT_ROOT", str(deep))
    assert find_project_root(tmp_path) == deep.resolve()
