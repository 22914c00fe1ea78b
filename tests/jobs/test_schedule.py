"""The adaptive polling schedule and the small pure helpers of jobs.py."""

from __future__ import annotations

import math
import random
import struct
import zlib

import pytest

from kie_widgets.errors import KieValidationError
from kie_widgets.jobs import PollSchedule, sniff_mime
from kie_widgets.jobs._inputs import png_from_array

KIE_GUIDANCE = PollSchedule(bands=((30.0, 2.0, 3.0), (120.0, 5.0, 10.0), (math.inf, 15.0, 30.0)))


@pytest.mark.parametrize(
    ("elapsed", "low", "high"),
    [
        (0.0, 2.0, 3.0),
        (29.9, 2.0, 3.0),
        (30.0, 5.0, 10.0),
        (119.0, 5.0, 10.0),
        (120.0, 15.0, 30.0),
        (3600, 15, 30),
    ],
)
def test_fixed_bands_keep_each_gap_in_its_range(elapsed: float, low: float, high: float) -> None:
    """A banded schedule polls within its range for each phase of a task's life, never outside it."""
    rng = random.Random(7)
    values = [KIE_GUIDANCE.interval(elapsed, rng) for _ in range(500)]
    assert min(values) >= low
    assert max(values) <= high


@pytest.mark.parametrize("elapsed", [0.0, 3.0, 12.0, 90.0, 250.0, 3600.0])
def test_default_gap_is_a_tenth_of_the_wait_within_floor_and_ceiling(elapsed: float) -> None:
    """Without history the gap is at most max(0.5 s, a tenth of the wait so far), capped at 30 s."""
    rng = random.Random(3)
    values = [PollSchedule().interval(elapsed, rng) for _ in range(500)]
    bound = min(30.0, max(0.5, 0.1 * elapsed))
    assert max(values) <= bound
    assert min(values) >= 0.8 * bound


@pytest.mark.parametrize("seconds", [5.0, 12.0, 30.0, 60.0, 120.0])
def test_a_task_is_noticed_within_half_a_second_or_a_tenth_of_its_time(seconds: float) -> None:
    """Whether or not the model's duration is known, the end is seen within max(0.5 s, 10 %)."""
    limit = max(0.5, 0.1 * seconds)
    assert PollSchedule().lag_bound(seconds) <= limit + 1e-9
    assert PollSchedule().lag_bound(seconds, expected=seconds) <= limit + 1e-9


def test_a_known_duration_saves_reads_before_the_expected_end() -> None:
    """With the typical duration known, a two-minute task takes fewer reads than without."""
    schedule = PollSchedule()
    assert schedule.reads_within(120.0, expected=120.0)[1] < schedule.reads_within(120.0)[0]


def test_interval_is_jittered() -> None:
    """Concurrent tasks do not poll in lockstep: intervals vary within a band."""
    rng = random.Random(1)
    values = {round(PollSchedule().interval(50.0, rng), 3) for _ in range(50)}
    assert len(values) > 40


def test_reads_within_counts_the_schedule() -> None:
    """Two minutes on kie's banded guidance means 19–33 reads (10–15 in 30 s, then 9–18 in 90 s)."""
    fewest, most = KIE_GUIDANCE.reads_within(120.0)
    assert (fewest, most) == (10 + 9, 15 + 18)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image/jpeg"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a" + b"\0" * 10, "image/gif"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"<html>not an image</html>", None),
        (b"", None),
    ],
)
def test_sniff_mime_reads_magic_bytes(data: bytes, mime: str | None) -> None:
    """The content type of an upload comes from its bytes, not from a file name."""
    assert sniff_mime(data) == mime


class _Array:
    """Just enough of an ndarray for the PNG encoder (numpy is not a dependency)."""

    def __init__(self, rows: list[list[list[int]]]) -> None:
        self.rows = rows
        self.shape = (len(rows), len(rows[0]), len(rows[0][0]))
        self.dtype = type("dtype", (), {"kind": "u", "__str__": lambda self: "uint8"})()

    def tobytes(self) -> bytes:
        return bytes(v for row in self.rows for px in row for v in px)


def test_array_inputs_become_valid_pngs() -> None:
    """An HxWx3 uint8 array encodes to a PNG whose pixel rows decode back to the same bytes."""
    array = _Array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]])
    png = png_from_array(array)
    assert sniff_mime(png) == "image/png"
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, color) == (2, 2, 8, 2)
    idat_len = struct.unpack(">I", png[33:37])[0]
    rows = zlib.decompress(png[41 : 41 + idat_len])
    assert rows == b"\x00" + bytes([255, 0, 0, 0, 255, 0]) + b"\x00" + bytes([0, 0, 255, 10, 20, 30])


def test_array_of_wrong_shape_is_rejected() -> None:
    """A 1-D array is a validation error, not a crash inside the upload."""
    bad = type("A", (), {"shape": (5,)})()
    with pytest.raises(KieValidationError):
        png_from_array(bad)
