"""Where each request goes: one table of kie's paths, per API family."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kie_widgets.errors import KieValidationError, Problem

#: The three generation families (the catalog's ``ModelSpec.family`` values).
FAMILIES: tuple[str, ...] = ("gpt4o", "flux-kontext", "market")

#: Paths by family and purpose. ``create`` paths take a POST on the API host, ``status`` a GET with
#: ``?taskId=``; ``common`` holds the family-independent endpoints, ``upload`` those of the upload host.
API_PATHS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "gpt4o": MappingProxyType(
            {
                "create": "/api/v1/gpt4o-image/generate",
                "status": "/api/v1/gpt4o-image/record-info",
                "download_url": "/api/v1/gpt4o-image/download-url",
            }
        ),
        "flux-kontext": MappingProxyType(
            {
                "create": "/api/v1/flux/kontext/generate",
                "status": "/api/v1/flux/kontext/record-info",
            }
        ),
        "market": MappingProxyType(
            {
                "create": "/api/v1/jobs/createTask",
                "status": "/api/v1/jobs/recordInfo",
            }
        ),
        "common": MappingProxyType(
            {
                "credits": "/api/v1/chat/credit",
                "download_url": "/api/v1/common/download-url",
            }
        ),
        "upload": MappingProxyType(
            {
                "stream": "/api/file-stream-upload",
                "base64": "/api/file-base64-upload",
                "url": "/api/file-url-upload",
            }
        ),
    }
)


def check_family(family: str) -> Mapping[str, str]:
    """The paths of a generation family, or a ``KieValidationError`` naming the known ones."""
    if family not in FAMILIES:
        raise KieValidationError(
            [Problem("family", f"unknown API family {family!r}", family, allowed=", ".join(FAMILIES))]
        )
    return API_PATHS[family]


def check_create_endpoint(family: str, endpoint: str) -> str:
    """The create path for ``family``; ``endpoint`` must be that path (as ``Plan.endpoint`` gives it)."""
    expected = check_family(family)["create"]
    if endpoint.rstrip("/") != expected:
        raise KieValidationError(
            [
                Problem(
                    "endpoint",
                    f"{endpoint!r} is not the create endpoint of the {family!r} family",
                    endpoint,
                    allowed=expected,
                )
            ]
        )
    return expected
