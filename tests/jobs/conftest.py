"""Fixtures for the client tests: one sandbox and one client sharing one FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import FAKE_KEY

from kie_widgets.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """The one clock of a test: sandbox task states and client polling both run on it."""
    return FakeClock()


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Callable[..., Any]:
    """Build a sandbox on the shared clock, accepting FAKE_KEY, with config overrides."""
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    def make(**overrides: Any) -> Any:
        return Sandbox(SandboxConfig(api_key=FAKE_KEY, **overrides), clock=clock)

    return make


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Any]) -> Any:
    """A default sandbox (fresh per test)."""
    return make_sandbox()


@pytest.fixture
def manifest(project: Path) -> Any:
    """The project's manifest."""
    from kie_widgets.assets import Manifest

    return Manifest(project / "assets" / "manifest.json")


@pytest.fixture
def make_client(clock: FakeClock, manifest: Any) -> Callable[..., Any]:
    """Build a KieClient over a sandbox's in-process transport, on the shared clock."""
    from kie_widgets.jobs import KieClient

    def make(sb: Any, **kwargs: Any) -> KieClient:
        kwargs.setdefault("manifest", manifest)
        return KieClient(api_key=FAKE_KEY, transport=sb.transport, clock=clock, **kwargs)

    return make


@pytest.fixture
async def kie(make_client: Callable[..., Any], sandbox: Any) -> AsyncIterator[Any]:
    """An entered client over the default sandbox."""
    async with make_client(sandbox) as client:
        yield client
