"""``Studio``: the form, the cost, Generate, live tiles side by side, and the gallery, in one widget.

It talks only to the ``Session``. The calling cell's context (cell id, notebook, scene) is captured
when the Studio is made, because a button click reaches the kernel as a comm message that carries
none. Each finished run also updates a plain output (thumbnails and captions) made in that cell, so
a notebook saved and opened without a kernel still shows what was made.
"""

from __future__ import annotations

import base64
import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kie_widgets.errors import KieError, KieUncertainRepeatError
from kie_widgets.widgets._form import WIDE, Form
from kie_widgets.widgets._gallery import Gallery, cell_text
from kie_widgets.widgets._hotkey import Hotkey
from kie_widgets.widgets._storyboard import Scene, Storyboard
from kie_widgets.widgets._tiles import MAX_TILES, RunArea, RunTile, on_events
from kie_widgets.widgets._util import replace_children

if TYPE_CHECKING:
    from kie_widgets.catalog import Plan
    from kie_widgets.session import Run, Session

# Seconds a form must stay unchanged before it is planned again (typing must not plan per key).
DEBOUNCE = 0.3
PLAIN_SIDE = 160


class Studio(w.VBox):
    """Generate, compare and browse images from one widget; everything is scriptable too.

    ``Studio(models=[...], prompt=..., **params)`` pre-fills the form. ``studio.generate()`` returns the
    session's ``Run``; ``studio.gallery.select("img-003")`` shows an asset's recipe.
    """

    def __init__(self, *, session: Session | None = None, budget: float | None = None, **defaults: Any):
        from kie_widgets.session import capture, current_session

        self.session = session or current_session()
        if budget is not None:
            self.session.budget.limit = budget
        self.context = capture(_shell())
        self.form = Form(find_asset=self.session.asset, **defaults)
        self.estimate = w.HTML()
        self.warnings = w.HTML()
        self.budget = w.FloatText(
            value=self.session.budget.limit or 0.0,
            description="Budget",
            tooltip="Most credits this notebook may spend (0 = no limit)",
        )
        self.generate_button = w.Button(description="Generate", button_style="primary")
        self.reason = w.HTML()
        # Shown when a request repeats one whose earlier create may have been paid without an answer.
        self.confirm_box = w.VBox()
        self.request_view = w.Textarea(layout=w.Layout(width="98%", height="12em"), disabled=True)
        request_box = w.Accordion([self.request_view])
        request_box.set_title(0, "Request")
        request_box.selected_index = None
        self.runs = RunArea()
        self.gallery = Gallery(self.session, on_action=self._gallery_action)
        self.storyboard = Storyboard(
            self.session, submit_missing=self._generate_scenes, estimate_missing=self._estimate_scenes
        )
        self.sweep_field = w.Text(
            description="Sweep field", placeholder="e.g. seed or aspect_ratio", style=WIDE
        )
        self.sweep_values = w.Text(description="Values", placeholder="comma-separated, e.g. 1, 2, 3")
        self.sweep_button = w.Button(description="Run sweep", tooltip="One take per value, side by side")
        self.resume_button = w.Button(description="Resume", tooltip="Collect paid tasks not yet downloaded")
        self.resume_status = w.HTML()
        self.hotkey = Hotkey(self._click_generate)
        self.edit_panel = w.VBox()
        self.last_run: Run | None = None
        self._plans: list[Plan] = []
        self._timer: threading.Timer | None = None
        self._plain: Any = None
        self._plain_items: list[str] = []
        self.generate_button.on_click(lambda _b: self._click_generate())
        self.sweep_button.on_click(lambda _b: self._click_sweep())
        self.resume_button.on_click(lambda _b: self.resume())
        self.budget.observe(self._budget_changed, "value")
        self.form.on_change(self._schedule_estimate)
        sweep = w.HBox([self.sweep_field, self.sweep_values, self.sweep_button])
        runs = w.VBox([sweep, w.HBox([self.resume_button, self.resume_status]), self.runs])
        tabs = w.Tab([runs, self.gallery, self.storyboard])
        for i, title in enumerate(("Runs", "Gallery", "Storyboard")):
            tabs.set_title(i, title)
        tabs.observe(self._tab_changed, "selected_index")
        super().__init__(
            [
                self.form,
                self.edit_panel,
                w.HBox([self.generate_button, self.budget, self.estimate]),
                self.reason,
                self.confirm_box,
                self.warnings,
                request_box,
                tabs,
                self.hotkey,
            ]
        )
        self.add_class("kie-studio")
        self.refresh_estimate()
        self.gallery.refresh()

    # ---- display ----------------------------------------------------------------------------

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from kie_widgets.session import capture

        # The cell that displays the Studio is where its results belong.
        self.context = capture(_shell())
        bundle = self._repr_mimebundle_() or {}
        bundle["text/plain"] = "kie_widgets Studio (this frontend shows no widgets; results are listed below)"
        display(bundle, raw=True)
        self._plain = display({"text/plain": "Studio results appear here."}, raw=True, display_id=True)

    # ---- cost ---------------------------------------------------------------------------------

    def _schedule_estimate(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(DEBOUNCE, self.refresh_estimate)
        self._timer.daemon = True
        self._timer.start()

    def refresh_estimate(self) -> list[Plan]:
        """Plan the form now: the estimate, the warnings, the exact bodies, and whether Generate may run."""
        import json

        requests = self.form.values
        self._plans = []
        if not requests:
            self._block("Pick at least one model.")
            return []
        if not any(r.get("prompt") for r in requests) and not any(r.get("images") for r in requests):
            self._block("Write a prompt.")
            return []
        try:
            plans = self.session.plan(requests)
        except KieError as exc:
            self._block(str(exc))
            return []
        self._plans = plans
        total = self.session.estimate(plans)
        budget = self.session.budget
        if (budget.limit or 0.0) != self.budget.value:  # set elsewhere (%config KieMagics.budget)
            self.budget.value = budget.limit or 0.0
        spent = f" · spent {budget.spent:g}" + (f" of {budget.limit:g}" if budget.limit else "")
        images = sum(p.n for p in plans)
        self.estimate.value = f"<b>Estimate: {total:g} credits</b> for {images} image(s){spent}"
        warnings = sorted({w for p in plans for w in p.warnings})
        self.warnings.value = "".join(f"<div>⚠ {html.escape(x)}</div>" for x in warnings)
        self.request_view.value = "\n\n".join(
            f"POST {p.endpoint}\n{json.dumps(p.body, indent=2, ensure_ascii=False, default=str)}"
            for p in plans
        )
        why = budget.refusal(total)
        if why:
            self._block(why)
            return plans
        self.generate_button.disabled = False
        self.reason.value = ""
        return plans

    def _block(self, why: str) -> None:
        self.generate_button.disabled = True
        self.reason.value = f"<div role='alert'>Generate is off: {html.escape(why)}</div>"
        if not self._plans:
            self.estimate.value = ""

    def _budget_changed(self, change: Any) -> None:
        self.session.budget.limit = change["new"] or None
        self.refresh_estimate()

    # ---- generating ---------------------------------------------------------------------------

    def _click_generate(self) -> None:
        try:
            self.generate()
        except KieError as exc:
            self._block(str(exc))

    def generate(self) -> Run:
        """Send what the form says (every picked model) and return the session's ``Run`` at once."""
        plans = self.refresh_estimate()
        if not plans or self.generate_button.disabled:
            raise KieError(self.reason.value or "the form is not ready", hint="Fix the form first.")
        return self._submit(
            plans, operation=None, heading=f"{len(plans)} task(s): {self.form.prompt.value[:60]}"
        )

    def _submit(
        self,
        plans: list[Plan],
        *,
        operation: str | None,
        heading: str,
        legends: list[str] | None = None,
        scene_id: Any = None,
    ) -> Run:
        run = self.session.submit(
            plans,
            scene_id=self.context.scene_id if scene_id is None else scene_id,
            context=self.context.as_context(),
            operation=operation,
        )
        self._show_run(run, heading, legends)
        return run

    def sweep(self, field: str, values: list[Any]) -> Run:
        """The form's request once per value of ``field``, laid out side by side with a legend."""
        from kie_widgets.catalog import resolve

        requests, legends = [], []
        for request in self.form.values:
            spec = resolve(request["model"], has_image=bool(request.get("images")))
            if not (spec.supports(field) or field in spec.field_names):
                continue  # a model without the field would make the same picture for every value
            for value in values:
                requests.append({**request, field: value})
                legends.append(f"{request['model']} · {field} = {value}")
        if not requests:
            raise KieError(f"none of the picked models takes {field!r}", hint="Nothing was sent.")
        plans = self.session.plan(requests)
        return self._submit(plans, operation=None, heading=f"sweep of {field}", legends=legends)

    def _click_sweep(self) -> None:
        from kie_widgets.session import parse_values

        field = self.sweep_field.value.strip()
        try:
            self.sweep(field, parse_values(self.sweep_values.value))
        except (KieError, ValueError) as exc:
            self._block(str(exc))

    def resume(self) -> Any:
        """Collect every paid task that is still pending (after a restart, a stop, an interrupt)."""
        pending = [r for r in self.session.pending() if r.get("state") == "pending"]
        if not pending:
            self.resume_status.value = "Nothing to resume."
            return None
        self.resume_status.value = f"collecting {len(pending)} task(s) ..."
        future = self.session.resume()

        def done(f: Any) -> None:
            assets = list(getattr(f.exception(), "assets", [])) if f.exception() else f.result()
            problem = f" ({f.exception()})" if f.exception() else ""
            self.resume_status.value = html.escape(f"collected {len(assets)} image(s){problem}")
            self.gallery.refresh()
            self.storyboard.refresh()

        future.add_done_callback(done)
        return future

    def _estimate_scenes(self, scenes: list[Scene]) -> str:
        plans = self.session.plan(self._scene_requests(scenes))
        return f"{self.session.estimate(plans):g} credits for {len(plans)} request(s)"

    def _scene_requests(self, scenes: list[Scene]) -> list[dict[str, Any]]:
        base = self.form.values[:1] or [{"model": self.form.models.options[0][1]}]
        return [{**base[0], "prompt": scene.prompt, "n": 1} for scene in scenes]

    def _generate_scenes(self, scenes: list[Scene]) -> list[Run]:
        runs = []
        for scene, request in zip(scenes, self._scene_requests(scenes), strict=True):
            plans = self.session.plan([request])
            runs.append(
                self._submit(plans, operation=None, heading=f"scene {scene.number}", scene_id=scene.number)
            )
        return runs

    def _tab_changed(self, change: Any) -> None:
        if change["new"] == 1:
            self.gallery.refresh()
        elif change["new"] == 2:
            self.storyboard.refresh()

    def _show_run(self, run: Run, heading: str, legends: list[str] | None = None) -> None:
        # A run of more tasks than the area shows gets tiles for the first ones; all land in the gallery.
        tiles = [
            RunTile(
                h, legend=legends[h.plan.request] if legends else heading, on_keep=lambda a: self._keep(a.id)
            )
            for h in run.handles[:MAX_TILES]
        ]
        if len(run.handles) > len(tiles):
            heading += f" (tiles for {len(tiles)} of {len(run.handles)} tasks; all go to the gallery)"
        self.runs.show(tiles, heading)
        run.subscribe(on_events(tiles), on="thread")
        run.subscribe(lambda e: self._maybe_finished(run, e), on="thread")
        self.last_run = run
        self.refresh_estimate()

    def _maybe_finished(self, run: Run, _event: Any) -> None:
        if not all(h.done for h in run.handles) or getattr(run, "_studio_shown", False):
            return
        run._studio_shown = True  # type: ignore[attr-defined]
        repeats = [h for h in run.handles if isinstance(h.error, KieUncertainRepeatError)]
        if repeats:
            self._ask_to_repeat(run, repeats[0].error)
        self._record_plain(run)
        self.gallery.refresh()
        self.refresh_estimate()

    def _ask_to_repeat(self, run: Run, error: Any) -> None:
        """Say that an earlier create of this request may be paid, and offer to send it anyway."""
        send = w.Button(description="Send anyway", button_style="warning", tooltip="kie charges again")
        dismiss = w.Button(description="Dismiss the old record", tooltip="After checking kie's logs")
        text = w.HTML(
            f"<div role='alert'>{html.escape(str(error))}<br>Check https://kie.ai/logs first: if the "
            "earlier task exists, Resume collects it; if it does not, dismiss the old record.</div>"
        )

        def send_anyway(_b: Any) -> None:
            replace_children(self.confirm_box, ())
            resent = self.session.submit(
                run.plans,
                scene_id=self.context.scene_id,
                context=self.context.as_context(),
                force=True,
            )
            self._show_run(resent, "sent again (forced)")

        def forget(_b: Any) -> None:
            for journal_id in getattr(error, "journal_ids", []):
                self.session.dismiss(journal_id, "dismissed in the Studio after checking kie's logs")
            replace_children(self.confirm_box, ())

        send.on_click(send_anyway)
        dismiss.on_click(forget)
        replace_children(self.confirm_box, (text, w.HBox([send, dismiss])))

    def _record_plain(self, run: Run) -> None:
        """Add the run's thumbnails and captions to the plain output of the Studio's cell."""
        from kie_widgets.assets import thumbnail

        for h in run.handles:
            for asset in h.assets:
                data, mime = thumbnail(asset.path, max_side=PLAIN_SIDE)
                src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
                caption = f"{asset.id} · {asset.model} · v{asset.version} · {asset.path.name}"
                self._plain_items.append(
                    "<figure style='display:inline-block;margin:4px'>"
                    f"<img src='{src}' alt='{html.escape(caption)}'/>"
                    f"<figcaption><small>{html.escape(caption)}</small></figcaption></figure>"
                )
        if self._plain is not None:
            text = "\n".join(item.split("<small>")[1].split("</small>")[0] for item in self._plain_items)
            self._plain.update({"text/html": "".join(self._plain_items), "text/plain": text}, raw=True)

    # ---- gallery actions ----------------------------------------------------------------------

    def _gallery_action(self, name: str, entry: dict[str, Any]) -> None:
        asset_id = str(entry["id"])
        extra = entry.get("kie") or {}
        if name == "Restore settings":
            params = {k: v for k, v in (extra.get("params") or {}).items() if k not in ("prompt",)}
            self.form.set(models=[str(entry.get("model"))], prompt=str(entry.get("prompt") or ""), **params)
            return
        if name == "Edit":
            self.open_editor(asset_id)
            return
        if name == "Keep":
            self.session.keep(asset_id)
            self.gallery.refresh()
            return
        actions = {"Upscale": self.session.upscale, "Remove background": self.session.remove_background}
        context: dict[str, Any] = {"scene_id": self.context.scene_id, "context": self.context.as_context()}
        try:
            if name == "Vary":
                run = self.session.vary(asset_id, **context)
            else:
                run = actions[name](asset_id, **context)
        except KieError as exc:
            self.reason.value = f"<div role='alert'>{html.escape(name)}: {html.escape(str(exc))}</div>"
            return
        self._show_run(run, f"{name} {asset_id}")

    def open_editor(self, asset_id: str) -> Any:
        """Load ``asset_id`` as the form's input and open the mask editor on it above Generate."""
        from kie_widgets.widgets.mask import MaskEditor

        self.form.set(images=[asset_id])
        editor = MaskEditor(asset_id)
        editor.on_apply(lambda ed: self.form.use_painted_mask(ed.mask))
        close = w.Button(description="Close editor", tooltip="Keep the form's input, drop the editor")
        close.on_click(lambda _b: replace_children(self.edit_panel, ()))
        hint = w.HTML(
            f"<b>Edit {html.escape(asset_id)}</b>: paint where it should change and press Apply; "
            "the mask goes into the form. Without a mask the whole image is edited as the prompt says."
        )
        replace_children(self.edit_panel, (hint, editor, close))
        return editor

    def _keep(self, asset_id: str) -> None:
        self.session.keep(asset_id)
        self.gallery.refresh()

    def copy_as_cell(self, asset_id: str) -> str:
        """The ``%%kie_image`` cell that makes ``asset_id``'s recipe again."""
        return cell_text(self.gallery.select(asset_id))


def _shell() -> Any:
    try:
        from IPython import get_ipython

        return get_ipython()
    except ImportError:
        return None


__all__ = ["Studio"]
