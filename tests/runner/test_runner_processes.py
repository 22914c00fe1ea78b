"""The blocking facade in fresh interpreters: a plain script and IPython, each exiting cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = (
    "import kie_widgets\n"
    "assets = kie_widgets.generate('Imagen 4', 'an owl from a script', aspect_ratio='16:9')\n"
    "print('ASSET', assets[0].id, assets[0].path.is_file())\n"
    "print('CREDITS', kie_widgets.credits() > 0)\n"
)


def _run(args: list[str], project: Path) -> str:
    env = {**os.environ, "KIE_SANDBOX": "1", "KIE_PROJECT_ROOT": str(project)}
    env.pop("KIE_API_KEY", None)
    # The interpreter must also exit by itself: the loop thread may not keep it alive.
    out = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_plain_script(project: Path) -> None:
    """`python script.py` with KIE_SANDBOX=1 generates, records and exits."""
    (project / "make.py").write_text(SCRIPT)
    stdout = _run([sys.executable, "make.py"], project)
    assert "ASSET img-001 True" in stdout
    assert "CREDITS True" in stdout


def test_ipython(project: Path) -> None:
    """The same calls inside IPython (which runs its own event-loop integration) work the same."""
    pytest.importorskip("IPython")
    (project / "make.ipy").write_text(SCRIPT)
    stdout = _run([sys.executable, "-m", "IPython", "--no-banner", "--quick", "make.ipy"], project)
    assert "ASSET img-001 True" in stdout
