"""Settings: where the API key comes from, which hosts to talk to, and where the project lives.

Resolution order for every setting: explicit argument, then the process environment, then a
``.env`` file in the project root (read, never exported into ``os.environ``), then the default.
The key is wrapped in ``Secret`` as soon as it is read, so no repr, log line or traceback shows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kie_widgets.errors import KieConfigError

DEFAULT_BASE_URL = "https://api.kie.ai"
DEFAULT_UPLOAD_URL = "https://kieai.redpandaai.co"
#: The most images one request (one ``n``) may ask for unless ``KIE_MAX_IMAGES`` allows more: a typo
#: like ``n=2000`` would otherwise start spending at once.
DEFAULT_MAX_IMAGES = 64
#: The key the in-process sandbox accepts; it is not a secret and works nowhere else.
SANDBOX_API_KEY = "sandbox-key"

# A folder that holds one of these is the project root (first match walking up from the cwd).
_ROOT_MARKERS = ("assets/manifest.json", "pyproject.toml", ".git", ".env")


class Secret:
    """A string that never shows itself: repr and str are masked, ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that needs it (the Authorization header)."""
        return self._value

    def header_problem(self) -> str | None:
        """Why this value cannot be an HTTP header (a newline, a space, non-ASCII), or ``None``."""
        for char in self._value:
            if not 0x21 <= ord(char) <= 0x7E:
                name = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space"}.get(char)
                return name or f"the character U+{ord(char):04X}"
        return None if self._value else "nothing (it is empty)"

    def scrub(self, text: str) -> str:
        """``text`` with this value, and every line of it, replaced by its masked form."""
        if not self._value:
            return text
        pieces = {self._value, repr(self._value)[1:-1], *(p for p in self._value.splitlines() if len(p) >= 6)}
        for piece in sorted(pieces, key=len, reverse=True):
            text = text.replace(piece, self.masked())
        return text

    def masked(self) -> str:
        """A hint at which key this is (its last 4 characters) that is safe to show."""
        if len(self._value) < 12:
            return "****"
        return f"****{self._value[-4:]}"

    def __repr__(self) -> str:
        return f"Secret({self.masked()!r})"

    __str__ = masked

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not pickled")


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the cwd) that looks like a project root.

    ``KIE_PROJECT_ROOT`` overrides the search. Without any marker the start folder itself is used.
    """
    override = os.environ.get("KIE_PROJECT_ROOT")
    if override:
        return Path(override).expanduser().resolve()
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return here


def read_dotenv(root: Path) -> dict[str, str]:
    """The ``.env`` file of ``root`` as a dict (empty when there is none)."""
    path = root / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # deferred: only needed when a .env exists

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the client needs to know before its first request."""

    api_key: Secret | None
    #: Where the key came from: "argument", "environment", ".env", "sandbox" or "none".
    key_source: str
    base_url: str = DEFAULT_BASE_URL
    upload_url: str = DEFAULT_UPLOAD_URL
    sandbox: bool = False
    project_root: Path = field(default_factory=Path.cwd)
    #: The per-request cap on ``n`` (``KIE_MAX_IMAGES``).
    max_images: int = DEFAULT_MAX_IMAGES

    @property
    def assets_dir(self) -> Path:
        """The folder that holds ``manifest.json`` and the downloaded images."""
        return self.project_root / "assets"

    def require_key(self) -> Secret:
        """The key, or a ``KieConfigError`` that says how to provide one."""
        if self.api_key is None:
            raise KieConfigError(
                "No kie.ai API key found.",
                hint=(
                    "Set KIE_API_KEY in the environment or in a .env file in the project root "
                    "(get one at https://kie.ai/api-key), or set KIE_SANDBOX=1 to use the offline sandbox."
                ),
            )
        problem = self.api_key.header_problem()
        if problem is not None:
            raise KieConfigError(
                f"The kie.ai API key {self.api_key.masked()} (from {self.key_source}) contains {problem}, "
                "which cannot be sent in an HTTP header; nothing was sent.",
                hint="Copy the key again from https://kie.ai/api-key (a stray line break or space "
                "often comes along) and set KIE_API_KEY to exactly that.",
            )
        return self.api_key


def load_settings(
    *,
    api_key: str | Secret | None = None,
    base_url: str | None = None,
    upload_url: str | None = None,
    sandbox: bool | None = None,
    project_root: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings from arguments, the environment and ``.env``, in that order."""
    env = os.environ if environ is None else environ
    root = Path(project_root).resolve() if project_root else find_project_root()
    dotenv = read_dotenv(root)

    def pick(name: str) -> tuple[str | None, str]:
        if env.get(name):
            return env[name], "environment"
        if dotenv.get(name):
            return dotenv[name], ".env"
        return None, "none"

    use_sandbox = sandbox if sandbox is not None else _flag(pick("KIE_SANDBOX")[0])
    key: Secret | None
    if api_key is not None:
        key, source = (api_key if isinstance(api_key, Secret) else Secret(api_key)), "argument"
    else:
        raw, source = pick("KIE_API_KEY")
        key = Secret(raw.strip()) if raw else None
    if use_sandbox and key is None:
        key, source = Secret(SANDBOX_API_KEY), "sandbox"
    cap_text = pick("KIE_MAX_IMAGES")[0]
    max_images = DEFAULT_MAX_IMAGES
    if cap_text is not None:
        if not cap_text.strip().isdigit() or int(cap_text) < 1:
            raise KieConfigError(
                f"KIE_MAX_IMAGES is {cap_text!r}; it must be a whole number of at least 1.",
                hint=f"Unset it for the default of {DEFAULT_MAX_IMAGES}.",
            )
        max_images = int(cap_text)
    return Settings(
        api_key=key,
        key_source=source,
        base_url=(base_url or pick("KIE_BASE_URL")[0] or DEFAULT_BASE_URL).rstrip("/"),
        upload_url=(upload_url or pick("KIE_UPLOAD_URL")[0] or DEFAULT_UPLOAD_URL).rstrip("/"),
        sandbox=use_sandbox,
        project_root=root,
        max_images=max_images,
    )


__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_IMAGES",
    "DEFAULT_UPLOAD_URL",
    "SANDBOX_API_KEY",
    "Secret",
    "Settings",
    "find_project_root",
    "load_settings",
    "read_dotenv",
]
