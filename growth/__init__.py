"""growth: citrus phenology, fruit growth and quality, carbon balance, with slope correction.

Planned (see docs/design.md): thermal time, flower induction and bloom, fruit set and logistic fruit growth,
TSS/TA maturity and colour break, radiation on slopes with pvlib, and a 30-day outlook. Not implemented yet.
"""
