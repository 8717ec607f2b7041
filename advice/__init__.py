"""advice: one recommendation engine over all modules, and the input catalogue.

Planned (see docs/design.md): prioritised recommendations per plot, products matched to threats and nutrient
needs, resistance rotation, purchases, pesticide-reduction and carbon accounting. Not implemented yet.
"""
