"""The ``%kie_image`` / ``%%kie_image`` magic: parse first, act second.

Order of work in a cell, and why:

1. parse the line and the body (``options``) — a typo fails before anything is shown or sent;
2. capture the cell context (``context``) on the calling thread — later it belongs to another cell;
3. plan every request with the catalog — an invalid value is a ``UsageError`` naming the field;
4. show one status line per model (display handles made here, on the calling thread);
5. hand the plans to the session (``Session.submit``) and, by default, wait for the run while
   the line ticks; ``--no-wait`` returns at once and the handles are filled in when the work is done;
6. show small thumbnails, a caption table with links, and bind ``--out`` and ``kie_widgets.last``.

Waiting and showing results live in ``cellrun``, error advice and the key prompt in ``advice``, the
dry run in ``dryrun``; this module parses, plans and dispatches.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope, no_var_expand
from traitlets import Bool, Float, Int, Unicode, observe

from kie_widgets.errors import KieError, KieValidationError
from kie_widgets.notebook import cellrun
from kie_widgets.notebook import display as ui
from kie_widgets.notebook import options as opts
from kie_widgets.notebook.advice import describe_error, ensure_key, scrub_key
from kie_widgets.notebook.cellrun import CellJob
from kie_widgets.notebook.context import CellContext, capture
from kie_widgets.notebook.dryrun import show_dry_run
from kie_widgets.notebook.render import Renderer

if TYPE_CHECKING:
    from kie_widgets.catalog import Plan
    from kie_widgets.session import Session


def _build_help() -> str:
    """The magic's one help text, made from its parsers (so no option is described twice)."""
    subcommands = [
        opts.list_parser(),
        opts.simple_parser("credits", ""),
        opts.simple_parser("resume", ""),
        opts.simple_parser("doctor", ""),
        opts.history_parser(),
        *(opts.shorthand_parser(word) for word in opts.SHORTHANDS),
    ]
    usage = "\n".join("  " + " ".join(p.format_usage().split()[1:]) for p in subcommands)
    return (
        "Generate and edit images with kie.ai from a notebook cell.\n\n"
        f"{opts.generate_parser().format_help().removeprefix('::').strip()}\n\n"
        f"Line commands:\n{usage}\n\n"
        "{name} works on the magic's line too (e.g. --image {shots[0].id}); an unknown name is an error.\n"
        "Re-running an unchanged cell reuses the recorded result (no credits) unless --force.\n"
        "Settings: %config KieMagics (default_model, default_mask_model, wait, budget, thumbnail_side,\n"
        "...).\n"
        "`%kie_image history --help` etc. show each line command's options.\n"
    )


HELP = _build_help()


