"""The ``%kie_image`` / ``%%kie_image`` magic: parse first, act second.

Order of work in a cell, and why:

1. parse the line and the body (``options``) — a typo fails before anything is shown or sent;
2. capture the cell context (``context``) on the calling thread — later it belongs to another cell;
3. plan every request with the catalog — an invalid value is a ``UsageError`` naming the field;
4. show one status line per model (display handles made here, on the calling thread);
5. hand the work to the client's loop thread (``runner.submit``) and, by default, wait for it while
   the line ticks; ``--no-wait`` returns at once and the handles are filled in when the work is done;
6. show small thumbnails, a caption table with links, and bind ``--out`` and ``kie_widgets.last``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Float, Int, Unicode

from kie_widgets.errors import (
    KieAuthError,
    KieBatchError,
    KieConfigError,
    KieError,
    KieInsufficientCreditsError,
    KieSubmitUncertainError,
    KieUnavailableError,
    KieValidationError,
    KieWaitTimeoutError,
)
from kie_widgets.notebook import display as ui
from kie_widgets.notebook import options as opts
from kie_widgets.notebook.context import CellContext, capture
from kie_widgets.notebook.render import Renderer

if TYPE_CHECKING:
    # Deferred at runtime: concurrent.futures costs more to import than the rest of the extension.
    import concurrent.futures

HELP = """Generate and edit images with kie.ai from a notebook cell.

  %%kie_image [MODEL[, MODEL...]] [options]     the cell body is the prompt
  %kie_image list [TEXT] [--mode M] [--with C] the models (e.g. --with negative_prompt)
  %kie_image credits | resume | doctor         balance, collect pending tasks, diagnostics
  %kie_image history [--scene N] [--model M] [--since DATE] [--until DATE] [--all]
  %kie_image upscale ID | remove-bg ID | edit ID [--prompt TEXT] [--model M]

The prompt is the cell body: {name} inserts a Python variable, {{ and }} are literal braces.
Several comma-separated models run the same prompt side by side.

