"""A machine without Chromium skips the browser tests, but CI fails on it instead of skipping."""

from __future__ import annotations

from pathlib import Path

import browser_helpers
import pytest


@pytest.fixture
def no_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chromium is looked for where nothing exists."""
    monkeypatch.setattr(browser_helpers, "CHROMIUM", tmp_path / "chromium")


@pytest.mark.usefixtures("no_chromium")
@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        ("", pytest.skip.Exception),
        ("false", pytest.skip.Exception),
        ("0", pytest.skip.Exception),
        ("true", pytest.fail.Exception),
        ("1", pytest.fail.Exception),
        ("yes", pytest.fail.Exception),
    ],
)
def test_missing_chromium_skips_locally_but_fails_under_ci(
    ci: str, outcome: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing Chromium skips (naming what to install) unless CI is set, where a skip would hide it."""
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="apt-get install chromium"):
        browser_helpers.require_browser("lab")


def test_notebook7_also_needs_the_notebook_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notebook 7 tests need the ``notebook`` package on top of what Lab tests need."""
    chromium = tmp_path / "chromium"
    chromium.touch()
    monkeypatch.setattr(browser_helpers, "CHROMIUM", chromium)
    installed = {"jupyterlab", "playwright"}
    monkeypatch.setattr(
        browser_helpers.importlib.util, "find_spec", lambda name: object() if name in installed else None
    )
    assert browser_helpers.missing_requirements("lab") == []
    assert browser_helpers.missing_requirements("notebook7") == ["python package 'notebook'"]
