"""The API key never lands in anything the client writes or shows: files, logs, reprs, errors."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import FAKE_KEY

from kie_widgets import errors as E

pytestmark = pytest.mark.anyio


async def test_no_file_or_output_holds_the_key(
    make_sandbox: Any,
    make_client: Any,
    manifest: Any,
    project: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After successes, failures, a timeout, an uncertain create and a resume, nothing holds the key."""
    from PIL import Image

    from kie_widgets.sandbox import Fault

    log_file = project / "logs" / "client.log"
    log_file.parent.mkdir()
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    try:
        sb = make_sandbox(model_seconds={"google/imagen4-ultra": 500.0})
        input_path = project / "input.png"
        Image.new("RGB", (40, 40), (1, 2, 3)).save(input_path)
        async with make_client(sb) as kie:
            shown.append(repr(kie))
            shown.append(repr(kie.api))
            assets = await kie.generate(
                "Imagen 4", "a secret-free fox", on_status=lambda u: shown.append(repr(u))
            )
            assets += await kie.edit(input_path, "paint it", model="Flux Kontext Pro")
            shown.extend(repr(a) for a in assets)
            shown.extend(str(a._repr_mimebundle_().get("text/plain", "")) for a in assets)
            scenarios = [
                (Fault(kind="envelope", code=402, route="create"), E.KieInsufficientCreditsError),
                (Fault(kind="timeout", route="create"), E.KieSubmitUncertainError),
                (Fault(kind="http", code=401, route="create"), E.KieAuthError),
                (Fault(kind="bomb", times=3), E.KieImageError),
            ]
            for fault, error in scenarios:
                sb.add_fault(fault)
                with pytest.raises(error) as info:
                    # force: the uncertain create of the same request would otherwise refuse the next
                    await kie.generate("Imagen 4", "an unlucky fox", force=True)
                _show(info.value, shown)
            with pytest.raises(E.KieWaitTimeoutError) as timeout_info:
                await kie.generate("Imagen 4 Ultra", "a slow fox", timeout=20)
            _show(timeout_info.value, shown)
            try:
                await kie.resume(timeout=1)
            except E.KieError as exc:
                _show(exc, shown)
        wrong = make_client(sb, manifest=manifest)
        print(repr(wrong), repr(wrong.settings))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()

    print("\n".join(shown))
    captured = capsys.readouterr()
    texts = {"stdout": captured.out, "stderr": captured.err, "caplog": caplog.text}
    _scan_files(project, log_file, manifest.journal_path)
    for name, text in texts.items():
        assert FAKE_KEY[:-4] not in text, f"{name} holds the API key"


def _show(exc: BaseException, shown: list[str]) -> None:
    """Everything a user could see of an error: str, repr, and the traceback with every local."""
    shown.append(str(exc))
    shown.append(repr(exc))
    shown.append("".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format()))


def _scan_files(project: Path, log_file: Path, journal: Path) -> None:
    """No file under the project holds the key (or all of it but the four characters masks show)."""
    files = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.suffix == ".png" for p in files)
    assert log_file.stat().st_size > 0
    assert journal.is_file()
    for path in files:
        data = path.read_bytes()
        assert FAKE_KEY[:-4].encode() not in data, f"{path} holds the API key"


async def test_a_key_with_a_newline_is_refused_before_anything_is_sent_or_journaled(
    make_sandbox: Any, clock: Any, manifest: Any, project: Path
) -> None:
    """Refused as a config error showing only its mask: no request, no journal record, no key on disk."""
    from kie_widgets.config import Secret
    from kie_widgets.jobs import KieClient

    sb = make_sandbox()
    broken = FAKE_KEY[:12] + "\n" + FAKE_KEY[12:]
    async with KieClient(api_key=broken, transport=sb.transport, clock=clock, manifest=manifest) as kie:
        with pytest.raises(E.KieConfigError) as info:
            await kie.generate("Imagen 4", "a fox behind a broken key")
    text = str(info.value)
    assert FAKE_KEY[:12] not in text
    assert FAKE_KEY[12:] not in text
    assert Secret(broken).masked() in text
    assert sb.requests == []
    assert manifest.journal() == []
    assert _files_holding(project, [FAKE_KEY[:12], FAKE_KEY[12:]]) == []


def _files_holding(root: Path, pieces: list[str]) -> list[Path]:
    """Files under ``root`` whose bytes contain any of ``pieces``."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and any(piece.encode() in p.read_bytes() for piece in pieces)
    ]
