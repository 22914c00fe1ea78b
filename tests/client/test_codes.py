"""Every kie answer code, as an envelope code or an HTTP status, maps to one error class with advice."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from client_helpers import PATH_CREATE, PATH_CREDIT, PATH_RECORD, Router, envelope, raw

from kie_widgets.client import ENVELOPE_CODES, KieAPI, RetryPolicy, rule_for
from kie_widgets.errors import (
    KieAPIError,
    KieAuthError,
    KieInsufficientCreditsError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieTaskFailedError,
    KieUnavailableError,
    KieUsageCapError,
)

ENVELOPE_TABLE = [
    (400, KieRequestError),
    (401, KieAuthError),
    (402, KieInsufficientCreditsError),
    (404, KieNotFoundError),
    (405, KieRequestError),
    (408, KieTaskFailedError),
    (422, KieRequestError),
    (429, KieRateLimitError),
    (433, KieUsageCapError),
    (451, KieRequestError),
    (455, KieUnavailableError),
    (500, KieServerError),
    (501, KieTaskFailedError),
    (505, KieRequestError),
    (550, KieUnavailableError),
]

HTTP_TABLE = [
    (400, KieRequestError),
    (401, KieAuthError),
    (402, KieInsufficientCreditsError),
    (403, KieAuthError),
    (404, KieNotFoundError),
    (405, KieRequestError),
    (418, KieRequestError),
    (422, KieRequestError),
    (429, KieRateLimitError),
    (500, KieUnavailableError),
    (502, KieUnavailableError),
    (503, KieUnavailableError),
    (504, KieUnavailableError),
    (520, KieUnavailableError),
]


def test_envelope_table_covers_every_documented_code() -> None:
    """The table has a rule for each code kie documents (kie-api.md §1.4, and 433 from kie's newer list)."""
    documented = {400, 401, 402, 404, 405, 408, 422, 429, 433, 451, 455, 500, 501, 505, 550}
    assert documented <= set(ENVELOPE_CODES)
    assert {code for code, _ in ENVELOPE_TABLE} == documented


@pytest.mark.parametrize(("code", "error"), ENVELOPE_TABLE)
@pytest.mark.anyio
async def test_envelope_code_on_http_200_raises_its_class(
    code: int, error: type[KieAPIError], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """An error code inside an HTTP 200 envelope raises the table's class with endpoint, code and advice."""
    router.on(PATH_CREDIT, envelope(code, f"kie says {code}"))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(error) as caught:
            await api.credits()
    exc = caught.value
    assert type(exc) is error
    assert exc.code == code
    assert exc.http_status == 200
    assert exc.endpoint == PATH_CREDIT
    assert exc.kie_message == f"kie says {code}"
    assert f"kie says {code}" in str(exc)
    assert ENVELOPE_CODES[code].todo in str(exc)


@pytest.mark.parametrize(("status", "error"), HTTP_TABLE)
@pytest.mark.anyio
async def test_bare_http_status_raises_its_class(
    status: int, error: type[KieAPIError], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A non-2xx HTTP status with a non-JSON body raises the class the table gives that status."""
    router.on(PATH_CREDIT, raw(status, "<html>gateway says no</html>"))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(error) as caught:
            await api.credits()
    assert type(caught.value) is error
    assert caught.value.code == status
    assert caught.value.http_status == status
    assert f"HTTP {status}" in str(caught.value)


@pytest.mark.anyio
async def test_success_code_is_no_error(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """Code 200 in an HTTP 200 envelope is a success and returns the data."""
    router.on(PATH_CREDIT, envelope(200, "success", 42))
    async with make_api() as api:
        assert await api.credits() == 42.0


@pytest.mark.anyio
async def test_envelope_code_wins_over_http_status(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """When both carry a code, kie's envelope code decides the class (HTTP 500 with code 422 is a 422)."""
    router.on(PATH_CREDIT, envelope(422, "This field is required", status=500))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(KieRequestError) as caught:
            await api.credits()
    assert caught.value.code == 422
    assert caught.value.http_status == 500


@pytest.mark.anyio
async def test_cloudflare_1010_is_an_auth_error_with_the_bot_filter_hint(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A bare 403 "error code: 1010" says it is the host's bot filter, not the key."""
    router.on(PATH_CREDIT, raw(403, "error code: 1010"))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(KieAuthError) as caught:
            await api.credits()
    text = str(caught.value)
    assert "bot filter" in text
    assert "User-Agent" in text


@pytest.mark.anyio
async def test_plain_403_is_an_auth_error_without_the_bot_filter_hint(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Any other 403 is an auth error that points at the key."""
    router.on(PATH_CREDIT, raw(403, "Forbidden"))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(KieAuthError) as caught:
            await api.credits()
    assert "bot filter" not in str(caught.value)
    assert "KIE_API_KEY" in str(caught.value)


@pytest.mark.anyio
async def test_status_errors_carry_the_task_id(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """An error raised while reading a task names the task."""
    router.on(PATH_RECORD, envelope(401, "You do not have access permissions"))
    async with make_api() as api:
        with pytest.raises(KieAuthError) as caught:
            await api.status("market", "task-77")
    assert caught.value.task_id == "task-77"
    assert "task-77" in str(caught.value)


@pytest.mark.anyio
async def test_rate_limit_error_carries_retry_after(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A 429 error remembers how long kie asked us to wait."""
    router.on(PATH_CREATE, raw(429, "slow down", headers={"Retry-After": "30"}))
    async with make_api(retry=RetryPolicy(create_attempts=1)) as api:
        with pytest.raises(KieRateLimitError) as caught:
            await api.create("market", PATH_CREATE, {"model": "z-image", "input": {}})
    assert caught.value.retry_after == 30.0


def test_unknown_codes_fall_back_to_the_base_class() -> None:
    """A code nobody documented raises the base KieAPIError rather than a wrong subclass."""
    assert rule_for(999, http_level=False).error is KieAPIError
    assert rule_for(302, http_level=True).error is KieAPIError


@pytest.mark.anyio
async def test_unreadable_body_is_reported_with_a_clear_error(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """An HTTP 200 whose body is not kie's envelope raises KieAPIError quoting the body."""
    router.on(PATH_CREDIT, raw(200, "<html>captive portal</html>"))
    async with make_api(retry=RetryPolicy.none()) as api:
        with pytest.raises(KieAPIError) as caught:
            await api.credits()
    assert "captive portal" in str(caught.value)
    assert caught.value.code is None


@pytest.mark.anyio
async def test_credits_reject_a_non_numeric_balance(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A balance that is not a number is an error, not a zero."""
    router.on(PATH_CREDIT, envelope(200, "success", {"credits": "lots"}))
    async with make_api() as api:
        with pytest.raises(KieAPIError, match="not a number"):
            await api.credits()


@pytest.mark.anyio
async def test_numeric_string_balance_is_read(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A balance sent as a numeric string (fractional credits) is read as a float."""
    router.on(PATH_CREDIT, envelope(200, "success", "12.5"))
    async with make_api() as api:
        assert await api.credits() == 12.5


@pytest.mark.anyio
async def test_402_on_create_carries_the_balance(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A create refused for credits reports the account's balance, read once right after."""
    router.on(PATH_CREATE, envelope(402, "insufficient credits"))
    router.on(PATH_CREDIT, envelope(200, "success", 3.5))
    async with make_api() as api:
        with pytest.raises(KieInsufficientCreditsError) as caught:
            await api.create("market", PATH_CREATE, {"model": "z-image", "input": {}})
    assert caught.value.balance == 3.5
    assert "3.5 credits" in str(caught.value)
    assert caught.value.code == 402
    assert [c.path for c in router.calls] == [PATH_CREATE, PATH_CREDIT]


@pytest.mark.anyio
async def test_402_survives_a_failing_balance_read(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """When the balance cannot be read, the 402 is still raised, without a balance."""
    router.on(PATH_CREATE, envelope(402, "insufficient credits"))
    router.on(PATH_CREDIT, raw(503, "busy"))
    async with make_api() as api:
        with pytest.raises(KieInsufficientCreditsError) as caught:
            await api.create("market", PATH_CREATE, {"model": "z-image", "input": {}})
    assert caught.value.balance is None
    assert len(router.calls_to(PATH_CREATE)) == 1


@pytest.mark.parametrize(
    ("kie_message", "named"),
    [
        ("Daily usage limit reached for this key", "daily usage cap"),
        ("hourly limit exceeded", "hourly usage cap"),
        ("the total quota of this key is used up", "total usage cap"),
        ("limit reached for this data", "a usage cap set for it"),
    ],
)
def test_usage_cap_433_names_the_cap_kie_names(kie_message: str, named: str) -> None:
    """A 433 says which of the key's caps was hit when kie's message tells, and what to do about it."""
    from kie_widgets.client import api_error

    exc = api_error(433, endpoint=PATH_CREATE, http_status=200, kie_message=kie_message)
    assert isinstance(exc, KieUsageCapError)
    assert named in str(exc)
    assert "https://kie.ai/api-key" in str(exc)
