"""The session's side of an uncertain create: the run says so, the repeat is refused, dismiss clears it."""

from __future__ import annotations

from typing import Any

import pytest

from kie_widgets.errors import KieSubmitUncertainError, KieUncertainRepeatError, KieValidationError
from kie_widgets.session import Session, current_session


@pytest.fixture
def session(session_sandbox: Any) -> Session:
    return current_session()


def test_a_repeat_of_an_uncertain_create_fails_its_run_until_dismissed_or_forced(
    session: Session, session_sandbox: Any
) -> None:
    """The Studio's path: the repeat's handle fails with the reason, credits come back; dismiss clears it."""
    from kie_widgets.sandbox import Fault

    session_sandbox.add_fault(Fault(kind="timeout", route="create"))
    request = [{"model": "Imagen 4", "prompt": "a fox on a flaky line"}]
    first = session.submit(session.plan(request))
    with pytest.raises(KieSubmitUncertainError):
        first.result(timeout=30)
    assert first.handles[0].state == "uncertain"
    spent = session.budget.spent
    again = session.submit(session.plan(request))
    with pytest.raises(KieUncertainRepeatError):
        again.result(timeout=30)
    assert again.handles[0].state == "failed"
    assert "kie.ai/logs" in again.handles[0].message
    assert session.budget.spent == pytest.approx(spent)  # nothing was sent: the estimate came back
    (record,) = [r for r in session.pending() if r["state"] == "uncertain"]
    with pytest.raises(KieValidationError):
        session.dismiss("no-such-record")
    session.dismiss(record["journal_id"], "checked kie's logs: no such task")
    assert session.pending() == []
    assert len(session.submit(session.plan(request)).result(timeout=30)) == 1
