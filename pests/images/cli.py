"""Commands of the image library, added to the ``orchard`` command by ``register``.

``orchard images add PATH [--label L] [--plot P] [--collector NAME] [--date D] [--user U]`` (a file or a
folder), ``orchard images list``, ``orchard images verify SAMPLE_ID --label L --user U``, ``orchard images
export-manifest OUT.csv``, ``orchard images train`` and ``orchard identify IMAGE [--json] [--save]``.

As in ``orchard plots list``: without ``--user`` the command acts as the operator (every sample; photos added
without an ``added_by`` user); with ``--user`` it is scoped in the data layer as the app is. Verifying always
names the agronomist (``--user``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

images_app = typer.Typer(
    no_args_is_help=True, help="Pest and disease photo library: add, list, verify, export, train."
)

_USER = Annotated[
    str | None, typer.Option("--user", help="Act as this user (default: the operator, unscoped).")
]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_LIST_COLUMNS = (
    "sample_id",
    "label",
    "verified",
    "label_source",
    "plot_id",
    "taken_utc",
    "collector",
    "predicted_label",
    "predicted_probability",
    "original_name",
)


def register(app: typer.Typer) -> None:
    """Add ``orchard images ...`` and ``orchard identify`` to the ``orchard`` command."""
    app.add_typer(images_app, name="images")
    app.command("identify")(identify)


def _label_source(value: str) -> str:
    from orchard.errors import InputError

    if value not in ("collector", "agronomist"):
        raise InputError(f"--label-source '{value}' is not collector or agronomist.")
    return value


@images_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A photo (JPEG, PNG, WebP) or a folder of photos.")],
    label: Annotated[str, typer.Option(help="Pest or disease code (e.g. canker), or unknown.")] = "unknown",
    plot: Annotated[str | None, typer.Option(help="Plot the photos were taken on.")] = None,
    collector: Annotated[str | None, typer.Option(help="Who took the photos.")] = None,
    date: Annotated[
        str | None, typer.Option(help="Date taken, YYYY-MM-DD, if the photo has no EXIF date.")
    ] = None,
    notes: Annotated[str | None, typer.Option(help="Free-text notes kept with every photo.")] = None,
    user: _USER = None,
    labels_from_folders: Annotated[
        bool,
        typer.Option(
            "--labels-from-folders",
            help="Label each photo by its sub-folder's name (black-spot/, canker/ …).",
        ),
    ] = False,
    label_source: Annotated[
        str,
        typer.Option(
            help="collector, or agronomist for expert-labelled collections (operator or agronomist only)."
        ),
    ] = "collector",
    as_json: _JSON = False,
) -> None:
    """Add one photo or every photo in a folder (all validated first: one bad photo adds nothing; the same
    photo is stored once)."""
    import json

    from orchard import store
    from orchard.cli_common import engine, json_default, out, progress
    from pests.images import library

    options = dict(
        plot_id=plot, collector=collector, taken=date, notes=notes, label_source=_label_source(label_source)
    )
    with progress() as bar:
        bar.add_task(f"adding {path.name}", total=None)
        with store.session_scope(engine()) as session:
            if path.is_dir():
                report = library.add_folder(
                    session, user, path, labels_from_folders=labels_from_folders, label=label, **options
                )
            else:
                sample = (
                    library.add_image(session, user, path, label=label, **options)
                    if user
                    else library.import_image(session, path, label=label, **options)
                )
                report = library.FolderReport()
                (report.duplicates if sample["duplicate"] else report.added).append(sample)
    if as_json:
        print(
            json.dumps(
                {
                    "added": [s["sample_id"] for s in report.added],
                    "duplicates": [s["sample_id"] for s in report.duplicates],
                    "skipped": report.skipped,
                },
                ensure_ascii=False,
                indent=1,
                default=json_default,
            )
        )
    else:
        for sample in report.added:
            out.print(
                f"added sample {sample['sample_id']}: {sample['original_name']} ({sample['label']})",
                markup=False,
            )
        for sample in report.duplicates:
            out.print(
                f"already in the library as sample {sample['sample_id']}: {sample['original_name']}",
                markup=False,
            )
        out.print(report.summary())


@images_app.command("list")
def list_(
    label: Annotated[str | None, typer.Option(help="Only this label.")] = None,
    plot: Annotated[str | None, typer.Option(help="Only this plot.")] = None,
    unverified: Annotated[
        bool, typer.Option("--unverified", help="Only photos no agronomist has verified.")
    ] = False,
    verified: Annotated[bool, typer.Option("--verified", help="Only verified photos.")] = False,
    user: _USER = None,
    as_json: _JSON = False,
) -> None:
    """List the photos in the library (a grower sees their own)."""
    from orchard import store
    from orchard.cli_common import engine, print_records
    from orchard.errors import InputError
    from pests.images import library

    if verified and unverified:
        raise InputError("--verified and --unverified exclude each other; give one of them.")
    state = True if verified else (False if unverified else None)
    with store.session_scope(engine()) as session:
        records = (
            library.list_samples(session, user, label=label, plot_id=plot, verified=state)
            if user
            else library.all_samples(session, label=label, plot_id=plot, verified=state)
        )
    if not as_json:
        records = [{c: r.get(c) for c in _LIST_COLUMNS} for r in records]
    print_records(records, _LIST_COLUMNS, as_json, title="image library")


@images_app.command("verify")
def verify(
    sample_id: Annotated[int, typer.Argument(help="Sample id (see `orchard images list`).")],
    label: Annotated[str, typer.Option(help="The pest or disease the photo shows.")],
    user: Annotated[str, typer.Option("--user", help="The agronomist (or admin) verifying.")],
) -> None:
    """Confirm or correct the label of a photo (agronomists and admins)."""
    from orchard import store
    from orchard.cli_common import engine, out
    from pests.images import library

    with store.session_scope(engine()) as session:
        sample = library.verify(session, user, sample_id, label)
    out.print(f"sample {sample['sample_id']} verified as {sample['label']} by {sample['verified_by']}")


@images_app.command("export-manifest")
def export_manifest(
    out_file: Annotated[Path, typer.Argument(metavar="OUT.csv", help="CSV file to write.")],
    user: _USER = None,
    include_unknown: Annotated[
        bool, typer.Option("--include-unknown", help="Also photos labelled unknown.")
    ] = False,
) -> None:
    """Write the labelled photos (sha256, file, label, verification, plot, date, GPS) to a CSV manifest."""
    from orchard import store
    from orchard.cli_common import engine, out
    from pests.images import library

    with store.session_scope(engine()) as session:
        written = library.export_manifest(session, user, out_file, include_unknown=include_unknown)
    out.print(f"wrote {written}")


@images_app.command("train")
def train(
    user: _USER = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Model folder (default ORCHARD_HOME/models/images).")
    ] = None,
    as_json: _JSON = False,
) -> None:
    """Train the identification model on the verified photos; save it with its cross-validated metrics."""
    import json

    from orchard import store
    from orchard.cli_common import engine, json_default, out, progress
    from pests.images import classifier

    with progress() as bar:
        task = bar.add_task("computing features", total=None)
        with store.session_scope(engine()) as session:
            metrics = classifier.train(
                session,
                user,
                out_dir=out_dir,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    metrics = {k: v for k, v in metrics.items() if k not in ("oof_probability", "classes")}
    if as_json:
        print(json.dumps(metrics, ensure_ascii=False, indent=1, default=json_default))
        return
    out.print(f"model {metrics['model_version']} saved in {metrics['model_dir']}")
    out.print(
        f"{metrics['n_samples']} photos, {len(metrics['per_class'])} classes; {metrics['cv']['folds']}-fold "
        f"cross-validated accuracy {metrics['accuracy']:.1%} "
        f"(majority class {metrics['majority_rate']:.1%}); "
        f"uncertain below {metrics['threshold']['threshold']:.2f}"
    )
    for label, c in metrics["per_class"].items():
        out.print(
            f"  {label:<20} n={c['support']:<4} precision {c['precision']:.0%}  recall {c['recall']:.0%}",
            markup=False,
        )
    if metrics.get("excluded_classes"):
        out.print(
            "left out (too few verified photos): "
            + ", ".join(f"{k} ({v})" for k, v in metrics["excluded_classes"].items())
        )


def identify(
    image: Annotated[Path, typer.Argument(help="The photo to identify (JPEG, PNG or WebP).")],
    as_json: _JSON = False,
    save: Annotated[
        bool, typer.Option("--save", help="Keep the photo in the library as an unverified sample.")
    ] = False,
    user: _USER = None,
    plot: Annotated[str | None, typer.Option(help="Plot the photo was taken on (with --save).")] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model folder (default ORCHARD_HOME/models/images).")
    ] = None,
) -> None:
    """Identify the pest or disease on a photo: the three most likely classes, or "uncertain"."""
    import json

    from orchard.cli_common import json_default, out, print_records
    from orchard.errors import InputError
    from pests.images import classifier

    if plot and not save:
        raise InputError("--plot is only used with --save; add --save to keep the photo in the library.")
    result = classifier.identify(image, model)
    if save:
        from orchard import store
        from orchard.cli_common import engine

        with store.session_scope(engine()) as session:
            sample = classifier.save_identification(session, user, image, result, plot_id=plot)
        result["saved_sample_id"] = sample["sample_id"]
        result["saved_duplicate"] = sample["duplicate"]
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=json_default))
        return
    print_records(
        [
            {"label": t["label"], "name": f"{t['name_zh']} {t['name_en']}", "probability": t["probability"]}
            for t in result["top"]
        ],
        ("label", "name", "probability"),
        False,
        title=f"{image.name}",
    )
    if result["uncertain"]:
        out.print(
            f"uncertain: the most likely class has probability {result['top'][0]['probability']:.2f}, below "
            f"{result['threshold']:.2f}; ask an agronomist."
        )
    else:
        out.print(f"most likely: {result['top'][0]['label']} (model {result['model_version']})")
    if save:
        verb = "already in the library as" if result["saved_duplicate"] else "saved as unverified"
        out.print(f"{verb} sample {result['saved_sample_id']}")
