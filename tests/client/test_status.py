"""Every documented record shape of the three families becomes the same TaskStatus; garbage is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from client_helpers import PATH_RECORD, Router, envelope, raw

from kie_widgets.client import KieAPI, RetryPolicy, TaskStatus, parse_status
from kie_widgets.errors import KieAPIError, KieNotFoundError, KieRequestError

URL_A = "https://tempfile.aiquickdraw.com/a.png"
URL_B = "https://tempfile.aiquickdraw.com/b.png"

# (id, family, data, expected fields)
SHAPES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "4o generating, progress as a string, response null",
        "gpt4o",
        {"taskId": "t", "successFlag": 0, "progress": "0.35", "response": None, "status": "GENERATING"},
        {"state": "generating", "progress": 0.35, "result_urls": ()},
    ),
    (
        "4o success with response.resultUrls (OpenAPI) and ms times",
        "gpt4o",
        {
            "successFlag": 1,
            "progress": "1.00",
            "response": {"resultUrls": [URL_A, URL_B]},
            "createTime": 1_700_000_000_000,
            "completeTime": 1_700_000_042_500,
        },
        {
            "state": "success",
            "progress": 1.0,
            "result_urls": (URL_A, URL_B),
            "cost_time_ms": 42_500,
            "created_at": 1_700_000_000.0,
        },
    ),
    (
        "4o success with response.result_urls (quickstart) and date strings",
        "gpt4o",
        {
            "successFlag": 1,
            "response": {"result_urls": [URL_A]},
            "createTime": "2024-01-15 10:30:00",
            "completeTime": "2024-01-15 10:35:00",
        },
        {"state": "success", "result_urls": (URL_A,), "cost_time_ms": 300_000},
    ),
    (
        "4o successFlag as a numeric string and response as a JSON string",
        "gpt4o",
        {"successFlag": "1", "response": json.dumps({"resultUrls": [URL_A]})},
        {"state": "success", "result_urls": (URL_A,)},
    ),
    (
        "4o failure with errorCode and errorMessage",
        "gpt4o",
        {"successFlag": 2, "errorCode": 400, "errorMessage": "image flagged", "status": "GENERATE_FAILED"},
        {"state": "failed", "fail_code": "400", "fail_message": "image flagged"},
    ),
    (
        "4o without successFlag falls back to the status string",
        "gpt4o",
        {"status": "CREATE_TASK_FAILED", "errorCode": 451, "errorMessage": "could not fetch filesUrl"},
        {"state": "failed", "fail_code": "451"},
    ),
    (
        "4o paramJson is echoed as the request",
        "gpt4o",
        {"successFlag": 0, "progress": "0.10", "paramJson": json.dumps({"prompt": "a cat", "size": "1:1"})},
        {"state": "generating", "request": {"prompt": "a cat", "size": "1:1"}},
    ),
    (
        "Flux generating",
        "flux-kontext",
        {"taskId": "t", "successFlag": 0, "response": None},
        {"state": "generating", "progress": None},
    ),
    (
        "Flux success with resultImageUrl (a single string) and ISO times",
        "flux-kontext",
        {
            "successFlag": 1,
            "response": {"originImageUrl": URL_B, "resultImageUrl": URL_A},
            "createTime": "2024-03-20T10:30:00Z",
            "completeTime": "2024-03-20T10:30:12Z",
        },
        {"state": "success", "result_urls": (URL_A,), "cost_time_ms": 12_000},
    ),
    (
        "Flux success with only originImageUrl",
        "flux-kontext",
        {"successFlag": 1, "response": {"originImageUrl": URL_B}},
        {"state": "success", "result_urls": (URL_B,)},
    ),
    (
        "Flux CREATE_TASK_FAILED (2)",
        "flux-kontext",
        {"successFlag": 2, "errorCode": 400, "errorMessage": "prompt flagged"},
        {"state": "failed", "fail_code": "400", "fail_message": "prompt flagged"},
    ),
    (
        "Flux GENERATE_FAILED (3)",
        "flux-kontext",
        {"successFlag": 3, "errorCode": 501, "errorMessage": "generation failed"},
        {"state": "failed", "fail_code": "501"},
    ),
    (
        "Market waiting",
        "market",
        {"taskId": "t", "state": "waiting", "resultJson": None, "failCode": "", "failMsg": ""},
        {"state": "queued", "fail_code": None, "fail_message": None},
    ),
    (
        "Market queuing",
        "market",
        {"state": "queuing"},
        {"state": "queued"},
    ),
    (
        "Market generating with percent progress",
        "market",
        {"state": "generating", "progress": 45},
        {"state": "generating", "progress": 0.45},
    ),
    (
        "Market success: resultJson and param are JSON strings, costTime in ms",
        "market",
        {
            "taskId": "t",
            "model": "google/imagen4",
            "state": "success",
            "param": json.dumps({"model": "google/imagen4", "input": {"prompt": "a cat"}}),
            "resultJson": json.dumps({"resultUrls": [URL_A]}),
            "failCode": "",
            "failMsg": "",
            "costTime": 15000,
            "completeTime": 1698765432000,
            "createTime": 1698765400000,
            "creditsConsumed": 8,
        },
        {
            "state": "success",
            "result_urls": (URL_A,),
            "cost_time_ms": 15000,
            "credits_consumed": 8.0,
            "request": {"model": "google/imagen4", "input": {"prompt": "a cat"}},
            "completed_at": 1698765432.0,
        },
    ),
    (
        "Market success with resultJson already an object",
        "market",
        {"state": "success", "resultJson": {"resultUrls": [URL_A, URL_B]}},
        {"state": "success", "result_urls": (URL_A, URL_B)},
    ),
    (
        "Market success with snake_case result_urls",
        "market",
        {"state": "success", "resultJson": json.dumps({"result_urls": [URL_B]})},
        {"state": "success", "result_urls": (URL_B,)},
    ),
    (
        "Market fail with failCode and failMsg",
        "market",
        {"state": "fail", "failCode": "500", "failMsg": "Internal Error", "resultJson": None},
        {"state": "failed", "fail_code": "500", "fail_message": "Internal Error"},
    ),
    (
        "Market record that carries status instead of state",
        "market",
        {"status": "GENERATING"},
        {"state": "generating"},
    ),
    (
        "Market unreadable param is ignored, not fatal",
        "market",
        {"state": "waiting", "param": "{not json"},
        {"state": "queued", "request": None},
    ),
]


@pytest.mark.parametrize(("family", "data", "expected"), [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_documented_record_shapes_normalise(
    family: str, data: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Each documented variant of a record parses to the expected normalised fields."""
    status = parse_status(family, "t", data, endpoint="/x")
    assert status.family == family
    assert status.task_id == "t"
    assert status.not_visible_yet is False
    assert status.raw == data
    for name, value in expected.items():
        assert getattr(status, name) == value, name
    assert status.done == (status.state in ("success", "failed"))


