"""The async client: plan, upload, submit, wait, download, record — without wasting a credit.

``KieClient`` joins the other layers: the catalog turns a request into a wire body (``plan``), the
wire layer (``client.KieAPI``) speaks HTTP, and the manifest journals every paid task before the
first poll and records every downloaded image. The rules it keeps (DESIGN.md §6):

* a create is never sent twice by us; its intent is journaled ("sending") before it leaves, so a
  process killed on the wire leaves a trace; an uncertain one (no answer, or cancelled while on the
  wire) is journaled as uncertain and reported, blocks the same recipe until ``force``, and one kie
  refused with 429 (so did not create) is sent again later by the wire layer;
* nothing unchecked is paid for: the plan, the inputs (decoded), the run options, the key, the
  manifest and the assets folder are all checked before the first request, and the session's
  budget is charged before sending;
* creates go through the key's rate limiter: 20 per 10 s, counted from kie's answers, at most a
  few on the wire at once;
* polling is adaptive (2–3 s for the first 30 s, 5–10 s to two minutes, 15–30 s after, jittered),
  waits out kie's "record not visible yet" window, and stops at a per-task deadline with
  ``KieWaitTimeoutError`` while the task stays pending in the journal (so does a cancellation);
* results are downloaded at once, streamed to disk with a size cap, validated, then recorded;
  ``resume()`` collects pending tasks later and never records one result twice.

Layout: ``_model`` (StatusUpdate, PollSchedule, Job), ``_inputs`` (loading, checking and uploading
inputs), ``_follow`` (polling, downloading, recording), ``_client`` (KieClient: planning, submitting,
journaling, fan-out, resume).
"""

from __future__ import annotations

from kie_widgets.assets.record import CONTEXT_KEYS
from kie_widgets.jobs._budget import Budget
from kie_widgets.jobs._client import KieClient
from kie_widgets.jobs._inputs import sniff_mime
from kie_widgets.jobs._model import Job, PollSchedule, ResumeReport, StatusUpdate, check_run_options

__all__ = [
    "CONTEXT_KEYS",
    "Budget",
    "Job",
    "KieClient",
    "PollSchedule",
    "ResumeReport",
    "StatusUpdate",
    "check_run_options",
    "sniff_mime",
]
