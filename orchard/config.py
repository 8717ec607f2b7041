"""Where the toolkit keeps its files and which database it uses.

``ORCHARD_HOME`` (default ``./.orchard``) holds the SQLite database ``orchard.db``;
``ORCHARD_DB_URL`` points at any SQLAlchemy database instead (e.g. ``postgresql+psycopg://…``).
"""

from __future__ import annotations

import os
from pathlib import Path

#: UTC offset of China Standard Time, used for local days and for display [hours].
CHINA_UTC_OFFSET_H = 8
#: Time-zone label stored in dataset attrs for local standard time in China (no daylight saving).
CHINA_TIMEZONE = "Asia/Shanghai"


def orchard_home() -> Path:
    """The data folder, from ``ORCHARD_HOME`` (default ``./.orchard``)."""
    return Path(os.environ.get("ORCHARD_HOME", ".orchard")).expanduser()


def database_url() -> str:
    """The SQLAlchemy URL: ``ORCHARD_DB_URL``, or a SQLite file in :func:`orchard_home`."""
    url = os.environ.get("ORCHARD_DB_URL")
    if url:
        return url
    return f"sqlite:///{(orchard_home() / 'orchard.db').resolve()}"


#: The sample district's DEM, relative to :func:`sample_data_dir`.
SAMPLE_DEM = Path("dem") / "changting_youwuzhen_dem30m.tif"


def sample_data_dir() -> Path:
    """The ``sample_data/`` folder of a source checkout (``ORCHARD_SAMPLE_DATA`` overrides it)."""
    override = os.environ.get("ORCHARD_SAMPLE_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "sample_data"


def basemap_dem() -> Path | None:
    """DEM shown as shaded relief under the app's maps: ``ORCHARD_BASEMAP_DEM``, else the sample DEM if present."""
    override = os.environ.get("ORCHARD_BASEMAP_DEM")
    if override:
        return Path(override)
    sample = sample_data_dir() / SAMPLE_DEM
    return sample if sample.exists() else None