GARBAGE: list[tuple[str, str, object, str]] = [
    ("unknown successFlag", "gpt4o", {"successFlag": 7}, "successFlag=7"),
    ("Flux flag out of range", "flux-kontext", {"successFlag": 4}, "successFlag=4"),
    ("boolean successFlag", "gpt4o", {"successFlag": True}, "successFlag=True"),
    ("unknown Market state", "market", {"state": "exploded"}, "state='exploded'"),
    ("no state at all", "market", {"taskId": "t"}, "no state or status field"),
    ("record is a list", "market", ["state", "success"], "not an object"),
    ("success without URLs", "market", {"state": "success", "resultJson": "{}"}, "no result URL"),
    ("success with empty 4o response", "gpt4o", {"successFlag": 1, "response": None}, "no result URL"),
    ("resultJson not JSON", "market", {"state": "success", "resultJson": "{broken"}, "not valid JSON"),
    (
        "result URL that is not a URL",
        "market",
        {"state": "success", "resultJson": json.dumps({"resultUrls": ["file:///etc/passwd"]})},
        "not an http(s) URL",
    ),
    (
        "result URLs of the wrong type",
        "gpt4o",
        {"successFlag": 1, "response": {"resultUrls": {"a": 1}}},
        "should be a URL or a list",
    ),
]


@pytest.mark.parametrize(("family", "data", "needle"), [g[1:] for g in GARBAGE], ids=[g[0] for g in GARBAGE])
def test_garbage_records_are_rejected_with_a_clear_error(family: str, data: object, needle: str) -> None:
    """A record that matches no documented variant raises KieAPIError naming the field and value."""
    with pytest.raises(KieAPIError) as caught:
        parse_status(family, "task-9", data, endpoint="/rec")
    assert needle in str(caught.value)
    assert caught.value.task_id == "task-9"
    assert "task-9" in str(caught.value)


