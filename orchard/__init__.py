"""orchard: the shared core of the citrus orchard toolkit.

The plot model (:mod:`orchard.plots`), terrain (:mod:`orchard.terrain`), weather
(:mod:`orchard.weather`, readers in :mod:`orchard.sources`), parameter sets (:mod:`orchard.params`),
the database (:mod:`orchard.store`) and the ``orchard`` command (:mod:`orchard.cli`).

Modules (growth, pests, monitoring, advice) import from here and never from each other.
"""

__version__ = "0.1.0"
