"""Parsing the ``%kie_image`` command line: every option is read and checked before anything is done.

The magic's first line is split and parsed here into plain dataclasses (``GenerateArgs``,
``ShorthandArgs``, ...). Nothing in this module talks to the network, the manifest or the display, so
a typo fails fast with a ``UsageError`` that names the option and the values it accepts.
"""

from __future__ import annotations

import keyword
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split

from kie_widgets.errors import KieValidationError
from kie_widgets.session._values import parse_value

#: Line-magic subcommands (``%kie_image list``) and the shorthands that act on an asset id.
SUBCOMMANDS = ("list", "credits", "resume", "history", "doctor", "help")
SHORTHANDS = {"upscale": "upscale", "remove-bg": "remove-background", "edit": "edit"}

_ASSET_ID = re.compile(r"^img-\d{3,}$")
_URL = re.compile(r"^(https?|data):", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SET_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


_MASK_HELP = (
    "Mask image (path, URL or asset id): white = change, black = keep; sent in the model's convention."
)


def parse_line(parser: MagicArgumentParser, line: str) -> Any:
    """Split ``line`` like a POSIX shell (quotes removed) and parse it; None when --help is asked for.

    IPython's own ``parse_argstring`` keeps the quotes around quoted words, which would make
    ``"4o Image"`` a model name with quote marks in it.
    """
    try:
        argv = arg_split(line, posix=True, strict=True)
    except ValueError as exc:
        raise UsageError(f"cannot split the line ({exc}); check the quotes.") from None
    if "-h" in argv or "--help" in argv:
        return None
    return parser.parse_args(argv)


def parse_or_help(parser: MagicArgumentParser, line: str) -> Any:
    """``parse_line``, but when ``--help`` is asked for, print the parser's help and return None."""
    args = parse_line(parser, line)
    if args is None:
        print(parser.format_help())
    return args


def _parser(prog: str, description: str) -> MagicArgumentParser:
    parser = MagicArgumentParser(prog=prog, description=description)
    parser.add_argument("-h", "--help", action="store_true", help="Show this help and do nothing else.")
    return parser


def _add_run_options(parser: MagicArgumentParser) -> None:
    """Options shared by generation and the shorthands (where the result goes, how to wait)."""
    parser.add_argument(
        "-S", "--scene", metavar="N", help="Scene number for the manifest (3, scene-3); else from the cell."
    )
    parser.add_argument(
        "-o", "--out", metavar="NAME", help="Bind the list of result assets to this variable."
    )
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="Send again even if this exact recipe was made before, or an earlier create of it is uncertain.",
    )
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument(
        "-w", "--wait", dest="wait", action="store_true", default=None, help="Block until done (default)."
    )
    wait.add_argument(
        "-W",
        "--no-wait",
        dest="wait",
        action="store_false",
        help="Return at once; the output fills in when the task finishes.",
    )
    parser.add_argument(
        "-t",
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="Stop waiting after this long (task continues).",
    )
    parser.add_argument(
        "-x",
        "--set",
        dest="extra",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Any model-specific field, e.g. --set output_format=png (repeatable).",
    )
    parser.add_argument(
        "-d", "--dry-run", action="store_true", help="Show the exact request and its cost; send nothing."
    )


