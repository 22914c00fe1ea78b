"""Helpers shared by the sandbox tests (raw httpx against the in-process transport)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx
from PIL import Image

from kie_widgets.config import SANDBOX_API_KEY
from kie_widgets.sandbox import Sandbox

#: The ``make_sandbox`` fixture: keyword arguments become ``SandboxConfig`` fields.
MakeSandbox = Callable[..., Sandbox]

HEADERS = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "User-Agent": "kie-widgets-tests/1.0"}
CREATE = {
    "gpt4o": "/api/v1/gpt4o-image/generate",
    "flux": "/api/v1/flux/kontext/generate",
    "market": "/api/v1/jobs/createTask",
}
STATUS = {
    "gpt4o": "/api/v1/gpt4o-image/record-info",
    "flux": "/api/v1/flux/kontext/record-info",
    "market": "/api/v1/jobs/recordInfo",
}
BODIES: dict[str, dict[str, Any]] = {
    "gpt4o": {"prompt": "a red fox in snow", "size": "3:2"},
    "flux": {"prompt": "a blue whale", "aspectRatio": "16:9", "model": "flux-kontext-max"},
    "market": {"model": "google/imagen4", "input": {"prompt": "a green owl", "aspect_ratio": "9:16"}},
}


def client_for(sb: Sandbox, **kwargs: Any) -> httpx.AsyncClient:
    """A raw httpx client on the sandbox's in-process transport."""
    headers = kwargs.pop("headers", HEADERS)
    return httpx.AsyncClient(transport=sb.transport, base_url="https://api.kie.ai", headers=headers, **kwargs)


async def create(http: httpx.AsyncClient, family: str, body: dict[str, Any] | None = None) -> str:
    """Create a task and return its id (asserting kie's success envelope)."""
    r = await http.post(CREATE[family], json=body if body is not None else BODIES[family])
    assert r.status_code == 200
    payload = r.json()
    assert payload["code"] == 200, payload
    return str(payload["data"]["taskId"])


async def record(http: httpx.AsyncClient, family: str, task_id: str) -> dict[str, Any]:
    """The full status envelope of a task."""
    r = await http.get(STATUS[family], params={"taskId": task_id})
    assert r.status_code == 200
    return dict(r.json())


def result_urls(family: str, data: dict[str, Any]) -> list[str]:
    """Result URLs from a successful record of any family."""
    if family == "market":
        return list(json.loads(data["resultJson"])["resultUrls"])
    if family == "gpt4o":
        return list(data["response"]["resultUrls"])
    return [data["response"]["resultImageUrl"]]


def image_of(content: bytes) -> Image.Image:
    """Decode downloaded bytes with Pillow."""
    im = Image.open(io.BytesIO(content))
    im.load()
    return im
