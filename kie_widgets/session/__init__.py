"""The session layer: the one service the magic and the Studio stand on (DESIGN.md §2).

::

    session = current_session()
    plans = session.plan([{"model": "Imagen 4", "prompt": "a lighthouse", "n": 2}])
    session.estimate(plans)                  # credits for the whole request
    run = session.submit(plans, context=ctx) # returns at once
    run.subscribe(show, on="thread")         # TaskEvents: planned → ... → done / failed / uncertain
    assets = run.result()                    # or: await run; run.handles[0].stop_waiting()

Layout: ``_run`` (Run, TaskHandle, TaskEvent), ``_history`` (history filters), ``_session``
(Session, Budget, current_session).
"""

from __future__ import annotations

from kie_widgets.session._history import batch_of, created_at, select_entries
from kie_widgets.session._run import FINAL_STATES, STATES, Run, TaskEvent, TaskHandle
from kie_widgets.session._session import Budget, Request, Session, current_session, use_session

__all__ = [
    "FINAL_STATES",
    "STATES",
    "Budget",
    "Request",
    "Run",
    "Session",
    "TaskEvent",
    "TaskHandle",
    "batch_of",
    "created_at",
    "current_session",
    "select_entries",
    "use_session",
]
