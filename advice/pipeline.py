"""The weekly run, as the command line, the app and the benchmarks call it: :func:`advice.chain.run_chain`.

Kept as the stable entry point ``run_week``; every run goes through the chain's named steps (plot weather on
the slope once -> soil -> growth -> pests -> rules -> products, monitoring over the imagery, stored whole).
"""

from __future__ import annotations

from collections.abc import Callable

from advice.chain import ChainResult, run_chain

__all__ = ["run_week", "WeekResult"]

#: The result of a weekly run (recommendations, plot status, parameter versions, sources, notes).
WeekResult = ChainResult


def run_week(engine, issue_date, *, plot_ids=None, params=None, store_result: bool = True,
             progress: Callable[[str], None] = lambda step: None, **kwargs) -> ChainResult:
    """Run the weekly chain for ``issue_date`` (all plots, or ``plot_ids``) and store it.

    ``params`` replaces the ``advice.rules`` set of the bundle in force (a what-if run); other keyword
    arguments go to :func:`advice.chain.run_chain` (``bundle``, ``scheduler``, ``chunk_size``, ``skip`` …).
    """
    if params is not None:
        from orchard import store
        from orchard.bundle import resolve

        with store.session_scope(engine) as session:
            kwargs["bundle"] = resolve(session, kwargs.pop("district", None),
                                       overrides={"advice.rules": params})
    return run_chain(engine, issue_date, plot_ids=plot_ids, store_result=store_result, progress=progress,
                     **kwargs)
