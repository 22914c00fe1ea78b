"""An offline kie.ai: the three image API families, the upload host and the file hosts, emulated.

Faithful to ``kie-api.md`` including its quirks: errors as HTTP 200 with a code in the envelope
(``SandboxConfig.http_errors`` switches to real statuses), ``param``/``resultJson``/``paramJson`` as
JSON strings, millisecond timestamps, a record that is not visible right after create, a create
limiter whose 429 does not create the task, a credit ledger debited only on success, result URLs
that expire and 20-minute download links. Generated files are real PNG/JPEG placeholders with the
model, prompt and a derived colour drawn in.

Two ways in::

    sb = Sandbox(SandboxConfig(...), clock=FakeClock())
    async with httpx.AsyncClient(transport=sb.transport) as http: ...

    python -m kie_widgets.sandbox --port 8765 --faults "http:429@create*2,timeout@create+3"

Inside, one module per concern, imports pointing one way (``tests/sandbox/test_sandbox_layout.py``
fails on any loop); from the top of that order down: ``_core`` (the ``Sandbox``: front door,
auth, fault draw), ``_routes`` (dispatch per API family, create and record-info), ``_uploads``,
``_files`` (file hosts, renders, download links), ``_callbacks``, ``_ledger`` (credits, limits),
``_state`` (what the parts share), ``_tasks`` (the state machine and its records), ``_config``,
``_faults`` (the ``--faults`` language and what each fault sends), ``_wire`` (JSON and
envelopes), ``_records``; ``_images`` draws the placeholders. The ways in, ``_transport`` (used by
``_core``) and ``_server`` (using it), only carry requests.

It deliberately shares no code with the client (``tests/test_architecture.py`` enforces it): a
client bug must not be mirrored here and hidden. It uses the catalog only as data (which model a
wire body addresses, what kie would reject, what it costs, how many images it makes).
"""

from __future__ import annotations

from kie_widgets.sandbox._callbacks import webhook_signature
from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._core import Sandbox, shared_sandbox
from kie_widgets.sandbox._faults import FAULT_KINDS, ROUTES, Fault, parse_faults
from kie_widgets.sandbox._records import CallbackRecord, RequestRecord
from kie_widgets.sandbox._server import SandboxServer
from kie_widgets.sandbox._tasks import SandboxTask

__all__ = [
    "FAULT_KINDS",
    "ROUTES",
    "CallbackRecord",
    "Fault",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "SandboxTask",
    "parse_faults",
    "shared_sandbox",
    "webhook_signature",
]
