"""Session: plans that are exactly what is sent, the budget, runs with handles and events, lookups."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest

from kie_widgets.errors import KieBudgetError, KieValidationError
from kie_widgets.session import Session, current_session


def _creates(sandbox: Any) -> list[Any]:
    from kie_widgets.sandbox._routes import CREATE_ROUTES

    return [r for r in sandbox.requests if r.path in CREATE_ROUTES]


@pytest.fixture
def session(session_sandbox: Any) -> Session:
    return current_session()


def test_plan_splits_n_into_the_models_batch_sizes(session: Session) -> None:
    """4o Image makes 1, 2 or 4 images a request: n=3 is two plans (2 + 1); Imagen 4 one per image."""
    plans = session.plan(
        [
            {"model": "4o Image", "prompt": "a fox", "n": 3, "aspect_ratio": "3:2"},
            {"model": "Imagen 4", "prompt": "a fox", "n": 2, "seed": 5},
        ]
    )
    assert [(p.display_name, p.n, p.request, p.part) for p in plans] == [
        ("4o Image", 2, 0, 0),
        ("4o Image", 1, 0, 1),
        ("Imagen 4", 1, 1, 0),
        ("Imagen 4", 1, 1, 1),
    ]
    assert [p.body["input"]["seed"] for p in plans[2:]] == ["5", "6"]  # one seed per request
    assert session.estimate(plans) == 3 * 6 + 2 * 8


@pytest.mark.parametrize("n", [0, -1, 2.5, "2", True, 10**6])
def test_a_bad_n_is_refused_before_anything_is_sent(session: Session, session_sandbox: Any, n: Any) -> None:
    """n must be a whole number within the cap; the error names it, and the sandbox sees nothing."""
    with pytest.raises(KieValidationError, match="n"):
        session.plan([{"model": "Imagen 4", "prompt": "a fox", "n": n}])
    assert session_sandbox.requests == []


def test_the_budget_refuses_a_run_that_would_exceed_it(session: Session, session_sandbox: Any) -> None:
    """A run over the budget raises KieBudgetError before any request; within it, it is charged."""
    session.budget.limit = 10
    plans = session.plan([{"model": "Imagen 4", "prompt": "a fox", "n": 2}])
    with pytest.raises(KieBudgetError, match="budget of 10"):
        session.submit(plans)
    assert session_sandbox.requests == []
    one = session.plan([{"model": "Imagen 4", "prompt": "a fox"}])
    session.submit(one).result(timeout=30)
    assert session.budget.spent == 8


def test_a_reused_result_gives_its_credits_back(session: Session) -> None:
    """Reusing an earlier result costs nothing, so the budget is refunded."""
    plans = session.plan([{"model": "Imagen 4", "prompt": "a fox"}])
    session.submit(plans).result(timeout=30)
    run = session.submit(session.plan([{"model": "Imagen 4", "prompt": "a fox"}]), reuse=True)
    run.result(timeout=30)
    assert run.handles[0].state == "reused"
    assert session.budget.spent == 8


def test_submit_returns_at_once_and_events_arrive_on_the_named_thread(
    session: Session, wait_until: Any
) -> None:
    """The run comes back before kie answers; events reach an executor's thread, in order, to done."""
    seen: list[tuple[str, str]] = []
    executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="front-end")
    plans = session.plan([{"model": "Imagen 4", "prompt": "a fox"}])
    run = session.submit(
        plans, on_event=lambda e: seen.append((threading.current_thread().name, e.state)), on=executor
    )
    assert not run.done()
    (asset,) = run.result(timeout=30)
    wait_until(lambda: seen and seen[-1][1] == "done")
    assert {name.split("_")[0] for name, _ in seen} == {"front-end"}
    states = [s for _, s in seen]
    assert states[0] == "planned"
    assert states.index("queued") < states.index("done")
    assert run.handles[0].assets == [asset]


def test_queued_events_wait_for_drain_on_the_callers_thread(session: Session) -> None:
    """With on="queue", events are kept until the front end drains them itself."""
    plans = session.plan([{"model": "Imagen 4", "prompt": "a fox"}])
    run = session.submit(plans, on_event=lambda e: None, on="queue")
    run.result(timeout=30)
    states = [e.state for e in run.drain()]
    assert states[0] == "planned"
    assert states[-1] == "done"
    assert run.drain() == []


