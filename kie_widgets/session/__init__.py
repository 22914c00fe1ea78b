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

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kie_widgets.session._context import CellContext, capture, scene_number
    from kie_widgets.session._history import batch_of, created_at, select_entries
    from kie_widgets.session._run import FINAL_STATES, STATES, Run, TaskEvent, TaskHandle
    from kie_widgets.session._session import Budget, Request, Session, current_session, use_session
    from kie_widgets.session._values import parse_value, parse_values

# Loaded on first use: the notebook layer needs the cell context at %load_ext, not the client.
_LAZY = {
    "CellContext": "_context",
    "capture": "_context",
    "scene_number": "_context",
    "batch_of": "_history",
    "created_at": "_history",
    "select_entries": "_history",
    "FINAL_STATES": "_run",
    "STATES": "_run",
    "Run": "_run",
    "TaskEvent": "_run",
    "TaskHandle": "_run",
    "Budget": "_session",
    "Request": "_session",
    "Session": "_session",
    "current_session": "_session",
    "use_session": "_session",
    "parse_value": "_values",
    "parse_values": "_values",
}
__all__ = [
    "FINAL_STATES",
    "STATES",
    "Budget",
    "CellContext",
    "Request",
    "Run",
    "Session",
    "TaskEvent",
    "TaskHandle",
    "batch_of",
    "capture",
    "created_at",
    "current_session",
    "parse_value",
    "parse_values",
    "scene_number",
    "select_entries",
    "use_session",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kie_widgets.session' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"kie_widgets.session.{module}"), name)
    globals()[name] = value
    return value
