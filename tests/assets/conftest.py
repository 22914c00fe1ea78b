"""Fixtures for the assets tests: a manifest in a throwaway project."""

from __future__ import annotations

from pathlib import Path

import pytest

from kie_widgets.assets import Manifest


@pytest.fixture
def manifest(project: Path) -> Manifest:
    """A manifest at ``<project>/assets/manifest.json`` with a short lock wait."""
    return Manifest(lock_timeout=5)
