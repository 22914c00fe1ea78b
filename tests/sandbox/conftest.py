"""Fixtures for the sandbox tests: a fake clock, a sandbox on it, and a raw httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from sandbox_helpers import client_for

from kie_widgets.clock import FakeClock
from kie_widgets.sandbox import Sandbox, SandboxConfig


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock shared by the sandbox and the test."""
    return FakeClock()


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Iterator[Callable[..., Sandbox]]:
    """Build a sandbox on the fake clock; keyword arguments become ``SandboxConfig`` fields."""
    made: list[Sandbox] = []

    def make(**config: Any) -> Sandbox:
        sb = Sandbox(SandboxConfig(**config), clock=clock)
        made.append(sb)
        return sb

    yield make
    for sb in made:
        assert sb.errors == [], sb.errors[0] if sb.errors else ""


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox with default settings."""
    return make_sandbox()


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw httpx client wired to ``sandbox`` with a valid key and User-Agent."""
    async with client_for(sandbox) as client:
        yield client