def generate_parser() -> MagicArgumentParser:
    """The parser for ``%%kie_image [MODEL[, MODEL...]] [options]``."""
    parser = _parser(
        "%kie_image",
        "Generate or edit images with kie.ai. The cell body is the prompt ({name} inserts a variable, "
        "{{ and }} are literal braces). Several models separated by commas run side by side.",
    )
    parser.add_argument(
        "model",
        nargs="*",
        metavar="MODEL",
        help="Model name, kie id or alias (default: KieMagics.default_model).",
    )
    parser.add_argument("-r", "--ratio", metavar="W:H", help="Aspect ratio, e.g. 16:9 (model-dependent).")
    parser.add_argument("-n", "--n", type=int, metavar="COUNT", help="Number of images.")
    parser.add_argument("-N", "--negative", metavar="TEXT", help="Negative prompt: what to leave out.")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="For a kie model id the catalog does not know yet: send the prompt and the --set fields "
        "as its input, unchecked (cost unknown).",
    )
    parser.add_argument(
        "-P",
        "--preset",
        action="append",
        default=[],
        metavar="NAME",
        help="Negative-prompt preset from the catalog (repeatable; joined with --negative).",
    )
    parser.add_argument("-s", "--seed", type=int, metavar="INT", help="Seed, where the model takes one.")
    parser.add_argument(
        "-i",
        "--image",
        action="append",
        default=[],
        metavar="SRC",
        help="Input image: a path, a URL or an asset id like img-003 (repeatable).",
    )
    parser.add_argument("-m", "--mask", metavar="SRC", help=_MASK_HELP)
    parser.add_argument(
        "-p", "--prompt", metavar="TEXT", help="Prompt on the line (line magic form); the cell body wins."
    )
    _add_run_options(parser)
    return parser


def shorthand_parser(name: str) -> MagicArgumentParser:
    """The parser for ``%kie_image upscale|remove-bg|edit ID [options]``."""
    what = {
        "upscale": "Upscale an asset.",
        "remove-bg": "Remove the background of an asset.",
        "edit": "Edit an asset; the cell body (or --prompt) says what to change.",
    }[name]
    parser = _parser(f"kie_image {name}", what)
    parser.add_argument("asset", metavar="ID", help="Asset id (img-003), a path or a URL.")
    parser.add_argument("-M", "--model", metavar="MODEL", help="Model to use (default: the catalog's pick).")
    if name == "edit":
        parser.add_argument("-p", "--prompt", metavar="TEXT", help="What to change (or use the cell body).")
        parser.add_argument("-m", "--mask", metavar="SRC", help=_MASK_HELP)
        parser.add_argument("-r", "--ratio", metavar="W:H", help="Aspect ratio, where the model takes one.")
        parser.add_argument("-s", "--seed", type=int, metavar="INT", help="Seed, where the model takes one.")
    _add_run_options(parser)
    return parser


def list_parser() -> MagicArgumentParser:
    """The parser for ``%kie_image list [FILTER]``."""
    parser = _parser(
        "kie_image list",
        "List the models: name, kie id, new or older, price (--wide: modes, ratios, inputs).",
    )
    parser.add_argument("filter", nargs="*", metavar="TEXT", help="Keep models whose name/id/mode match.")
    parser.add_argument("--mode", metavar="MODE", help="Only this mode (text-to-image, edit, upscale, ...).")
    parser.add_argument(
        "--with",
        dest="capability",
        metavar="CAPABILITY",
        help="Only models that take this (negative_prompt, seed, mask, images, ...).",
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="All columns (modes, aspect ratios, full prices, inputs); the default fits 100 columns.",
    )
    return parser


def history_parser() -> MagicArgumentParser:
    """The parser for ``%kie_image history [filters]``."""
    parser = _parser("kie_image history", "Show the manifest's images, newest last.")
    parser.add_argument("-S", "--scene", metavar="N", help="Only this scene.")
    parser.add_argument("-M", "--model", metavar="TEXT", help="Only models whose name contains this.")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="Created on or after this date (UTC).")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="Created on or before this date (UTC).")
    parser.add_argument("-a", "--all", action="store_true", help="Include superseded versions.")
    parser.add_argument("-l", "--limit", type=int, default=50, metavar="N", help="At most N rows (50).")
    return parser


def simple_parser(name: str, description: str) -> MagicArgumentParser:
    """A parser that takes no arguments besides --help (credits, resume, doctor)."""
    return _parser(f"kie_image {name}", description)


@dataclass(frozen=True)
class RunOptions:
    """Where results go and how the cell waits; shared by generation and shorthands."""

    scene_id: int | None = None
    out: str | None = None
    force: bool = False
    wait: bool | None = None
    timeout: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True)
