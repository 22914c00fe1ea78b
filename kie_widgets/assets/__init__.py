"""Assets and the manifest: downloads, validation, naming, the manifest store, thumbnails, metadata.

No network and no IPython here; this is the only place outside the sandbox that imports Pillow, and
the only place that imports filelock.
"""

from __future__ import annotations

from kie_widgets.assets._index import Row as EntryRow
from kie_widgets.assets._index import row_of as entry_row
from kie_widgets.assets._store import KieManifestWarning
from kie_widgets.assets.asset import Asset
from kie_widgets.assets.drift import DriftReport, drift_report, record_composite
from kie_widgets.assets.images import (
    SavedImage,
    save_image_bytes,
    save_image_stream,
    sha256_file,
    validate_image_bytes,
    validate_image_file,
)
from kie_widgets.assets.lookup import export_tagged, recipe_from
from kie_widgets.assets.manifest import Manifest
from kie_widgets.assets.recipe import recipe_hash
from kie_widgets.assets.record import AssetRecord
from kie_widgets.assets.thumbs import MAX_SIDE as THUMBNAIL_SIDE
from kie_widgets.assets.thumbs import thumbnail, thumbnail_png
from kie_widgets.assets.verify import VerifyReport, verify

__all__ = [
    "THUMBNAIL_SIDE",
    "Asset",
    "AssetRecord",
    "DriftReport",
    "EntryRow",
    "KieManifestWarning",
    "Manifest",
    "SavedImage",
    "VerifyReport",
    "drift_report",
    "entry_row",
    "export_tagged",
    "recipe_from",
    "recipe_hash",
    "record_composite",
    "save_image_bytes",
    "save_image_stream",
    "sha256_file",
    "thumbnail",
    "thumbnail_png",
    "validate_image_bytes",
    "validate_image_file",
    "verify",
]