def _help_text() -> str:
    return HELP


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
    budget = Float(
        None,
        allow_none=True,
        help="Spending budget of this kernel in credits (the Studio obeys the same one); None: no limit.",
    ).tag(config=True)

    @observe("budget")
    def _budget_changed(self, change: Any) -> None:
        current_session().budget.limit = change["new"]

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        #: The context of the last cell that ran the magic (shown by ``doctor``).
        self.last_context: CellContext | None = None

    @property
    def _user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    # ---- entry point ------------------------------------------------------------------------

    @line_cell_magic
    @needs_local_scope
    @no_var_expand
    def kie_image(self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None) -> None:
        line = opts.expand_line(line, {**self._user_ns, **(local_ns or {})})
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

    def _capture(self, line: str, cell: str | None, run: opts.RunOptions) -> CellContext:
        """The cell's context, read now on the calling thread (and kept for ``doctor``)."""
        source = f"%%kie_image {line}\n{cell}" if cell is not None else f"%kie_image {line}"
        self.last_context = capture(self.shell, cell_source=source, scene_option=run.scene_id)
        return self.last_context

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
        ctx = self._capture(line, cell, args.run)
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
        ctx = self._capture(line, cell, args.run)
        params: dict[str, Any] = {**args.params, **args.run.extra}
        model = args.model or self._default_for(args.operation, mask=args.mask is not None)
        params["images"] = [args.asset]
        if args.mask:
            params["mask"] = args.mask
        self._run([(model, params)], prompt, ctx, args.run, operation=args.operation)

    def _default_for(self, operation: str, *, mask: bool) -> str:
        """The model a shorthand uses when none is given: the configured default for edits, else the
        catalog guidance's first choice for the job (the same pick the client makes)."""
        if operation == "edit":
            return self.default_mask_model if mask else self.default_model
        from kie_widgets.catalog import default_model

        try:
            return default_model(operation)
        except KieValidationError:
            raise UsageError(f"{operation}: the catalog has no model for this; pass --model.") from None

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
        if not run.dry_run:
            self._ensure_key()
        session = current_session()
        groups = self._plan(session, requests, prompt)
        if run.dry_run:
            for planned in groups:
                show_dry_run(planned, force=run.force)
            return
        wait = self.wait if run.wait is None else run.wait
        renderer = self._renderer()
        live = _is_kernel(self.shell)
        jobs: list[CellJob] = []
        for (model, params), planned in zip(requests, groups, strict=True):
            label = planned[0].display_name
            if planned[0].unvalidated:  # said on every run: nothing but kie checks a raw request
                label += " (raw: unvalidated, cost unknown)"
            status = ui.StatusLine(label, live=live)
            job = CellJob(
                model=model,
                label=label,
                kwargs=params,
                status=status,
                operation=operation or _operation_for(planned[0], params),
                planned_credits=sum(p.estimated_credits for p in planned),
                context=ctx,
            )
            # One slot per expected image, right under this model's status line: each model's images
            # then sit under its own caption, and a --no-wait result lands in this cell. At least one,
            # so a background thread never has to display anything new.
            job.slots = [ui.show({"text/plain": ""}) for _ in range(max(1, sum(p.n for p in planned)))]
            jobs.append(job)
        out: list[Any] = []
        if run.out:
            self._user_ns[run.out] = out
        for job, planned in zip(jobs, groups, strict=True):
            try:
                submitted = session.submit(
                    planned,
                    scene_id=ctx.scene_id,
                    context=ctx.as_context(),
                    reuse=not run.force,
                    force=run.force,
                    timeout=run.timeout,
                    operation=job.operation,
                    on_event=cellrun.status_callback(job.status, draw=not wait),
                    on="loop",
                )
            except KieError as exc:
                raise UsageError(scrub_key(str(exc))) from None
            job.future = submitted.futures[planned[0].request]
        if not wait:
            for job in jobs:
                assert job.future is not None
                job.future.add_done_callback(cellrun.finish_later(job, renderer, out))
            if live:
                threading.Thread(
                    target=cellrun.tick_until_done, args=(jobs, self.tick_interval), daemon=True
                ).start()
            return
        self._show_when_done(jobs, renderer, out)

    def _show_when_done(self, jobs: list[CellJob], renderer: Renderer, out: list[Any]) -> None:
        """Wait for ``jobs`` on this thread, show what each made, and fail the cell if any failed."""
        cellrun.wait_all(jobs, self.tick_interval)
        errors: list[tuple[CellJob, BaseException]] = []
        for job in jobs:
            assert job.future is not None
            assets, exc = cellrun.outcome(job.future)
            if exc is not None:
                errors.append((job, exc))
            if assets:
                cellrun.show_assets(job, assets, renderer, error=exc)
            elif exc is not None:
                job.status.replace(ui.status_bundle(cellrun.error_line(job, exc), failed=True))
            out.extend(assets)
        cellrun.bind_last(out)
        if errors:
            raise cellrun.failure(errors)

    def _renderer(self) -> Renderer:
        return Renderer(side=self.thumbnail_side, max_bytes=self.max_inline_bytes)

    def _plan(
        self, session: Session, requests: list[tuple[str, dict[str, Any]]], prompt: str | None
    ) -> list[list[Plan]]:
        """Exactly the plans the cell will send, one group per model, or a UsageError now."""
        try:
            plans = session.plan([{"model": model, "prompt": prompt, **params} for model, params in requests])
        except KieError as exc:
            raise UsageError(scrub_key(str(exc))) from None
        return [[p for p in plans if p.request == i] for i in range(len(requests))]

    def _ensure_key(self) -> None:
        """No key and no sandbox: ask for one with a hidden prompt, or say how to use the sandbox."""
        ensure_key()

    # ---- line subcommands -------------------------------------------------------------------

    def _cmd_help(self, rest: str) -> None:
        print(_help_text())

    def _cmd_list(self, rest: str) -> None:
        args = opts.parse_or_help(opts.list_parser(), rest)
        if args is None:
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
        matching = [
            m
            for m in listing
            if all(w in " ".join([m["name"], m["id"], m["family"], *m["modes"]]).lower() for w in words)
        ]
        if not matching:
            raise UsageError(
                f"list: no model matches {' '.join(args.filter) or args.mode or args.capability!r} "
                f"(capabilities: {', '.join(CAPABILITIES)})."
            )
        rows: list[tuple[str, ...]]
        if args.wide:
            headers: tuple[str, ...] = ("model", "kie id", "age", "modes", "aspect ratios", "price", "takes")
            rows = [
                (
                    m["name"],
                    m["id"],
                    m["age"],
                    ", ".join(m["modes"]),
                    " ".join(m.get("aspect_ratios") or ()) or "-",
                    m.get("price", ""),
                    ", ".join(c for c in ("negative_prompt", "seed", "mask") if m.get(c)) or "-",
                )
                for m in matching
            ]
            title = f"{len(rows)} models"
        else:
            headers = ("model", "kie id", "age", "credits")
            rows = [(m["name"], m["id"], m["age"], _credits_short(m)) for m in matching]
            rows = _fit_first_column(headers, rows, LIST_WIDTH)
            title = f"{len(rows)} models (credits per image, + when tiered; --wide for every column)"
        ui.show(ui.table_bundle(headers, rows, title=title))

    def _cmd_credits(self, rest: str) -> None:
        parser = opts.simple_parser("credits", "Show the account's credit balance.")
        if opts.parse_or_help(parser, rest) is None:
            return
        self._ensure_key()
        session = current_session()
        try:
            balance = session.credits()
        except KieError as exc:
            raise UsageError(scrub_key(describe_error(exc))) from None
        where = " (offline sandbox)" if session.settings.sandbox else ""
        ui.show(ui.text_bundle(f"Balance: {balance:,.2f} credits{where}"))

    def _cmd_resume(self, rest: str) -> None:
        parser = opts.simple_parser("resume", "Collect finished tasks recorded in the journal.")
        if opts.parse_or_help(parser, rest) is None:
            return
        self._ensure_key()
        session = current_session()
        pending = session.pending()
        if not pending:
            ui.show(ui.text_bundle("Nothing to resume: the journal has no pending tasks."))
            return
        status = ui.StatusLine(f"resume ({len(pending)} task(s))", live=_is_kernel(self.shell))
        job = CellJob(model="", label="resume", kwargs={}, status=status)
        job.future = session.resume(on_status=cellrun.status_callback(status, draw=False))
        cellrun.wait_all([job], self.tick_interval)
        assets, exc = cellrun.outcome(job.future)
        if assets:
            cellrun.show_assets(job, assets, self._renderer())
        else:
            status.replace(ui.status_bundle("resume · no task finished yet"))
        report = job.future.result() if exc is None else None
        if report is not None and hasattr(report, "summary"):
            # What stayed open and why: pending tasks, given-up results, creates to check at kie.
            lines = report.summary().splitlines()[1:]
            if lines:
                ui.show(ui.text_bundle("\n".join(lines)))
        cellrun.bind_last(assets)
        if exc is not None:
            raise cellrun.failure([(job, exc)])

    def _cmd_history(self, rest: str) -> None:
        args = opts.parse_or_help(opts.history_parser(), rest)
        if args is None:
            return
        from kie_widgets.notebook.history import history_rows

        scene = opts.parse_scene(args.scene)
        session = current_session()
        rows = history_rows(
            session,
            scene=scene,
            model=args.model,
            since=args.since,
            until=args.until,
            include_superseded=args.all,
            limit=args.limit,
        )
        headers = ("id", "v", "scene", "model", "size", "created (UTC)", "prompt", "file")
        title = f"{len(rows)} image(s) in {session.manifest.path}"
        ui.show(ui.table_bundle(headers, rows, title=title))

    def _cmd_doctor(self, rest: str) -> None:
        parser = opts.simple_parser("doctor", "Show where settings came from (the key masked) and versions.")
        if opts.parse_or_help(parser, rest) is None:
            return
        from kie_widgets.notebook.history import doctor_rows

        ctx = capture(self.shell)
        rows = doctor_rows(self, ctx)
        ui.show(ui.table_bundle(("setting", "value"), rows, title="kie_widgets doctor"))


