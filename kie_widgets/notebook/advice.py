"""What a cell says when something goes wrong: advice per kie error, and the API key kept out of it.

A missing key is asked for with a hidden prompt when the frontend can ask; otherwise the message says
how to set one or how to use the offline sandbox. Every message shown passes ``scrub_key`` first.
"""

from __future__ import annotations

import os
import sys

from IPython.core.error import UsageError

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


def scrub_key(text: str) -> str:
    """Defence in depth: ``text`` with the current API key replaced, whatever produced the text."""
    from kie_widgets.config import load_settings

    key = load_settings().api_key
    secret = key.reveal() if key is not None else ""
    return text.replace(secret, "****") if len(secret) >= 8 else text


def interactive_stdin() -> bool:
    """True when the frontend can answer a prompt (the execute request allows stdin, or a TTY)."""
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        parent = kernel.get_parent("shell") if hasattr(kernel, "get_parent") else {}
        content = (parent or {}).get("content", {})
        return bool(content.get("allow_stdin", False))
    return bool(getattr(sys.stdin, "isatty", lambda: False)())


def ask_key() -> str:
    """A hidden prompt for the key; empty when the frontend cannot ask (headless runs)."""
    import getpass

    from IPython.core.error import StdinNotImplementedError

    if not sys.stdin or not interactive_stdin():
        return ""
    try:
        return getpass.getpass("kie.ai API key (hidden; leave empty to cancel): ").strip()
    except (StdinNotImplementedError, EOFError, OSError, KeyboardInterrupt):
        return ""


def ensure_key() -> None:
    """No key and no sandbox: ask for one with a hidden prompt, or say how to use the sandbox."""
    from kie_widgets.config import load_settings

    if load_settings().api_key is not None:
        return
    key = ask_key()
    if not key:
        raise UsageError(
            "No kie.ai API key found. Set KIE_API_KEY (environment or .env in the project root; "
            "get one at https://kie.ai/api-key), or run `%env KIE_SANDBOX=1` to use the offline sandbox."
        )
    # The session compares settings on every call, so its next client reads the new key.
    os.environ["KIE_API_KEY"] = key
    print("API key set for this kernel (not shown, not saved).")


__all__ = ["ask_key", "describe_error", "ensure_key", "interactive_stdin", "scrub_key"]
