"""Cell id, cell metadata, notebook path and scene id are read from what each frontend sends."""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from kie_widgets.notebook.context import capture


class _Kernel:
    def __init__(self, parent: dict[str, Any]) -> None:
        self.parent = parent

    def get_parent(self, channel: str = "shell") -> dict[str, Any]:
        return self.parent


class _Shell:
    def __init__(self, parent: dict[str, Any] | None, user_ns: dict[str, Any] | None = None) -> None:
        self.kernel = _Kernel(parent) if parent is not None else None
        self.parent_header: dict[str, Any] = {}
        self.user_ns = user_ns or {}


def _request(metadata: dict[str, Any]) -> dict[str, Any]:
    return {"header": {"msg_type": "execute_request"}, "metadata": metadata, "content": {}}


def test_jupyterlab_cell_id_and_own_metadata_are_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    """JupyterLab merges cell metadata with cellId and bookkeeping keys; only the cell's own are kept."""
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/story.ipynb")
    shell = _Shell(
        _request(
            {
                "cellId": "c0ffee",
                "deletedCells": [],
                "recordTiming": False,
                "tags": ["hero"],
                "kie": {"scene_id": "scene-7"},
            }
        )
    )
    ctx = capture(shell, cell_source="%%kie_image\nfox")
    assert (ctx.cell_id, ctx.cell_id_source) == ("c0ffee", "jupyterlab")
    assert ctx.cell_metadata == {"tags": ["hero"], "kie": {"scene_id": "scene-7"}}
    assert (ctx.notebook, ctx.notebook_source) == ("/home/me/story.ipynb", "JPY_SESSION_NAME")
    assert (ctx.scene_id, ctx.scene_source) == (7, "cell-metadata")
    assert ctx.as_context()["cell_source"] == "%%kie_image\nfox"


def test_vscode_cell_uri_names_the_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """VS Code's cellId is a cell URI; its path is the notebook when no other source names one."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = _Shell(_request({"cellId": "vscode-notebook-cell:/work/My%20Story.ipynb#W2sZmlsZQ%3D%3D"}))
    ctx = capture(shell)
    assert ctx.cell_id_source == "vscode"
    assert (ctx.notebook, ctx.notebook_source) == ("/work/My Story.ipynb", "vscode-cell-uri")


def test_vscode_variable_names_the_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """__vsc_ipynb_file__ in the namespace is the notebook path."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = _Shell(_request({}), user_ns={"__vsc_ipynb_file__": "/w/a.ipynb"})
    assert capture(shell).notebook == "/w/a.ipynb"


def test_colab_ids_are_read_from_their_key() -> None:
    """Colab's cell id arrives under a colab key."""
    ctx = capture(_Shell(_request({"colab": {"cell_id": "abc"}})))
    assert (ctx.cell_id, ctx.cell_id_source) == ("abc", "colab")


@pytest.mark.parametrize(
    ("metadata", "option", "expected"),
    [
        ({"tags": ["x", "scene-3"]}, None, (3, "cell-tag")),
        ({"tags": ["scene_12"]}, None, (12, "cell-tag")),
        ({"kie": {"scene_id": 2}, "tags": ["scene-3"]}, None, (2, "cell-metadata")),
        ({"kie": {"scene_id": 2}}, 9, (9, "option")),
        ({"tags": ["scenery"]}, None, (None, None)),
        ({}, None, (None, None)),
    ],
)
def test_scene_id_precedence(metadata: dict[str, Any], option: int | None, expected: tuple[Any, Any]) -> None:
    """--scene beats kie.scene_id in the cell metadata, which beats a scene-N tag."""
    ctx = capture(_Shell(_request(metadata)), scene_option=option)
    assert (ctx.scene_id, ctx.scene_source) == expected


def test_bad_scene_in_cell_metadata_names_its_source() -> None:
    """A malformed kie.scene_id fails with the metadata key in the message."""
    with pytest.raises(UsageError, match=r"kie\.scene_id"):
        capture(_Shell(_request({"kie": {"scene_id": "later"}})))


def test_headless_runs_work_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """No kernel parent (terminal, nbclient) gives an empty context that describes itself as headless."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    ctx = capture(_Shell(None))
    assert ctx.headless
    assert ctx.cell_metadata == {}
    assert "headless" in ctx.describe()