NOT_VISIBLE = [
    ("envelope 404", envelope(404, "task not found")),
    ("envelope 422 recordInfo is null", envelope(422, "recordInfo is null")),
    ("envelope 422 record is null", envelope(422, "record is null")),
    ("HTTP 404 with an envelope", envelope(404, "Not Found", status=404)),
    ("success envelope without a record", envelope(200, "success", None)),
]


@pytest.mark.parametrize("reply", [r for _, r in NOT_VISIBLE], ids=[i for i, _ in NOT_VISIBLE])
@pytest.mark.anyio
async def test_records_not_visible_yet_are_pending_not_errors(
    reply: Callable[..., Any], router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Right after creation, a missing record reads as pending and not visible yet, in one request."""
    router.on(PATH_RECORD, reply)
    async with make_api() as api:
        status = await api.status("market", "fresh-1")
    assert status == TaskStatus(task_id="fresh-1", family="market", state="pending", not_visible_yet=True)
    assert not status.done
    assert len(router.calls) == 1


@pytest.mark.parametrize("code", [501, 408])
@pytest.mark.anyio
async def test_terminal_codes_in_a_record_are_failures(
    code: int, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """An envelope 501 or 408 on a status read is a failed task, not an exception or a retry."""
    router.on(PATH_RECORD, envelope(code, "generation failed upstream"))
    async with make_api() as api:
        status = await api.status("market", "t-1")
    assert status.state == "failed"
    assert status.done
    assert status.fail_code == str(code)
    assert status.fail_message == "generation failed upstream"
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_other_422_on_status_fails_fast(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A 422 that is not about a missing record raises at once."""
    router.on(PATH_RECORD, envelope(422, "taskId is invalid"))
    async with make_api() as api:
        with pytest.raises(KieRequestError):
            await api.status("market", "t-1")
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_http_404_without_an_envelope_is_a_wrong_endpoint(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A bare HTTP 404 page (a wrong KIE_BASE_URL) raises instead of waiting for a record forever."""
    router.on(PATH_RECORD, raw(404, "<html>404 page</html>"))
    async with make_api() as api:
        with pytest.raises(KieNotFoundError):
            await api.status("market", "t-1")


@pytest.mark.parametrize(
    ("family", "path"),
    [
        ("gpt4o", "/api/v1/gpt4o-image/record-info"),
        ("flux-kontext", "/api/v1/flux/kontext/record-info"),
        ("market", "/api/v1/jobs/recordInfo"),
    ],
)
@pytest.mark.anyio
async def test_status_reads_the_family_endpoint(
    family: str, path: str, router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """Each family's status is a GET on its own record endpoint with the task id as a query parameter."""
    data = {"successFlag": 0, "state": "generating"}
    router.on(path, envelope(200, "success", data))
    async with make_api() as api:
        status = await api.status(family, "abc")
    assert status.state == "generating"
    (call,) = router.calls
    assert (call.method, call.path, call.params) == ("GET", path, {"taskId": "abc"})


@pytest.mark.anyio
async def test_garbage_record_is_not_retried(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """A well-formed envelope around an unknown state raises once; sending again would not help."""
    router.on(PATH_RECORD, envelope(200, "success", {"state": "teleporting"}))
    async with make_api() as api:
        with pytest.raises(KieAPIError, match="teleporting"):
            await api.status("market", "t-1")
    assert len(router.calls) == 1


@pytest.mark.anyio
async def test_unknown_family_is_a_validation_error(router: Router, make_api: Callable[..., KieAPI]) -> None:
    """Asking for a family that does not exist lists the ones that do, and sends nothing."""
    from kie_widgets.errors import KieValidationError

    async with make_api() as api:
        with pytest.raises(KieValidationError, match="market"):
            await api.status("midjourney", "t-1")
    assert router.calls == []


@pytest.mark.anyio
async def test_status_retry_budget_is_used_for_unreadable_bodies(
    router: Router, make_api: Callable[..., KieAPI]
) -> None:
    """A truncated body on a status read is transient: it is read again."""
    router.on(PATH_RECORD, raw(200, '{"code": 200, "da'), envelope(200, "success", {"state": "waiting"}))
    async with make_api(retry=RetryPolicy(jitter=0.0)) as api:
        status = await api.status("market", "t-1")
    assert status.state == "queued"
    assert len(router.calls) == 2
