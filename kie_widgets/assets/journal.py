"""The journal of paid tasks: every task id kie gave us, recorded before its first status poll.

It lives in ``manifest.journal.json`` beside the manifest, under the manifest's lock, rather than as a
key of ``manifest.json``, because (1) the document's Node snippet rewrites manifest.json without any
lock, and a journal update landing between its read and its write would be silently dropped: a lost
asset entry can be rebuilt from the file on disk (``verify``), a lost pending task id cannot; (2) the
journal is written before every first poll and must stay cheap when the manifest holds 10,000
entries; (3) manifest.json stays exactly the documented ``{"assets": [...]}``.

``Manifest`` inherits these methods; they are kept here so each file reads in one sitting.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from kie_widgets.assets._store import JSONStore
from kie_widgets.assets.schema import check_json, iso_now, scrub

# Recent task durations kept per model: enough for a stable median, small enough to read on every start.
_DURATIONS_KEPT = 20
#: ``sending``: written before the create leaves, resolved from kie's answer (a crash leaves it so);
#: ``not sent``: the create surely made no task (refused, or never left); ``given up``: a result that
#: stayed unusable after several collection attempts.
JOURNAL_STATES = (
    "sending",
    "pending",
    "uncertain",
    "complete",
    "failed",
    "not sent",
    "given up",
    "dismissed",
)
OPEN_STATES = ("sending", "pending", "uncertain")
#: Open records whose create may have been paid while we do not know its task id.
UNCERTAIN_STATES = ("sending", "uncertain")


def new_journal_id(kind: str = "sending") -> str:
    """A fresh journal id for a record that has no task id (yet)."""
    return f"{kind}-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def _validate_journal(document: Any) -> str | None:
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), list):
        return 'it has no "tasks" list'
    return None


def _find_task(tasks: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    for record in reversed(tasks):
        if record.get("task_id") == key or record.get("journal_id") == key:
            return record
    return None


def _compact(document: dict[str, Any], known_ids: Callable[[Iterable[str]], set[str]]) -> None:
    """Drop collected records whose images are all in the manifest (it holds what they said)."""
    tasks = document["tasks"]
    done = [r for r in tasks if r.get("state") == "complete" and r.get("asset_ids")]
    if not done:
        return
    present = known_ids(str(i) for r in done for i in r["asset_ids"])
    gone = {id(r) for r in done if all(str(i) in present for i in r["asset_ids"])}
    document["tasks"] = [r for r in tasks if id(r) not in gone]


def _task_record(
    journal_id: str,
    task_id: str | None,
    state: str,
    *,
    family: str,
    model_id: str,
    model: str,
    endpoint: str,
    body: Mapping[str, Any],
    recipe: str | None,
    context: Mapping[str, Any] | None,
    **more: Any,
) -> dict[str, Any]:
    """A new journal record: the request (credential-like keys masked) and where it came from."""
    record = {
        "journal_id": journal_id,
        "task_id": task_id,
        "state": state,
        "family": family,
        "model_id": model_id,
        "model": model,
        "endpoint": endpoint,
        "body": scrub(dict(body)),
        "recipe": recipe,
        "context": scrub(dict(context or {})),
        **more,
        "created_at": iso_now(),
        "updated_at": iso_now(),
        "asset_ids": [],
    }
    check_json(record, "journal records")
    return record


class JournalMixin:
    """The journal half of ``Manifest``: record, settle and list paid tasks."""

    journal_path: Path
    _journal: JSONStore

    if TYPE_CHECKING:

        def _ids_by_task(self, task_ids: Iterable[str]) -> dict[str, list[str]]:
            """Provided by ``Manifest``."""

        def _known_ids(self, asset_ids: Iterable[str]) -> set[str]:
            """Provided by ``Manifest``."""

    def _init_journal(self, manifest_path: Path, lock: filelock.BaseFileLock) -> None:
        #: The journal file, ``manifest.journal.json`` beside the manifest.
        self.journal_path = manifest_path.with_name(manifest_path.stem + ".journal.json")
        self._journal = JSONStore(
            self.journal_path,
            lock=lock,
            empty=lambda: {"version": 1, "tasks": []},
            validate=_validate_journal,
            label="task journal",
        )

    def _journal_change(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        return self._journal.transact(change)

    def journal_sending(self, intents: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Record the intent to create, before the creates leave: a crash on the wire leaves this trace.

        ``intents`` are ``(journal_id, fields)`` pairs, one per create, written in one transaction;
        the fields are those of ``journal_submit`` (``family``, ``model_id``, ``model``, ``endpoint``,
        ``body``, ``recipe``, ``context``).
        """
        records = [_task_record(journal_id, None, "sending", **fields) for journal_id, fields in intents]
        self._journal_change(lambda document: document["tasks"].extend(records))

    def journal_not_sent(self, journal_id: str, reason: str) -> None:
        """Close a ``sending`` record whose create surely made no task (kie refused it, or it never left)."""

        def change(document: dict[str, Any]) -> None:
            record = _find_task(document["tasks"], journal_id)
            if record is not None and record.get("state") == "sending":
                record.update(state="not sent", reason=str(reason), updated_at=iso_now())

        self._journal_change(change)

    def uncertain_of_recipe(self, recipe: str) -> list[dict[str, Any]]:
        """Open records of ``recipe`` whose create may have been paid without a task id we know."""
        return [
            r
            for r in self.journal()
            if r.get("state") in UNCERTAIN_STATES and recipe and r.get("recipe") == recipe
        ]

    def journal_submit(
        self,
        task_id: str,
        *,
        family: str,
        model_id: str,
        model: str,
        endpoint: str,
        body: Mapping[str, Any],
        recipe: str | None = None,
        context: Mapping[str, Any] | None = None,
        journal_id: str | None = None,
    ) -> None:
        """Record a submitted (paid) task as pending, before its first status poll.

        ``journal_id`` names the ``sending`` record written before the create; it is resolved into this one.
        """
        record = _task_record(
            task_id,
            task_id,
            "pending",
            family=family,
            model_id=model_id,
            model=model,
            endpoint=endpoint,
            body=body,
            recipe=recipe,
            context=context,
            **({"sent_as": journal_id} if journal_id else {}),
        )

        def change(document: dict[str, Any]) -> None:
            existing = _find_task(document["tasks"], task_id)
            if existing is None and journal_id:
                existing = _find_task(document["tasks"], journal_id)
            if existing is None:
                document["tasks"].append(record)
            elif existing.get("state") in OPEN_STATES:
                existing.update({k: v for k, v in record.items() if k != "created_at"})

        self._journal_change(change)

    def journal_uncertain(
        self,
        *,
        family: str,
        model_id: str,
        model: str,
        endpoint: str,
        body: Mapping[str, Any],
        error: str,
        context: Mapping[str, Any] | None = None,
        recipe: str | None = None,
        journal_id: str | None = None,
    ) -> str:
        """Record a submission whose outcome is unknown (sent, no answer); return its journal id.

        With ``journal_id`` the ``sending`` record of that create becomes the uncertain one.
        """
        new_id = journal_id or new_journal_id("uncertain")
        record = _task_record(
            new_id,
            None,
            "uncertain",
            family=family,
            model_id=model_id,
            model=model,
            endpoint=endpoint,
            body=body,
            recipe=recipe,
            context=context,
            error=str(error),
        )

        def change(document: dict[str, Any]) -> None:
            existing = _find_task(document["tasks"], journal_id) if journal_id else None
            if existing is None:
                document["tasks"].append(record)
            elif existing.get("state") in UNCERTAIN_STATES:
                existing.update({k: v for k, v in record.items() if k != "created_at"})

        self._journal_change(change)
        return new_id

    def _settle(self, key: str, **fields: Any) -> None:
        def change(document: dict[str, Any]) -> None:
            record = _find_task(document["tasks"], key)
            if record is None:
                record = {"journal_id": key, "task_id": key, "created_at": iso_now()}
                document["tasks"].append(record)
            record.update(fields, updated_at=iso_now())

        self._journal_change(change)

    def journal_complete(self, task_id: str, asset_ids: list[str], *, seconds: float | None = None) -> None:
        """Mark a task collected: its results are on disk and recorded as ``asset_ids``.

        A collected task whose images are all in the manifest is compacted away (the manifest holds
        everything its record did), and so is every earlier one, so the journal stays as small as
        the number of open tasks. ``seconds`` (how long kie took) joins the model's recent durations,
        from which ``typical_seconds`` learns when to expect a result.
        """

        def change(document: dict[str, Any]) -> None:
            record = _find_task(document["tasks"], task_id)
            if record is None:
                record = {"journal_id": task_id, "task_id": task_id, "created_at": iso_now()}
                document["tasks"].append(record)
            record.update(state="complete", asset_ids=list(asset_ids), updated_at=iso_now())
            model_id = record.get("model_id")
            if isinstance(seconds, (int, float)) and seconds > 0 and isinstance(model_id, str):
                durations = document.setdefault("durations", {})
                recent = [*durations.get(model_id, []), round(float(seconds), 3)]
                durations[model_id] = recent[-_DURATIONS_KEPT:]
            _compact(document, self._known_ids)

        self._journal_change(change)

    def typical_seconds(self, model_id: str) -> float | None:
        """How long kie usually takes for this model (median of its recent tasks), or ``None``."""
        recent = self._journal.read().get("durations", {}).get(model_id)
        if not isinstance(recent, list):
            return None
        values = sorted(v for v in recent if isinstance(v, (int, float)) and v > 0)
        return float(statistics.median(values)) if values else None

    def journal_failed(self, task_id: str, code: Any, message: str) -> None:
        """Mark a task failed with kie's code and message (failed tasks are not charged)."""
        self._settle(task_id, state="failed", fail_code=code, fail_message=message)

    def journal_result_failed(self, task_id: str, reason: str, *, limit: int) -> bool:
        """Count a collection of ``task_id`` whose result was unusable; give it up after ``limit``.

        Returns whether the task is now given up (state ``given up``, with the reason). Until then it
        stays pending, with the count and the last reason, for ``resume()`` to try again.
        """

        def change(document: dict[str, Any]) -> bool:
            record = _find_task(document["tasks"], task_id)
            if record is None or record.get("state") != "pending":
                return False
            attempts = int(record.get("result_attempts") or 0) + 1
            record.update(result_attempts=attempts, last_error=str(reason), updated_at=iso_now())
            if attempts >= limit:
                record.update(state="given up", reason=f"after {attempts} attempts: {reason}")
                return True
            return False

        given_up: bool = self._journal_change(change)
        return given_up

    def journal_dismiss(self, journal_id: str, reason: str = "") -> None:
        """Close a pending or uncertain record by hand (for example after checking kie's logs)."""
        self._settle(journal_id, state="dismissed", reason=reason)

    def journal(self) -> list[dict[str, Any]]:
        """Every journal record, oldest first (a fresh copy)."""
        return list(self._journal.read()["tasks"])

    def pending(self) -> list[dict[str, Any]]:
        """Task records still to collect (state ``pending`` or ``uncertain``), oldest first.

        Each carries ``recorded``: ids of manifest entries already holding this task's results, so a
        crash between recording a file and completing the journal cannot make ``resume()`` pay twice.
        """
        open_records = [r for r in self.journal() if r.get("state") in OPEN_STATES]
        if not open_records:
            return []
        by_task = self._ids_by_task(str(r["task_id"]) for r in open_records if r.get("task_id"))
        keys = ("task_id", "family", "model_id", "model", "endpoint", "body", "state", "created_at")
        result = []
        for record in open_records:
            item = {k: record.get(k) for k in keys}
            item.update(
                context=record.get("context") or {},
                recipe=record.get("recipe"),
                journal_id=record.get("journal_id"),
                error=record.get("error"),
                recorded=by_task.get(str(record.get("task_id")), []) if record.get("task_id") else [],
            )
            result.append(item)
        return result


__all__ = ["JOURNAL_STATES", "OPEN_STATES", "UNCERTAIN_STATES", "JournalMixin", "new_journal_id"]
