"""The monitoring package's part of ``orchard init --sample``: satellite scenes and field-sensor files.

Run by the ``orchard`` command through the entry-point group ``orchard.sample_loaders`` (pyproject.toml),
after the core's sample (plots, weather, users), so ``orchard/`` imports nothing from this package. See
sample_data/imagery and sample_data/sensors.
"""

from __future__ import annotations

from pathlib import Path


def load_sample(engine, sample_dir: Path) -> dict[str, int]:
    """Register the sample district's synthetic Sentinel-2 scenes and ingest its sensor files (with QC).

    Loading twice changes nothing (scenes and readings are upserted).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database, already holding the sample plots.
    sample_dir : pathlib.Path
        The ``sample_data/`` folder.

    Returns
    -------
    dict
        ``scenes`` (number of scenes registered) and ``sensor_readings`` (rows written).
    """
    from monitoring.cli import register_scenes
    from monitoring.soil.ingest import ingest_files

    sample_dir = Path(sample_dir)
    scenes = register_scenes(engine, [sample_dir / "imagery" / "s2_synthetic"])
    sensors = sample_dir / "sensors"
    reports = ingest_files(engine, [sensors / "station_ws01_hourly.csv"], sensor_id="WS01",
                           registry=sensors / "sensors.csv")
    reports += ingest_files(engine, [sensors / "probes_gateway_b_7in1.csv",
                                     sensors / "deep_moisture_long.csv"])
    # gateway A logs local time without a zone; WS02 logs UTC but is declared local on purpose (QC flags
    # it TZ)
    reports += ingest_files(engine, [sensors / "probes_gateway_a_7in1.csv",
                                     sensors / "station_ws02_toa5.dat"], tz="Asia/Shanghai")
    return {"scenes": len(scenes), "sensor_readings": sum(r.rows_written for r in reports)}
