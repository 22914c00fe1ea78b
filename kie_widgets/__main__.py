"""``python -m kie_widgets demo [--out DIR]``: run the quickstart notebook headless and keep everything.

The quickstart is executed by nbclient in a fresh kernel whose project root is the output folder, so
the executed notebook, the downloaded images and ``assets/manifest.json`` end up together in one place.
Without ``KIE_API_KEY`` (environment or ``.env``) it runs against the built-in sandbox: no key, no
network, no credits. With a key it uses the real API, and says so before spending anything.

The kernel is driven the way JupyterLab drives it: each execute request carries the cell's id and
its metadata, and ``JPY_SESSION_NAME`` names the notebook, so the manifest entries of the demo show
the cell and notebook every image came from.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

QUICKSTART = "quickstart.ipynb"


def find_quickstart() -> Path:
    """The quickstart notebook shipped beside the package (the repository's ``notebooks/``)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks" / QUICKSTART, here / "notebooks" / QUICKSTART):
        if candidate.is_file():
            return candidate
    raise SystemExit(
        f"Cannot find notebooks/{QUICKSTART} next to the package ({here}); run the demo from a checkout."
    )


def cell_aware_client(nb: Any, **kwargs: Any) -> Any:
    """An nbclient ``NotebookClient`` that sends ``cellId`` and the cell's metadata like JupyterLab 4."""
    from nbclient import NotebookClient

    class CellAwareClient(NotebookClient):
        """Adds JupyterLab's execute-request metadata (``cellId`` merged with the cell's metadata)."""

        _current_cell: Any = None

        async def async_execute_cell(self, cell: Any, cell_index: int, *args: Any, **kw: Any) -> Any:
            self._current_cell = cell
            return await super().async_execute_cell(cell, cell_index, *args, **kw)

        async def async_start_new_kernel_client(self) -> Any:
            kc = await super().async_start_new_kernel_client()
            client = self

            def execute(
                code: str,
                silent: bool = False,
                store_history: bool = True,
                user_expressions: dict[str, Any] | None = None,
                allow_stdin: bool | None = None,
                stop_on_error: bool = True,
            ) -> str:
                cell = client._current_cell
                metadata: dict[str, Any] = {}
                if cell is not None:
                    # JupyterLab: {...cell.metadata, ...metadata, cellId}
                    metadata = {**dict(cell.get("metadata", {})), "cellId": cell.get("id")}
                content = {
                    "code": code,
                    "silent": silent,
                    "store_history": store_history,
                    "user_expressions": user_expressions or {},
                    "allow_stdin": False,
                    "stop_on_error": stop_on_error,
                }
                msg = kc.session.msg("execute_request", content, metadata=metadata)
                kc.shell_channel.send(msg)
                return str(msg["header"]["msg_id"])

            kc.execute = execute  # type: ignore[method-assign]
            return kc

    return CellAwareClient(nb, **kwargs)


def run_demo(out: Path, *, sandbox: bool = False, fresh: bool = False, timeout: int = 600) -> int:
    """Execute the quickstart into ``out``; returns a process exit code."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    from kie_widgets.config import load_settings

    source = find_quickstart()
    out = out.expanduser().resolve()
    if fresh and (out / "assets").exists():
        shutil.rmtree(out / "assets")
    (out / "assets").mkdir(parents=True, exist_ok=True)
    target = out / QUICKSTART

    settings = load_settings(project_root=Path.cwd())
    live = settings.api_key is not None and not settings.sandbox and not sandbox
    env_changes = {"KIE_PROJECT_ROOT": str(out), "JPY_SESSION_NAME": str(target)}
    if live:
        print("KIE_API_KEY is set: the demo uses the real kie.ai API and spends credits.")
        print("(Run with --sandbox to use the offline emulator instead.)")
        if settings.key_source == ".env":
            # The kernel's project root is the output folder, whose .env is not the one we read.
            env_changes["KIE_API_KEY"] = settings.api_key.reveal() if settings.api_key else ""
    else:
        env_changes["KIE_SANDBOX"] = "1"
        print("No KIE_API_KEY: running against the built-in sandbox (offline, no credits).")
    saved = {k: os.environ.get(k) for k in env_changes}
    os.environ.update(env_changes)
    nb = nbformat.read(source, as_version=4)
    started = time.monotonic()
    print(f"Executing {source.name} headless in {out} ...", flush=True)
    client = cell_aware_client(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(out)}},
    )
    code = 0
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"A cell failed; the partly executed notebook is saved.\n{exc}", file=sys.stderr)
        code = 1
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        nbformat.write(nb, target)
    elapsed = time.monotonic() - started
    folder = out / "assets" / "images"
    images = [p for p in folder.glob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}]
    print(f"\nDone in {elapsed:.0f}s ({'live API' if live else 'sandbox'}). Everything is in {out}:")
    print(f"  notebook  {target}")
    print(f"  manifest  {out / 'assets' / 'manifest.json'}")
    print(f"  images    {out / 'assets' / 'images'} ({len(images)} files)")
    print(f"Open it in JupyterLab or Notebook 7 (not installed by the demo extra): jupyter lab {target}")
    return code


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m kie_widgets demo``."""
    parser = argparse.ArgumentParser(prog="python -m kie_widgets", description="kie_widgets commands.")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser(
        "demo",
        help="Run the quickstart notebook headless and keep the notebook, images and manifest.",
        description="Execute notebooks/quickstart.ipynb headless (sandbox unless KIE_API_KEY is set).",
    )
    demo.add_argument("--out", default="demo-output", help="Folder for the results (default ./demo-output).")
    demo.add_argument("--sandbox", action="store_true", help="Use the offline sandbox even with a key.")
    demo.add_argument("--fresh", action="store_true", help="Start from an empty manifest in --out.")
    demo.add_argument("--timeout", type=int, default=600, help="Seconds each cell may take (600).")
    args = parser.parse_args(argv)
    if args.command != "demo":
        parser.print_help()
        return 2
    return run_demo(Path(args.out), sandbox=args.sandbox, fresh=args.fresh, timeout=args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
