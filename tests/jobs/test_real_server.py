"""The client over real sockets against ``python -m kie_widgets.sandbox`` on 127.0.0.1."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import FAKE_KEY, start_server, stop_server

from kie_widgets.jobs import KieClient, PollSchedule

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """One sandbox server process for the module; its base URL."""
    proc, url = start_server()
    try:
        yield url
    finally:
        stop_server(proc)


async def test_generate_edit_and_credits_over_real_sockets(server: str, manifest: Any, project: Path) -> None:
    """Every step (create, status, upload, download, credits) works over HTTP on loopback."""
    from PIL import Image

    fast = PollSchedule(bands=((math.inf, 0.2, 0.3),), grace=10.0)
    source = project / "source.png"
    Image.new("RGB", (64, 64), (0, 128, 255)).save(source)
    async with KieClient(
        api_key=FAKE_KEY, base_url=server, upload_url=server, manifest=manifest, schedule=fast
    ) as kie:
        balance = await kie.credits()
        made, edited = await asyncio.gather(
            kie.generate("Imagen 4", "a fox over real sockets", n=2, timeout=60),
            kie.edit(source, "make it red", model="Flux Kontext Pro", timeout=60),
        )
        after = await kie.credits()
    assert len(made) == 2
    assert all(a.path.is_file() and a.path.stat().st_size > 0 for a in [*made, *edited])
    assert after < balance
    assert manifest.pending() == []


async def test_wrong_key_is_an_auth_error_over_real_sockets(server: str, manifest: Any) -> None:
    """The server refuses an unknown key with 401, which the client reports as KieAuthError."""
    from kie_widgets.errors import KieAuthError

    async with KieClient(api_key="not-the-key", base_url=server, upload_url=server, manifest=manifest) as kie:
        with pytest.raises(KieAuthError):
            await kie.credits()
