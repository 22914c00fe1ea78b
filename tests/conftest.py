"""Shared fixtures: every test runs in a throwaway project root, offline, with no real key."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's key, base URLs or project settings."""
    for name in ("KIE_API_KEY", "KIE_BASE_URL", "KIE_UPLOAD_URL", "KIE_SANDBOX", "KIE_PROJECT_ROOT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project root (with an ``assets/`` folder) as the working directory."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scratch'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIE_PROJECT_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Jupyter uses)."""
    return "asyncio"
