"""The image library's part of ``orchard init --sample``: the labelled leaf photos and a first model.

Run by the ``orchard`` command through the entry-point group ``orchard.sample_loaders`` (pyproject.toml),
after the core's sample (plots, weather, users), so ``orchard/`` imports nothing from this package. See
sample_data/leaf_images.
"""

from __future__ import annotations

from pathlib import Path


def load_sample(engine, sample_dir: Path) -> dict[str, int]:
    """Import the labelled sample leaf photos into the image library and train a first identification model
    on them (only when none exists, so loading the sample again keeps a model an agronomist trained).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The database, already holding the sample plots.
    sample_dir : pathlib.Path
        The ``sample_data/`` folder (photos from its ``leaf_images/``).

    Returns
    -------
    dict
        ``leaf_photos``: the number of photos in the library afterwards.
    """
    from orchard import store
    from pests.images import classifier, library

    with store.session_scope(engine) as session:
        library.load_sample_images(session, Path(sample_dir) / "leaf_images")
    if not (classifier.default_model_dir() / classifier.MODEL_FILE).exists():
        with store.session_scope(engine) as session:
            classifier.train(session)
    with store.session_scope(engine) as session:
        n_photos = len(library.all_samples(session))
    return {"leaf_photos": n_photos}