class GenerateArgs:
    """A parsed ``%%kie_image`` call: models, prompt and unified parameters, ready to act on."""

    models: tuple[str, ...]
    prompt: str | None
    params: dict[str, Any]
    images: tuple[str, ...]
    mask: str | None
    presets: tuple[str, ...]
    run: RunOptions


@dataclass(frozen=True)
class ShorthandArgs:
    """A parsed ``upscale`` / ``remove-bg`` / ``edit`` shorthand."""

    operation: str  # "upscale" | "remove-background" | "edit"
    asset: str
    model: str | None
    prompt: str | None
    mask: str | None
    params: dict[str, Any]
    run: RunOptions


def parse_scene(value: str | int | None, *, field_name: str = "--scene") -> int | None:
    """``3``, ``"3"``, ``"scene-3"``, ``"scene_03"`` -> 3; None stays None; anything else is a UsageError."""
    from kie_widgets.session._context import scene_number

    try:
        return scene_number(value, field_name=field_name)
    except KieValidationError:
        raise UsageError(f"{field_name}: expected a scene number like 3 or scene-3, got {value!r}.") from None


def parse_set(pairs: list[str]) -> dict[str, Any]:
    """``["output_format=png", "isEnhance=true"]`` -> ``{"output_format": "png", "isEnhance": True}``."""
    extra: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not _SET_KEY.match(key):
            raise UsageError(
                f"--set: expected KEY=VALUE with KEY a field name (e.g. output_format=png), got {pair!r}."
            )
        extra[key] = parse_value(value)
    return extra


def check_source(value: str, *, option: str) -> str:
    """An image source must be a URL, an asset id or an existing file; the error names the option."""
    if _URL.match(value) or _ASSET_ID.match(value):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(
            f"{option}: {value!r} is not an existing file, an http(s) URL or an asset id like img-003."
        )
    return str(path)


def _run_options(args: Any) -> RunOptions:
    if args.out is not None and (not _IDENTIFIER.match(args.out) or keyword.iskeyword(args.out)):
        raise UsageError(f"--out: {args.out!r} is not a valid Python variable name.")
    if args.timeout is not None and (not math.isfinite(args.timeout) or args.timeout <= 0):
        raise UsageError(f"--timeout: must be a positive number of seconds, got {args.timeout}.")
    return RunOptions(
        scene_id=parse_scene(args.scene),
        out=args.out,
        force=args.force,
        wait=args.wait,
        timeout=args.timeout,
        extra=parse_set(args.extra),
        dry_run=args.dry_run,
    )


def split_models(words: list[str]) -> tuple[str, ...]:
    """``["Flux", "Kontext", "Max,", "imagen4"]`` -> ``("Flux Kontext Max", "imagen4")``."""
    joined = " ".join(words)
    models = tuple(part.strip() for part in joined.split(",") if part.strip())
    if joined.strip() and not models:
        raise UsageError("MODEL: expected a model name or a comma-separated list of model names.")
    return models


def parse_generate(line: str, *, help_only: bool = False) -> GenerateArgs | None:
    """Parse the first line of ``%%kie_image``; None when ``--help`` was asked for."""
    args = parse_line(generate_parser(), line)
    if args is None or help_only:
        return None
    if args.n is not None and args.n < 1:
        raise UsageError(f"--n: must be 1 or more, got {args.n}.")
    params: dict[str, Any] = {}
    if args.ratio:
        params["aspect_ratio"] = args.ratio
    if args.n is not None:
        params["n"] = args.n
    if args.negative:
        params["negative_prompt"] = args.negative
    if args.seed is not None:
        params["seed"] = args.seed
    if args.raw:
        params["raw"] = True
    return GenerateArgs(
        models=split_models(args.model),
        prompt=args.prompt,
        params=params,
        images=tuple(check_source(v, option="--image") for v in args.image),
        mask=check_source(args.mask, option="--mask") if args.mask else None,
        presets=tuple(args.preset),
        run=_run_options(args),
    )