# ---- helpers ----------------------------------------------------------------------------------


def current_session() -> Session:
    """The process's ``Session`` (imported late: ``%load_ext`` must stay light)."""
    from kie_widgets.session import current_session as session

    return session()


def _operation_for(planned: Any, params: Mapping[str, Any]) -> str:
    """What the manifest calls this request: "generate" without inputs, else "edit" or the model's mode."""
    if not params.get("images") and not params.get("mask"):
        return "generate"
    mode = str(getattr(planned.spec, "mode", "edit"))
    return "edit" if mode in {"text-to-image", "edit", "masked-edit"} else mode


#: The width ``%kie_image list`` fits by default (a common terminal; --wide shows every column).
LIST_WIDTH = 100


def _credits_short(row: Mapping[str, Any]) -> str:
    """'6' for a flat price, '3.5+' when the price depends on a tier (the lowest tier first)."""
    low = row["credits_from"]
    text = str(int(low)) if float(low).is_integer() else f"{low:g}"
    flat = row.get("price") in (f"{text} cr/image", f"{text} cr/request")
    return text if flat else text + "+"


def _fit_first_column(
    headers: Sequence[str], rows: list[tuple[str, ...]], width: int
) -> list[tuple[str, ...]]:
    """Rows whose first column is clipped (with …) so that the table is at most ``width`` wide."""
    others = sum(max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers) if i) + 2 * (
        len(headers) - 1
    )
    room = max(len(headers[0]), width - others)
    return [(r[0] if len(r[0]) <= room else r[0][: room - 1] + "…", *r[1:]) for r in rows]


def _client_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _lookup_preset(name: str, presets: Mapping[str, Any]) -> str | None:
    norm = name.strip().lower().replace("_", "-").replace(" ", "-")
    for key in presets:
        if key.lower().replace("_", "-").replace(" ", "-") == norm:
            return key
    return None


def _is_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (updates redraw in place); False in a terminal (they print)."""
    return getattr(shell, "kernel", None) is not None


__all__ = ["KieMagics", "describe_error"]
