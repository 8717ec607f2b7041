"""``orchard account``: the season's pesticide and carbon account against the calendar-spray baseline.

Beside the recorded account it shows the *projected* account of the advised programme when a season replay
is stored (``ORCHARD_HOME/replays/<season>-advice/``). ``--json`` prints ``{"season", "by", "recorded":
[rows], "note", "projected": {...} or null, "projected_note"}``; a plot or group with nothing recorded has
null reductions and ``note`` says so.

``advice/cli.py`` calls :func:`register_accounting`. Heavy modules are imported inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Columns of the table view (``--json`` prints every column).
TABLE_METRICS = ("area_ha", "n_sprays", "ai_kg_per_ha", "tfi", "field_eiq_per_ha", "co2e_kg_per_ha")
GROUP_COLUMNS = {"plot": ("plot_id", "grower", "district"), "grower": ("grower", "district"),
                 "district": ("district",)}


def register_accounting(app: typer.Typer) -> None:
    """Add ``orchard account`` to the ``orchard`` command."""

    @app.command("account")
    def account(
        season: Annotated[int, typer.Option(help="Year of the season, e.g. 2016.")],
        by: Annotated[str, typer.Option(help="Report per plot, grower or district.")] = "plot",
        district: Annotated[str | None, typer.Option(
            help="Only this district (plots without a district are all reported under this name).")] = None,
        user: Annotated[str | None, typer.Option(
            help="Account as this user: growers see their own plots, extension users pseudonyms.")] = None,
        baseline: Annotated[Path | None, typer.Option(
            help="Calendar-spray programme CSV (default: the shipped example programme).")] = None,
        carbon: Annotated[Path | None, typer.Option(
            help="Carbon factor TOML in the carbon.toml schema.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON with every column.")] = False,
    ) -> None:
        """kg a.i./ha, TFI, field-use EIQ, sprays and kg CO2e/ha per plot, grower or district for a season,
        each against the calendar-spray baseline (absolute and % reduction)."""
        import pandas as pd

        from advice import accounting
        from orchard import store
        from orchard.cli_common import engine, err, print_records
        from orchard.errors import AccessError, InputError

        if by not in GROUP_COLUMNS:
            raise InputError(f"--by {by!r} is not one of plot, grower, district; choose one.")
        try:
            from advice.catalogue import load_catalogue
        except ImportError:
            raise InputError("the product catalogue (advice.catalogue) is not installed; the account needs "
                             "it for active-ingredient contents.") from None
        products = accounting.products_from_catalogue(load_catalogue())

        with store.session_scope(engine()) as session:
            role = None
            if user is not None:
                found = session.get(store.User, user)
                if found is None:
                    raise AccessError(f"unknown user '{user}'; give an existing user id.")
                role = found.role
            # The operator (no --user) and extension users see every plot; extension users only through
            # pseudonyms, so the owner ids are read here and never printed.
            plots = store.list_plots(session, user) if role == "grower" else store.all_plots(session)
            apps = store.list_applications(session, caller=user, start=f"{season}-01-01",
                                           end=f"{season}-12-31")
            factors = accounting.carbon_parameters(carbon, session=session)
        plots = pd.DataFrame(plots)
        if plots.empty:
            raise InputError("there are no plots to account for; import plots first (orchard import-plots).")
        if district is not None:
            if "district" in plots.columns and plots["district"].notna().any():
                names = plots["district"].fillna("")
                exact = names == district
                # "长汀" or "changting" finds "长汀 Changting (Fujian)" when no name matches exactly
                plots = plots[exact if exact.any() else names.str.casefold().str.contains(district.casefold(),
                                                                                           regex=False)]
                if plots.empty:
                    raise InputError(f"no plots in district '{district}'; check the name.")
            else:
                plots["district"] = district
        apps = pd.DataFrame(apps, columns=["plot_id", "product_id", "applied_on", "amount", "unit",
                                           "area_ha"])
        apps = apps[apps["plot_id"].isin(plots["plot_id"])]
        table = accounting.season_account(apps, products, plots, season, baseline=baseline, factors=factors,
                                          by=by, anonymise=(role == "extension"))
        note = recorded_note(season, int(table["n_plots"].sum()), int(table["n_plots_recorded"].sum()))
        if note:
            err.print(note, markup=False)
        projected, projected_note = _projected(season, plots["plot_id"] if by == "plot" else None)
        records = [{k: _plain(v) for k, v in r.items()} for r in table.to_dict("records")]
        if as_json:
            import json

            from orchard.cli_common import json_default

            print(json.dumps({"season": season, "by": by, "recorded": records, "note": note,
                              "projected": projected, "projected_note": projected_note},
                             ensure_ascii=False, indent=1, default=json_default))
            return
        columns = (*GROUP_COLUMNS[by], *TABLE_METRICS, "reduction_tfi_pct", "reduction_field_eiq_per_ha_pct",
                   "reduction_co2e_kg_per_ha_pct")
        print_records(records, columns, False,
                      title=f"season account {season} (recorded, vs calendar baseline)")
        if projected is None:
            err.print(projected_note, markup=False)
        else:
            print_records(projected["measures"], PROJECTED_COLUMNS, False,
                          title=f"projected account {season}: replay following the {projected['follow']} "
                                f"({projected['plots']} plots, median and 10-90 % of plots)")


#: Columns of the projected account's table.
PROJECTED_COLUMNS = ("measure", "advice_median", "advice_p10", "advice_p90", "calendar_median",
                     "ratio_to_calendar")


def recorded_note(season: int, n_plots: int, n_recorded: int) -> str | None:
    """The sentence that says which plots have no recorded applications (None when every plot has some)."""
    if n_recorded == 0:
        return (f"no applications were recorded in {season}, so there is no reduction figure; record the "
                "season's sprays (orchard applications add) to measure one.")
    if n_recorded < n_plots:
        return (f"{n_plots - n_recorded} of {n_plots} plots have no applications recorded in {season}: they "
                "have no reduction figure, and group figures count only the plots with records.")
    return None


def _projected(season: int, plot_ids) -> tuple[dict | None, str | None]:
    """The replay's projected account of the advised programme, or None and the sentence saying how to
    make one."""
    from advice import accounting, replay_store

    replay = replay_store.latest_replay(None, season)
    if replay is None:
        return None, (f"no season replay of {season} is stored, so there is no projected account of the "
                      f"advised programme; make one with `orchard replay --season {season} --follow advice`.")
    return accounting.projected_account(replay.summary, replay.plots, plot_ids), None


def _plain(value):
    """JSON-safe cell: NaN becomes None (null), numpy scalars plain numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