def test_stop_waiting_keeps_the_task_pending_and_others_finish(
    session: Session, session_sandbox: Any
) -> None:
    """Stopping one task's wait leaves it journaled; its sibling still finishes."""
    session_sandbox.config.generating = 3.0
    run = session.submit(session.plan([{"model": "Imagen 4", "prompt": "a fox", "n": 2}]))
    first, second = run.handles
    while first.task_id is None:
        threading.Event().wait(0.02)
    first.stop_waiting()
    with pytest.raises(Exception, match="request"):
        run.result(timeout=30)
    assert first.state == "stopped waiting"
    assert second.state == "done"
    pending = [r["task_id"] for r in session.pending() if r.get("state") == "pending"]
    assert pending == [first.task_id]
    collected = session.resume().result(timeout=30)
    assert [a.task_id for a in collected] == [first.task_id]
    assert len(_creates(session_sandbox)) == 2


def test_results_come_back_in_request_order(session: Session) -> None:
    """A compare's assets are in model order, then variant order, whatever finished first."""
    plans = session.plan(
        [
            {"model": "Seedream 4.5", "prompt": "a fox"},
            {"model": "Imagen 4", "prompt": "a fox", "n": 2},
        ]
    )
    assets = session.submit(plans).result(timeout=30)
    assert [a.model for a in assets] == ["Seedream 4.5", "Imagen 4", "Imagen 4"]


def test_follow_ups_record_their_parent_and_operation(session: Session) -> None:
    """Upscale, remove background and vary: each is a run whose result names its source."""
    (source,) = session.submit(session.plan([{"model": "Imagen 4", "prompt": "a fox", "seed": 3}])).result(30)
    (big,) = session.upscale(source).result(timeout=30)
    (cut,) = session.remove_background(source.id).result(timeout=30)
    (other,) = session.vary(source).result(timeout=30)
    for asset, operation in ((big, "upscale"), (cut, "remove-background")):
        entry = session.manifest.get(asset.id)
        assert entry["kie"]["operation"] == operation
        assert entry["kie"]["parents"] == [source.id]
    varied = session.manifest.get(other.id)["kie"]
    assert varied["params"]["prompt"] == "a fox"
    assert varied["seed"] != 3


def test_keep_marks_the_entry_without_touching_ids_or_versions(session: Session) -> None:
    """Keep writes kie.kept and nothing of the seed's fields."""
    (asset,) = session.submit(session.plan([{"model": "Imagen 4", "prompt": "a fox"}])).result(30)
    before = session.manifest.get(asset.id)
    session.keep(asset)
    after = session.manifest.get(asset.id)
    assert after["kie"]["kept"] is True
    assert {k: v for k, v in after.items() if k != "kie"} == {k: v for k, v in before.items() if k != "kie"}


def test_history_filters_by_text_scene_and_model(session: Session) -> None:
    """history() keeps what matches every filter, oldest first."""
    session.submit(session.plan([{"model": "Imagen 4", "prompt": "a red fox"}]), scene_id=1).result(30)
    session.submit(session.plan([{"model": "Seedream 4.5", "prompt": "a blue whale"}]), scene_id=2).result(30)
    assert [e["prompt"] for e in session.history(text="fox")] == ["a red fox"]
    assert [e["prompt"] for e in session.history(scene=2)] == ["a blue whale"]
    assert [e["model"] for e in session.history(model="imagen")] == ["Imagen 4"]
    assert len(session.history()) == 2


def test_asset_and_recipe_lookups(session: Session) -> None:
    """asset(id) gives the Asset, recipe(id) how it was made; an unknown id is None."""
    (asset,) = session.submit(session.plan([{"model": "Imagen 4", "prompt": "a fox"}])).result(30)
    assert session.asset(asset.id) == asset
    assert session.recipe(asset.id)["model"] == "Imagen 4"
    assert session.asset("img-999") is None


def test_a_history_page_is_newest_first_with_the_total(session: Session) -> None:
    """history_page() gives one page newest first, the count of all matches, and a kept-only view."""
    plans = session.plan([{"model": "Imagen 4", "prompt": f"fox {i}"} for i in range(5)])
    assets = session.submit(plans).result(timeout=30)
    by_age = sorted(session.entries(), key=lambda e: e["id"])
    page, total = session.history_page(offset=0, limit=2)
    assert total == 5
    assert [e["id"] for e in page] == [e["id"] for e in by_age[::-1][:2]]
    second, _ = session.history_page(offset=4, limit=2)
    assert [e["id"] for e in second] == [by_age[0]["id"]]
    session.keep(assets[2])
    kept, total_kept = session.history_page(kept_only=True)
    assert (total_kept, [e["id"] for e in kept]) == (1, [assets[2].id])