def parse_shorthand(name: str, line: str) -> ShorthandArgs | None:
    """Parse ``upscale|remove-bg|edit ID [options]`` (``line`` without the subcommand word)."""
    args = parse_line(shorthand_parser(name), line)
    if args is None:
        return None
    params: dict[str, Any] = {}
    if getattr(args, "ratio", None):
        params["aspect_ratio"] = args.ratio
    if getattr(args, "seed", None) is not None:
        params["seed"] = args.seed
    mask = getattr(args, "mask", None)
    return ShorthandArgs(
        operation=SHORTHANDS[name],
        asset=check_source(args.asset, option="ID"),
        model=args.model,
        prompt=getattr(args, "prompt", None),
        mask=check_source(mask, option="--mask") if mask else None,
        params=params,
        run=_run_options(args),
    )


class _PromptFormatter(string.Formatter):
    """``str.format`` over the user's namespace with a friendly error for unknown names."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, int) or key == "":
            raise UsageError(
                "prompt: {} needs a variable name inside, e.g. {subject}; write {{ and }} for literal braces."
            )
        if key not in self.namespace:
            raise UsageError(
                f"prompt: {{{key}}} is not a defined variable; define it first, or write {{{{{key}}}}} "
                "for literal braces."
            )
        return self.namespace[key]


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Insert ``{name}`` (also ``{name.attr}``, ``{name[0]}``, ``{x:.2f}``) from ``namespace``.

    ``{{`` and ``}}`` are literal braces. Unknown names and unbalanced braces are UsageErrors that say
    how to escape.
    """
    try:
        return _PromptFormatter(namespace).vformat(text, (), {})
    except UsageError:
        raise
    except (ValueError, IndexError, KeyError, AttributeError, TypeError) as exc:
        raise UsageError(
            f"prompt: cannot fill in the braces ({exc}); write {{{{ and }}}} for literal braces."
        ) from None


_FIELD_ROOT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_line(line: str, namespace: Mapping[str, Any]) -> str:
    """The magic's line with IPython's own expansion (``{expr}``, ``$name``; ``{{ }}`` literal).

    One difference: where IPython silently keeps a line whose ``{name}`` names no variable (and
    would send ``{name}`` to kie as text), this is a UsageError naming it.
    """
    try:
        fields = [name for _text, name, _spec, _conv in string.Formatter().parse(line) if name]
    except ValueError:
        fields = []  # unbalanced braces: IPython keeps such a line as it is, and so do we
    for name in fields:
        root = _FIELD_ROOT.match(name)
        if root and root.group() not in namespace:
            raise UsageError(
                f"{{{name}}} on the magic line: {root.group()!r} is not a defined variable; define it "
                f"first, or write {{{{{name}}}}} for literal braces."
            )
    from IPython.utils.text import DollarFormatter

    try:
        return DollarFormatter().vformat(line, args=[], kwargs=dict(namespace))
    except Exception:  # IPython's rule: a line that cannot be formatted is used as it is
        return line


def prompt_from_cell(cell: str | None, line_prompt: str | None, namespace: Mapping[str, Any]) -> str | None:
    """The prompt: the cell body (interpolated, stripped), else ``--prompt``, else None.

    ``--prompt`` is taken as it is: ``expand_line`` has already expanded ``{name}`` on the line, and a
    second pass would turn the ``{{`` it left as ``{`` into an error.
    """
    body = (cell or "").strip()
    if body:
        return interpolate(body, namespace).strip()
    if line_prompt and line_prompt.strip():
        return line_prompt.strip()
    return None


__all__ = [
    "SHORTHANDS",
    "SUBCOMMANDS",
    "GenerateArgs",
    "RunOptions",
    "ShorthandArgs",
    "check_source",
    "expand_line",
    "generate_parser",
    "history_parser",
    "interpolate",
    "list_parser",
    "parse_generate",
    "parse_line",
    "parse_or_help",
    "parse_scene",
    "parse_set",
    "parse_shorthand",
    "parse_value",
    "prompt_from_cell",
    "shorthand_parser",
    "simple_parser",
    "split_models",
]
