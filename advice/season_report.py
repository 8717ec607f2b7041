"""A spray programme's season on one weather: what it cost, what it put on the crop, what it left unprotected.

A *programme* is a table of applications (``plot_id``, ``product_id``, ``applied_on``, ``amount`` [kg or L of
product on the plot], ``unit``, ``area_ha``): the advice as followed in a season replay, the calendar
programme (advice.accounting.baseline_applications) or the recorded sprays. Per plot it gives

- ``sprays``: days with a pesticide applied; ``tfi``, ``kg_ai_ha``, ``field_eiq``, ``kg_co2e_ha`` from the
  season account (advice.accounting.season_account, one engine for the account and the replay);
- ``kg_cu_ha``: metallic copper [kg Cu/ha] (advice.protection.copper_content);
- ``cost_cny_per_mu``: product cost at the catalogue's prices [CNY per 亩];
- ``label_breaches``: products used more often than their label's maximum uses per season;
- ``unprotected_<pest>`` and ``unprotected_events``: the pest model's events on the season's observed
  weather (infection events on susceptible tissue, leaf-miner generations on flush, days above the mite
  threshold) on days no deposit of the programme covered (advice.protection: residual, wash-off).
  ``unprotected_infections`` sums the infection pests (black spot, canker).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from advice import protection

__all__ = ["MEASURES", "programme_measures", "protected_mask", "season_chart", "summarise"]

#: The per-plot measures of a programme, in report order.
MEASURES = ("sprays", "tfi", "kg_ai_ha", "kg_cu_ha", "field_eiq", "kg_co2e_ha", "cost_cny_per_mu",
            "unprotected_events", "unprotected_infections", "label_breaches")
MU_PER_HA = 15.0


def protected_mask(deps: pd.DataFrame, times, rain_mm: np.ndarray, plot_ids, pests, params) -> np.ndarray:
    """Days each plot is protected against each pest by some deposit, bool (pest, time, plot).

    ``deps`` from :func:`advice.protection.deposits`; ``rain_mm`` (time, plot) over ``times``.
    """
    times = pd.DatetimeIndex(times).normalize()
    plot_ids = np.asarray(plot_ids).astype(str)
    mask = np.zeros((len(pests), len(times) + 1, len(plot_ids)), dtype=np.int32)
    if deps is None or deps.empty:
        return mask[:, :-1] > 0
    plot_col = pd.Index(plot_ids).get_indexer(deps["plot_id"])
    pest_col = pd.Index(list(pests)).get_indexer(deps["pest"])
    keep = (plot_col >= 0) & (pest_col >= 0)
    deps, plot_col, pest_col = deps[keep], plot_col[keep], pest_col[keep]
    start = (pd.DatetimeIndex(deps["applied_on"]) - times[0]).days.to_numpy()
    end = protection.protection_end(start, deps["residual_d"].to_numpy(float),
                                    deps["washes_off"].to_numpy(bool), rain_mm, plot_col,
                                    count_min_mm=float(params["washoff.count_min_mm"]),
                                    halve_mm=deps["halve_mm"].to_numpy(float),
                                    end_mm=deps["end_mm"].to_numpy(float))
    # protected on day t when start <= t < end: +1 at the start, -1 at the first unprotected day
    first = np.clip(start, 0, len(times))
    stop = np.clip(np.ceil(end).astype(int), 0, len(times))
    np.add.at(mask, (pest_col, first, plot_col), 1)
    np.add.at(mask, (pest_col, stop, plot_col), -1)
    return np.cumsum(mask, axis=1)[:, :-1] > 0


def _costs(apps: pd.DataFrame, catalogue) -> pd.Series:
    price = catalogue.products["price_cny"].astype(float) / catalogue.products["pack_size"].astype(float)
    return apps["amount"].astype(float) * apps["product_id"].map(price).fillna(0.0)


def programme_measures(applications: pd.DataFrame, plots: pd.DataFrame, season: int, catalogue, *,
                       events: np.ndarray, event_times, pests, rain_mm: np.ndarray, params,
                       window: tuple | None = None, infection_pests=protection.INFECTION_PESTS
                       ) -> pd.DataFrame:
    """Per-plot measures of one programme (see the module docstring).

    Parameters
    ----------
    applications : DataFrame of the programme's applications in ``season``
    plots : DataFrame ``plot_id``, ``area_ha`` [ha]
    catalogue : advice.catalogue.Catalogue
    events : bool array (pest, time, plot): the pest model's events on the observed weather
    event_times : datetime64 array of the events' (and ``rain_mm``'s) days
    pests : the order of ``events``' pest axis
    rain_mm : float array (time, plot) [mm/d], plots in ``plots`` order
    params : protection parameters (advice.protection.protection_parameters)
    window : (first, last) dates over which events count (default the whole of ``event_times``)
    """
    from advice.accounting import products_from_catalogue, season_account

    plot_ids = plots["plot_id"].astype(str).to_numpy()
    apps = applications.copy()
    apps["plot_id"] = apps["plot_id"].astype(str)
    apps["applied_on"] = pd.to_datetime(apps["applied_on"])
    apps = apps[apps["applied_on"].dt.year == int(season)]
    out = pd.DataFrame(index=pd.Index(plot_ids, name="plot_id"))
    if apps.empty:
        for column in ("sprays", "tfi", "kg_ai_ha", "field_eiq", "kg_co2e_ha", "kg_cu_ha", "cost_cny_per_mu",
                       "label_breaches"):
            out[column] = 0.0
    else:
        account = season_account(apps, products_from_catalogue(catalogue), plots[["plot_id", "area_ha"]],
                                 season, baseline=False).set_index("plot_id").reindex(plot_ids)
        out["sprays"] = np.round(account["n_sprays"].to_numpy(), 6)  # area-weighted by the account
        out["tfi"] = account["tfi"].to_numpy()
        out["kg_ai_ha"] = account["ai_kg_per_ha"].to_numpy()
        out["field_eiq"] = account["field_eiq_per_ha"].to_numpy()
        out["kg_co2e_ha"] = account["co2e_kg_per_ha"].to_numpy()
        area = plots.set_index(plots["plot_id"].astype(str))["area_ha"].astype(float)
        copper = apps["amount"].astype(float) * apps["product_id"].map(protection.copper_content(catalogue))
        out["kg_cu_ha"] = (copper.groupby(apps["plot_id"]).sum() / area).reindex(plot_ids).fillna(0.0)
        cost = _costs(apps, catalogue).groupby(apps["plot_id"]).sum()
        out["cost_cny_per_mu"] = (cost / area / MU_PER_HA).reindex(plot_ids).fillna(0.0)
        uses = apps.groupby(["plot_id", "product_id"]).size().rename("uses").reset_index()
        limits = catalogue.products["max_applications_per_season"].astype(float)
        uses["limit"] = uses["product_id"].map(limits)
        breaches = uses[uses["uses"] > uses["limit"]].groupby("plot_id").size()
        out["label_breaches"] = breaches.reindex(plot_ids).fillna(0).astype(int).to_numpy()
    table = protection.product_protection(catalogue, params)
    deps = protection.deposits(apps, table)
    covered = protected_mask(deps, event_times, rain_mm, plot_ids, pests, params)
    times = pd.DatetimeIndex(event_times)
    counted = np.ones(len(times), dtype=bool)
    if window is not None:
        counted = (times >= pd.Timestamp(window[0])) & (times <= pd.Timestamp(window[1]))
    unprotected = np.asarray(events, bool) & ~covered & counted[None, :, None]
    total = np.zeros(len(plot_ids))
    infections = np.zeros(len(plot_ids))
    for j, pest in enumerate(pests):
        n = unprotected[j].sum(axis=0)
        out[f"unprotected_{pest}"] = n
        out[f"events_{pest}"] = (np.asarray(events[j], bool) & counted[:, None]).sum(axis=0)
        total += n
        if pest in infection_pests:
            infections += n
    out["unprotected_events"] = total
    out["unprotected_infections"] = infections
    return out.reset_index()


def summarise(table: pd.DataFrame, columns=MEASURES) -> dict:
    """Median, P10 and P90 over plots of each measure (rounded for the report)."""
    out = {}
    for column in columns:
        if column not in table:
            continue
        values = table[column].astype(float)
        out[column] = {"median": round(float(values.median()), 3),
                       "p10": round(float(values.quantile(0.1)), 3),
                       "p90": round(float(values.quantile(0.9)), 3)}
    return out


def season_chart(path, *, weekly: pd.DataFrame, programmes: dict, plot_id: str, pests, title: str,
                 protected: dict | None = None, event_times=None, events=None, targets: dict | None = None
                 ) -> None:
    """PNG of one plot's season: the 15-day risk level per pest (steps), each programme's sprays (markers)
    and protection (shaded), and the pest model's events (dots).

    ``weekly``: plot_id, issued_on, pest, level_15d; ``programmes``: name -> applications; ``protected``:
    name -> bool array (pest, time) for this plot; ``events``: bool array (pest, time) for this plot;
    ``targets``: product id -> the pests it controls (a pest's panel shows only the sprays against it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"advice": "tab:green", "calendar": "tab:red", "recorded": "tab:blue"}
    fig, axes = plt.subplots(len(pests), 1, figsize=(11, 1.9 * len(pests) + 0.8), sharex=True)
    axes = np.atleast_1d(axes)
    mine = weekly[weekly["plot_id"].astype(str) == str(plot_id)]
    times = None if event_times is None else pd.DatetimeIndex(event_times)
    for ax, (j, pest) in zip(axes, enumerate(pests), strict=True):
        rows = mine[mine["pest"] == pest].sort_values("issued_on")
        ax.step(pd.to_datetime(rows["issued_on"]), rows["level_15d"], where="post", color="k", lw=1.2,
                label="15-day risk level")
        for k, (name, apps) in enumerate(programmes.items()):
            colour = colours.get(name, f"C{k}")
            if protected is not None and times is not None and name in protected:
                band = protected[name][j]
                ax.fill_between(times, 0.3 + 0.35 * k, 0.6 + 0.35 * k, where=band, color=colour, alpha=0.35,
                                step="post", lw=0)
            own = apps[apps["plot_id"].astype(str) == str(plot_id)]
            if targets is not None:
                own = own.loc[own["product_id"].map(lambda p: pest in targets.get(p, ())).astype(bool)]
            days = pd.to_datetime(own["applied_on"]).unique()
            ax.plot(days, np.full(len(days), 5.4 - 0.3 * k), "v", color=colour, ms=6, label=f"{name} sprays")
        if events is not None and times is not None:
            ev = times[np.asarray(events[j], bool)]
            ax.plot(ev, np.full(len(ev), 0.15), ".", color="tab:purple", ms=3, label="model events")
        ax.set_ylim(0, 5.8)
        ax.set_yticks([1, 2, 3, 4, 5])
        ax.set_ylabel(pest, rotation=0, ha="right", va="center")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
