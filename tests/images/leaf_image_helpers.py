"""Small images made in the tests (JPEG with GPS EXIF, PNG, WebP, damaged files) and a tiny database."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
LEAF_IMAGES = ROOT / "sample_data" / "leaf_images"

USERS = [
    {"user_id": "grower_a", "display_name": "Grower A", "role": "grower"},
    {"user_id": "grower_b", "display_name": "Grower B", "role": "grower"},
    {"user_id": "agro", "display_name": "Agronomist", "role": "agronomist"},
    {"user_id": "ext", "display_name": "Extension", "role": "extension"},
    {"user_id": "admin", "display_name": "Admin", "role": "admin"},
]
PLOTS = [{"plot_id": "P1", "owner_id": "grower_a"}, {"plot_id": "P2", "owner_id": "grower_b"}]


def image_bytes(fmt: str = "JPEG", size=(64, 48), seed: int = 0, colour=(60, 140, 50), exif=None) -> bytes:
    """A noisy one-colour image (different seeds give different bytes) encoded as ``fmt``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour)[None, None, :] + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def gps_exif(lat_dms, lat_ref, lon_dms, lon_ref, taken="2024:05:01 09:30:00", offset=None):
    """A Pillow Exif with GPS position (degrees, minutes, seconds) and DateTimeOriginal."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update(
        {
            1: lat_ref,
            2: tuple(IFDRational(x) for x in lat_dms),
            3: lon_ref,
            4: tuple(IFDRational(x) for x in lon_dms),
        }
    )
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    return exif


def make_home(home: Path):
    """Migrate the database of ORCHARD_HOME, add five users (one per role) and two plots; the engine."""
    from orchard import config, store

    engine = store.init_db(config.database_url())
    with store.session_scope(engine) as session:
        store.upsert_users(session, USERS)
        store.upsert_plots(session, PLOTS)
    return engine


def one_sentence(message: str) -> bool:
    """One line ending with a full stop (the project's error style)."""
    return "\n" not in message and message.rstrip().endswith(".") and "Traceback" not in message
