"""Fixtures of the client tests: a fake clock, settings with a real-looking key, a scripted router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from client_helpers import BASE, KEY, UPLOAD, Router

from kie_widgets.client import KieAPI, RateLimiter, RetryPolicy
from kie_widgets.clock import FakeClock
from kie_widgets.config import Secret, Settings


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock: waits cost no wall time."""
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    """Settings with a real-looking key and kie's default hosts."""
    return Settings(api_key=Secret(KEY), key_source="argument", base_url=BASE, upload_url=UPLOAD)


@pytest.fixture
def router(clock: FakeClock) -> Router:
    """An empty router on the fake clock."""
    return Router(clock)


@pytest.fixture
def make_api(settings: Settings, router: Router, clock: FakeClock) -> Callable[..., KieAPI]:
    """Build a KieAPI on the router, the fake clock, a private limiter and no jitter by default."""
    made: list[KieAPI] = []

    def make(**overrides: Any) -> KieAPI:
        overrides.setdefault("retry", RetryPolicy(jitter=0.0))
        overrides.setdefault("limiter", RateLimiter(clock=clock))
        api = KieAPI(
            overrides.pop("settings", settings),
            transport=overrides.pop("transport", router.transport),
            clock=clock,
            **overrides,
        )
        made.append(api)
        return api

    return make