Options (each has a short form):
  -r, --ratio W:H        aspect ratio, e.g. 16:9 (allowed values depend on the model)
  -n, --n COUNT          number of images
  -N, --negative TEXT    negative prompt: what to leave out
  -P, --preset NAME      a negative-prompt preset from the catalog (repeatable)
  -s, --seed INT         seed, where the model takes one
  -i, --image SRC        input image: path, URL or asset id like img-003 (repeatable)
  -m, --mask SRC         mask image (path, URL or asset id)
  -p, --prompt TEXT      the prompt on the line (line-magic form)
  -S, --scene N          scene number (else the cell's kie.scene_id metadata or a scene-N tag)
  -o, --out NAME         bind the list of result assets to NAME (kie_widgets.last always has it)
  -d, --dry-run          show the exact request, estimated credits and warnings; send nothing
  -f, --force            send again even if this exact recipe was made before
  -w, --wait / -W, --no-wait   block until done (default) / return at once, output fills in later
  -t, --timeout SECONDS  stop waiting after this long (the task continues; %kie_image resume)
  -x, --set KEY=VALUE    any model-specific field, e.g. --set output_format=png (repeatable)
  -h, --help             this help; `%kie_image history --help` etc. for the subcommands

Re-running an unchanged cell reuses the recorded result (no credits) unless --force.
Settings: %config KieMagics (default_model, default_mask_model, wait, thumbnail_side, ...).
"""


def _help_text() -> str:
    return HELP


@dataclass
class _Job:
    """One model's request inside a cell: its status line, its future, and where results go."""

    model: str
    label: str
    kwargs: dict[str, Any]
    status: ui.StatusLine
    operation: str | None = None
    future: concurrent.futures.Future[Any] | None = None
    slots: list[Any] = field(default_factory=list)
    planned_credits: float | None = None
    context: CellContext | None = None


@magics_class
class KieMagics(Magics):
    """``%kie_image`` and ``%%kie_image``; settings via ``%config KieMagics.<name> = value``."""

    default_model = Unicode(
        "Flux Kontext Pro", help="Model used when a cell names none (text-to-image or edit)."
    ).tag(config=True)
    default_mask_model = Unicode(
        "4o Image", help="Model used when a cell gives --mask but names no model."
    ).tag(config=True)
    wait = Bool(True, help="Block the cell until results are in (--no-wait overrides per cell).").tag(
        config=True
    )
    thumbnail_side = Int(ui.THUMBNAIL_SIDE, help="Longest side of inline thumbnails, in pixels.").tag(
        config=True
    )
    max_inline_bytes = Int(ui.MAX_INLINE_BYTES, help="Upper bound for one inline image, in bytes.").tag(
        config=True
    )
    tick_interval = Float(1.0, help="Seconds between status-line redraws while waiting.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        #: The context of the last cell that ran the magic (shown by ``doctor``).
        self.last_context: CellContext | None = None

    @property
    def _user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    # ---- entry point ------------------------------------------------------------------------

    @line_cell_magic
    def kie_image(self, line: str, cell: str | None = None) -> None:
        word, _, rest = line.strip().partition(" ")
        if word in ("-h", "--help") and cell is None:
            print(_help_text())
            return
        if word in opts.SUBCOMMANDS:
            if cell and cell.strip():
                raise UsageError(f"`%kie_image {word}` takes no cell body; use it as a line magic.")
            getattr(self, f"_cmd_{word}")(rest)
            return
        if word in opts.SHORTHANDS:
            self._shorthand(word, rest, cell, line)
            return
        if cell is None and not line.strip():
            print(_help_text())
            return
        self._generate(line, cell)

    kie_image.__doc__ = _help_text()

    # ---- generation -------------------------------------------------------------------------

    def _generate(self, line: str, cell: str | None) -> None:
        args = opts.parse_generate(line)
        if args is None:
            print(opts.generate_parser().format_help())
            return
        prompt = opts.prompt_from_cell(cell, args.prompt, self._user_ns)
        params = dict(args.params)
        negative = self._negative(params.pop("negative_prompt", None), args.presets)
        if negative:
            params["negative_prompt"] = negative
        params.update(args.run.extra)
        models = args.models or ((self.default_mask_model if args.mask else self.default_model),)
        if len(set(models)) != len(models):
            raise UsageError(f"MODEL: {', '.join(models)} names a model twice.")
        source = f"%%kie_image {line}\n{cell}" if cell is not None else f"%kie_image {line}"
        ctx = capture(self.shell, cell_source=source, scene_option=args.run.scene_id)
        self.last_context = ctx
        common: dict[str, Any] = dict(params)
        if args.images:
            common["images"] = list(args.images)
        if args.mask:
            common["mask"] = args.mask
        requests = [(model, {**common}) for model in models]
        self._run(requests, prompt, ctx, args.run, operation=None)

    def _shorthand(self, word: str, rest: str, cell: str | None, line: str) -> None:
        args = opts.parse_shorthand(word, rest)
        if args is None:
            print(opts.shorthand_parser(word).format_help())
            return
        prompt = opts.prompt_from_cell(cell, args.prompt, self._user_ns)
        if args.operation == "edit" and not prompt:
            raise UsageError("edit: say what to change in the cell body or with --prompt.")
        source = f"%%kie_image {line}\n{cell}" if cell is not None else f"%kie_image {line}"
        ctx = capture(self.shell, cell_source=source, scene_option=args.run.scene_id)
        self.last_context = ctx
        params: dict[str, Any] = {**args.params, **args.run.extra}
        model = args.model or self._default_for(args.operation, mask=args.mask is not None)
        params["images"] = [args.asset]
        if args.mask:
            params["mask"] = args.mask
        self._run([(model, params)], prompt, ctx, args.run, operation=args.operation)

    def _default_for(self, operation: str, *, mask: bool) -> str:
        """The model a shorthand uses when none is given: the configured default for edits, else the
        catalog's first model for the job (the same pick the client makes)."""
        if operation == "edit":
            return self.default_mask_model if mask else self.default_model
        from kie_widgets.catalog import all_specs

        for spec in all_specs():
            if spec.mode == operation:
                return spec.id
        raise UsageError(f"{operation}: the catalog has no model for this; pass --model.")

    def _negative(self, negative: str | None, presets: Sequence[str]) -> str | None:
        if not presets:
            return negative
        from kie_widgets.catalog import NEGATIVE_PRESETS

        texts = []
        for name in presets:
            key = _lookup_preset(name, NEGATIVE_PRESETS)
            if key is None:
                allowed = ", ".join(sorted(NEGATIVE_PRESETS))
                raise UsageError(f"--preset: unknown preset {name!r} (allowed: {allowed}).")
            value = NEGATIVE_PRESETS[key]
            texts.append(value if isinstance(value, str) else ", ".join(value))
        return ", ".join(t for t in [negative, *texts] if t)

    def _run(
        self,
        requests: list[tuple[str, dict[str, Any]]],
        prompt: str | None,
        ctx: CellContext,
        run: opts.RunOptions,
        *,
        operation: str | None,
    ) -> None:
        from kie_widgets import runner

        if not run.dry_run:
            self._ensure_key()
        client = current_client()
        plans = [self._plan(client, model, prompt, params) for model, params in requests]
        if run.dry_run:
            for planned in plans:
                _show_dry_run(planned, run)
            return
        wait = self.wait if run.wait is None else run.wait
        renderer = Renderer(side=self.thumbnail_side, max_bytes=self.max_inline_bytes)
        live = _is_kernel(self.shell)
        jobs: list[_Job] = []
        for (model, params), planned in zip(requests, plans, strict=True):
            label = planned[0].display_name
            status = ui.StatusLine(label, live=live)
            job = _Job(
                model=model,
                label=label,
                kwargs=params,
                status=status,
                operation=operation or _operation_for(planned[0], params),
                planned_credits=sum(p.estimated_credits for p in planned),
                context=ctx,
            )
            if not wait:
                # Slots are made now so the images land in this cell when they arrive later.
                job.slots = [ui.show({"text/plain": ""}) for _ in range(sum(p.n for p in planned))]
            jobs.append(job)
        out: list[Any] = []
        if run.out:
            self._user_ns[run.out] = out
        for job in jobs:
            job.future = runner.submit(
                client.generate,
                job.model,
                prompt,
                scene_id=ctx.scene_id,
                context=ctx.as_context(),
                reuse=not run.force,
                timeout=run.timeout,
                on_status=_status_callback(job.status, draw=not wait),
                operation=job.operation,
                **_client_params(job.kwargs),
            )
        if not wait:
            for job in jobs:
                assert job.future is not None
                job.future.add_done_callback(self._later(job, renderer, out))
            if live:
                threading.Thread(target=self._tick_until_done, args=(jobs,), daemon=True).start()
            return
        self._wait(jobs)
        errors: list[tuple[_Job, BaseException]] = []
        for job in jobs:
            assert job.future is not None
            exc = job.future.exception()
            assets = list(getattr(exc, "assets", [])) if exc is not None else list(job.future.result())
            if exc is not None:
                errors.append((job, exc))
            if assets:
                self._show_assets(job, assets, renderer, error=exc)
            elif exc is not None:
                job.status.replace(ui.status_bundle(self._error_line(job, exc), failed=True))
            out.extend(assets)
        self._bind_last(out)
        if errors:
            raise self._usage_error(errors)

    def _plan(self, client: Any, model: str, prompt: str | None, params: Mapping[str, Any]) -> list[Any]:
        """Plan like the client will (one request for ``n`` images, else ``n`` requests), or fail now."""
        call = _client_params(params)
        n = int(call.pop("n", 1) or 1)
        try:
            if n == 1:
                return [client.plan(model, prompt, **call)]
            try:
                single = client.plan(model, prompt, n=n, **call)
                if single.n >= n:
                    return [single]
            except KieValidationError as exc:
                if not any(p.field == "n" for p in exc.problems):
                    raise
            return [client.plan(model, prompt, **call)] * n
        except KieError as exc:
            raise UsageError(self._scrub(str(exc))) from None

    def _wait(self, jobs: list[_Job]) -> None:
        """Block until every job is done, redrawing the status lines about once a second."""
        from concurrent import futures as cf

        futures = [job.future for job in jobs if job.future is not None]
        try:
            while True:
                # Short waits so a change of state shows promptly; the elapsed time ticks each second.
                _done, pending = cf.wait(futures, timeout=0.2)
                for job in jobs:
                    job.status.flush(force=job.status.since_shown >= self.tick_interval)
                if not pending:
                    return
        except KeyboardInterrupt:
            for job in jobs:
                if job.future is not None and not job.future.done():
                    job.future.cancel()
                    job.status.update(
                        "failed",
                        message="stopped waiting; a submitted task stays in the journal: %kie_image resume",
                        force=True,
                    )
            raise

    def _tick_until_done(self, jobs: list[_Job]) -> None:
        """``--no-wait``: keep the elapsed time on the status lines moving until the work is done."""
        from concurrent import futures as cf

        while True:
            pending = [job for job in jobs if job.future is not None and not job.future.done()]
            if not pending:
                return
            for job in pending:
                job.status.tick()
            cf.wait([j.future for j in pending if j.future], timeout=self.tick_interval)

    def _later(
        self, job: _Job, renderer: Renderer, out: list[Any]
    ) -> Callable[[concurrent.futures.Future[Any]], None]:
        """A done-callback that renders on a helper thread, keeping thumbnailing off the loop thread."""

        def done(future: concurrent.futures.Future[Any]) -> None:
            threading.Thread(
                target=self._finish_later, args=(job, future, renderer, out), daemon=True
            ).start()

        return done

    def _finish_later(
        self, job: _Job, future: concurrent.futures.Future[Any], renderer: Renderer, out: list[Any]
    ) -> None:
        """``--no-wait``: fill this job's pre-made slots (runs on a helper thread, not the loop)."""
        try:
            if future.cancelled():
                job.status.replace(ui.status_bundle(f"✘ {job.label} · cancelled", failed=True))
                return
            exc = future.exception()
            assets = list(getattr(exc, "assets", [])) if exc is not None else list(future.result())
            if exc is not None and not assets:
                job.status.replace(ui.status_bundle(self._error_line(job, exc), failed=True))
                return
            self._show_assets(job, assets, renderer, error=exc)
            out.extend(assets)
            self._bind_last(list(out))
        except Exception as exc:  # a background display failure must still be visible
            job.status.replace(
                ui.status_bundle(f"✘ {job.label} · could not show the result: {exc}", failed=True)
            )

    def _show_assets(
        self, job: _Job, assets: Sequence[Any], renderer: Renderer, *, error: BaseException | None = None
    ) -> None:
        """Thumbnails and the caption table; with ``error`` (some requests failed) it is named too."""
        elapsed = job.status.elapsed
        reused = all(getattr(a, "reused", False) for a in assets)
        title = f"{job.label} · {len(assets)} image{'s' if len(assets) != 1 else ''}"
        title += " (reused, no credits spent)" if reused else ""
        images = [renderer.bundle(asset) for asset in assets]
        note = ""
        if job.context is not None and job.context.headless and not reused:
            note = "recorded without a cell id: headless run, the frontend sent none"
        if error is not None:
            note = self._error_line(job, error) + (f" ({note})" if note else "")
        caption, meta = ui.caption_bundle(assets, title=title, elapsed=None if reused else elapsed, note=note)
        if job.slots:
            for slot, (data, metadata) in zip(job.slots, images, strict=False):
                slot.update(data, raw=True, metadata=metadata)
            extra = images[len(job.slots) :]
            for data, _metadata in extra:  # more images than planned: append under the caption
                caption["text/html"] += _inline_html(data)
            job.status.replace(caption, meta)
            return
        job.status.replace(caption, meta)
        for data, metadata in images:
            ui.show(data, metadata)

    def _bind_last(self, assets: list[Any]) -> None:
        import kie_widgets

        kie_widgets.last = assets

    # ---- errors -----------------------------------------------------------------------------

    def _ensure_key(self) -> None:
        """No key and no sandbox: ask for one with a hidden prompt, or say how to use the sandbox."""
        from kie_widgets.config import load_settings

        settings = load_settings()
        if settings.api_key is not None:
            return
        key = _ask_key()
        if not key:
            raise UsageError(
                "No kie.ai API key found. Set KIE_API_KEY (environment or .env in the project root; "
                "get one at https://kie.ai/api-key), or run `%env KIE_SANDBOX=1` to use the offline sandbox."
            )
        os.environ["KIE_API_KEY"] = key
        from kie_widgets import runner

        runner.configure()  # the next client reads the new key
        print("API key set for this kernel (not shown, not saved).")

    def _scrub(self, text: str) -> str:
        """Defence in depth: remove the key from any text we show, whatever produced it."""
        from kie_widgets.config import load_settings

        key = load_settings().api_key
        secret = key.reveal() if key is not None else ""
        return text.replace(secret, "****") if len(secret) >= 8 else text

    def _error_line(self, job: _Job, exc: BaseException) -> str:
        return self._scrub(f"✘ {job.label} · {describe_error(exc, planned_credits=job.planned_credits)}")

    def _usage_error(self, errors: list[tuple[_Job, BaseException]]) -> BaseException:
        """One short UsageError for kie errors; anything else (a bug) is re-raised with its traceback."""
        from concurrent.futures import CancelledError

        for _job, exc in errors:
            if not isinstance(exc, (KieError, CancelledError)):
                return exc
        lines = [
            self._scrub(f"{job.label}: {describe_error(exc, job.planned_credits)}") for job, exc in errors
        ]
        return UsageError("\n".join(lines))

    # ---- line subcommands -------------------------------------------------------------------

    def _cmd_help(self, rest: str) -> None:
        print(_help_text())

    def _cmd_list(self, rest: str) -> None:
        args = opts.parse_line(opts.list_parser(), rest)
        if args is None:
            print(opts.list_parser().format_help())
            return
        from kie_widgets.catalog import CAPABILITIES, models

        all_modes = sorted({mode for m in models() for mode in m["modes"]})
        if args.mode and args.mode not in all_modes:
            raise UsageError(f"--mode: unknown mode {args.mode!r} (allowed: {', '.join(all_modes)}).")
        try:
            listing = models(mode=args.mode, capability=args.capability)
        except ValueError as exc:
            raise UsageError(f"list: {exc}") from None
        words = [w.lower() for w in args.filter]
        rows = []
        for m in listing:
            hay = " ".join([m["name"], m["id"], m["family"], *m["modes"]]).lower()
            if all(w in hay for w in words):
                flags = [c for c in ("negative_prompt", "seed", "mask") if m.get(c)]
                rows.append(
                    (
                        m["name"],
                        m["id"],
                        ", ".join(m["modes"]),
                        " ".join(m.get("aspect_ratios") or ()) or "-",
                        m.get("price", ""),
                        ", ".join(flags) or "-",
                    )
                )
        if not rows:
            raise UsageError(
                f"list: no model matches {' '.join(args.filter) or args.mode or args.capability!r} "
                f"(capabilities: {', '.join(CAPABILITIES)})."
            )
        headers = ("model", "kie id", "modes", "aspect ratios", "price", "takes")
        ui.show(ui.table_bundle(headers, rows, title=f"{len(rows)} models"))

    def _cmd_credits(self, rest: str) -> None:
        args = opts.parse_line(opts.simple_parser("credits", "Show the account's credit balance."), rest)
        if args is None:
            print(opts.simple_parser("credits", "Show the account's credit balance.").format_help())
            return
        from kie_widgets import runner
        from kie_widgets.config import load_settings

        self._ensure_key()
        current_client()
        try:
            balance = runner.credits()
        except KieError as exc:
            raise UsageError(self._scrub(describe_error(exc))) from None
        where = " (offline sandbox)" if load_settings().sandbox else ""
        ui.show(ui.text_bundle(f"Balance: {balance:,.2f} credits{where}"))

    def _cmd_resume(self, rest: str) -> None:
        parser = opts.simple_parser("resume", "Collect finished tasks recorded in the journal.")
        args = opts.parse_line(parser, rest)
        if args is None:
            print(parser.format_help())
            return
        from kie_widgets import runner

        self._ensure_key()
        client = current_client()
        pending = client.manifest.pending()
        if not pending:
            ui.show(ui.text_bundle("Nothing to resume: the journal has no pending tasks."))
            return
        status = ui.StatusLine(f"resume ({len(pending)} task(s))", live=_is_kernel(self.shell))
        job = _Job(model="", label="resume", kwargs={}, status=status)
        job.future = runner.submit(client.resume, on_status=_status_callback(status, draw=False))
        self._wait([job])
        exc = job.future.exception()
        assets = list(getattr(exc, "assets", [])) if exc is not None else list(job.future.result())
        renderer = Renderer(side=self.thumbnail_side, max_bytes=self.max_inline_bytes)
        if assets:
            self._show_assets(job, assets, renderer)
        else:
            status.replace(ui.status_bundle("resume · no task finished yet"))
        uncertain = [r for r in pending if r.get("state") == "uncertain"]
        if uncertain:
            ui.show(
                ui.text_bundle(
                    f"{len(uncertain)} uncertain submission(s) have no task id: check https://kie.ai/logs "
                    "before sending them again."
                )
            )
        self._bind_last(assets)
        if exc is not None:
            raise self._usage_error([(job, exc)])

    def _cmd_history(self, rest: str) -> None:
        args = opts.parse_line(opts.history_parser(), rest)
        if args is None:
            print(opts.history_parser().format_help())
            return
        from kie_widgets.notebook.history import history_rows

        scene = opts.parse_scene(args.scene)
        manifest = _manifest()
        rows = history_rows(
            manifest.entries,
            scene=scene,
            model=args.model,
            since=args.since,
            until=args.until,
            include_superseded=args.all,
            limit=args.limit,
        )
        headers = ("id", "v", "scene", "model", "size", "created (UTC)", "prompt", "file")
        title = f"{len(rows)} image(s) in {manifest.path}"
        ui.show(ui.table_bundle(headers, rows, title=title))

    def _cmd_doctor(self, rest: str) -> None:
        parser = opts.simple_parser("doctor", "Show where settings came from (the key masked) and versions.")
        args = opts.parse_line(parser, rest)
        if args is None:
            print(parser.format_help())
            return
        from kie_widgets.notebook.history import doctor_rows

        ctx = capture(self.shell)
        rows = doctor_rows(self, ctx)
        ui.show(ui.table_bundle(("setting", "value"), rows, title="kie_widgets doctor"))


# ---- helpers ----------------------------------------------------------------------------------


def current_client() -> Any:
    """The runner's client, rebuilt first if the settings changed since it was made.

    ``%env KIE_SANDBOX=1`` or a key typed in later must take effect in the next cell, but the
    runner keeps one client per process; comparing settings here is what makes that work.
    """
    from kie_widgets import runner
    from kie_widgets.config import load_settings

    client = runner.get_client()
    now, was = load_settings(), client.settings

    def key(s: Any) -> tuple[Any, ...]:
        return (s.sandbox, s.api_key, s.base_url, s.upload_url, s.project_root)

    if key(now) != key(was):
        runner.configure()
        client = runner.get_client()
    return client


def _manifest() -> Any:
    return current_client().manifest


def _operation_for(planned: Any, params: Mapping[str, Any]) -> str:
    """What the manifest calls this request: "generate" without inputs, else "edit" or the model's mode."""
    if not params.get("images") and not params.get("mask"):
        return "generate"
    mode = str(getattr(planned.spec, "mode", "edit"))
    return "edit" if mode in {"text-to-image", "edit", "masked-edit"} else mode


def _client_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _lookup_preset(name: str, presets: Mapping[str, Any]) -> str | None:
    norm = name.strip().lower().replace("_", "-").replace(" ", "-")
    for key in presets:
        if key.lower().replace("_", "-").replace(" ", "-") == norm:
            return key
    return None


def _inline_html(data: Mapping[str, Any]) -> str:
    for mime in ("image/jpeg", "image/png"):
        if mime in data:
            return f'<img src="data:{mime};base64,{data[mime]}" style="max-width:256px"/>'
    return ""


def _is_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (updates redraw in place); False in a terminal (they print)."""
    return getattr(shell, "kernel", None) is not None


def _status_callback(line: ui.StatusLine, *, draw: bool) -> Callable[[Any], None]:
    """An ``on_status`` for the client; it runs on the loop thread.

    With ``draw=False`` (the cell is waiting) it only records the state and the waiting thread draws
    it, so every display call of a waiting cell is made on the cell's own thread. With ``draw=True``
    (``--no-wait``) it updates the display handle made earlier in the cell.
    """

    def on_status(update: Any) -> None:
        line.post(
            update.state,
            progress=update.progress,
            task_id=update.task_id,
            message=update.message if update.state in {"reused", "failed", "timeout", "uploading"} else "",
        )
        if draw:
            line.flush()

    return on_status


def _ask_key() -> str:
    """A hidden prompt for the key; empty when the frontend cannot ask (headless runs)."""
    import getpass

    try:
        from IPython.core.error import StdinNotImplementedError
    except ImportError:  # pragma: no cover
        StdinNotImplementedError = RuntimeError  # type: ignore[misc,assignment]
    if not sys.stdin or (not _interactive_stdin()):
        return ""
    try:
        return getpass.getpass("kie.ai API key (hidden; leave empty to cancel): ").strip()
    except (StdinNotImplementedError, EOFError, OSError, KeyboardInterrupt):
        return ""


def _interactive_stdin() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        parent = kernel.get_parent("shell") if hasattr(kernel, "get_parent") else {}
        content = (parent or {}).get("content", {})
        return bool(content.get("allow_stdin", False))
    return bool(getattr(sys.stdin, "isatty", lambda: False)())


def describe_error(exc: BaseException, planned_credits: float | None = None) -> str:
    """What happened and what to do, in one or two sentences (never the key)."""
    if isinstance(exc, KieInsufficientCreditsError):
        balance = f"{exc.balance:g}" if exc.balance is not None else "unknown"
        cost = exc.estimated_cost if exc.estimated_cost is not None else planned_credits
        need = f"; this request costs about {cost:g}" if cost is not None else ""
        return f"not enough credits (balance {balance}{need}). {exc.hint}"
    if isinstance(exc, KieUnavailableError):
        code = f" (code {exc.code})" if exc.code else ""
        return (
            f"kie.ai is in maintenance or overloaded{code}; nothing was charged. Try again in a few minutes."
        )
    if isinstance(exc, KieWaitTimeoutError):
        waited = f" after {exc.waited:.0f}s" if exc.waited else ""
        task = f"; task {exc.task_id} is still running on kie" if exc.task_id else ""
        return f"stopped waiting{waited}{task}. It is in the journal: `%kie_image resume` collects it later."
    if isinstance(exc, KieSubmitUncertainError):
        return str(exc)
    if isinstance(exc, KieAuthError):
        return f"{exc} `%kie_image doctor` shows which key source was used."
    if isinstance(exc, KieBatchError):
        inner = "; ".join(describe_error(e) for e in exc.errors)
        return f"{len(exc.assets)} image(s) saved and shown, {len(exc.errors)} request(s) failed: {inner}"
    if isinstance(exc, (KieValidationError, KieConfigError)):
        return str(exc)
    if isinstance(exc, KieError):
        return f"{type(exc).__name__}: {exc}"
    from concurrent.futures import CancelledError

    if isinstance(exc, CancelledError):
        return "cancelled."
    return f"{type(exc).__name__}: {exc}"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _show_dry_run(planned: Sequence[Any], run: opts.RunOptions) -> None:
    """Show the exact request, the estimated credits and the linter's warnings; send nothing."""
    first = planned[0]
    meta = {
        ui.METADATA_KEY: {
            "dry_run": True,
            "model_id": first.model_id,
            "endpoint": first.endpoint,
            "body": first.body,
            "estimated_credits": sum(p.estimated_credits for p in planned),
            "warnings": list(first.warnings),
        }
    }
    ui.show(ui.text_bundle(_dry_run_text(planned, run)), meta)


def _dry_run_text(planned: Sequence[Any], run: opts.RunOptions) -> str:
    first = planned[0]
    lines = [
        f"DRY RUN — nothing sent, no credits spent: {first.display_name} ({first.model_id})",
        f"POST {first.endpoint}",
        _json(first.body),
    ]
    if len(planned) > 1:
        lines.append(f"× {len(planned)} requests (the model makes one image per request; seed +1 each).")
    if first.uploads:
        lines.append("uploads first (placeholders above are replaced by the uploaded URLs):")
        lines.extend(f"  {ref.placeholder} <- {ref.field}: {ref.source}" for ref in first.uploads)
    total = sum(p.estimated_credits for p in planned)
    images = sum(p.n for p in planned)
    lines.append(f"estimated cost: {total:g} credits for {images} image(s)")
    if run.force:
        lines.append("--force: would send even if this recipe was made before")
    else:
        lines.append("an identical earlier result would be reused (no credits); --force sends anyway")
    warnings = [w for p in planned[:1] for w in p.warnings]
    if warnings:
        lines.append(f"{len(warnings)} warning(s):")
        lines.extend(f"  ⚠ {w}" for w in warnings)
    else:
        lines.append("no warnings")
    return "\n".join(lines)


__all__ = ["KieMagics", "describe_error"]
