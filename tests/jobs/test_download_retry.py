"""Result downloads retry on the client's RetryPolicy: its download budget and its download backoff."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from jobs_helpers import field_of

from kie_widgets import errors as E
from kie_widgets.client import RetryPolicy

pytestmark = pytest.mark.anyio

FRESH_LINK = "/api/v1/common/download-url"


@pytest.mark.parametrize(
    ("policy", "waits"),
    [
        (RetryPolicy(jitter=0.0), [2.0, 4.0]),
        (
            RetryPolicy(download_attempts=4, download_base_delay=1.0, download_max_delay=3.0, jitter=0.0),
            [1, 2, 3],
        ),
        (RetryPolicy(download_attempts=1), []),
    ],
)
async def test_an_expired_result_is_fetched_again_as_often_and_as_slowly_as_the_policy_says(
    policy: RetryPolicy, waits: list[float], make_sandbox: Any, make_client: Any, manifest: Any
) -> None:
    """Each try of a link that stays expired asks for a fresh one; tries and waits follow the policy."""
    from kie_widgets.sandbox import Fault

    sb = make_sandbox()
    sb.add_fault(Fault(kind="expired", times=None))
    async with make_client(sb) as kie:
        kie.api.retry = policy
        with pytest.raises(E.KieNotFoundError):
            await kie.generate("Imagen 4", "a fox that keeps its link")
    asked = [field_of(r, "at") for r in sb.requests if field_of(r, "path") == FRESH_LINK]
    assert len(asked) == policy.download_attempts
    assert [b - a for a, b in itertools.pairwise(asked)] == pytest.approx(waits)
    assert [p["state"] for p in manifest.pending()] == ["pending"]
