"""exports: products that combine modules, for extension services (the layer above the models).

``exports.riskmap`` writes the weekly risk maps of a district (pest risk from ``pests.riskmap`` on every DEM
cell, optionally with the slope correction of ``growth.slope``): Cloud-Optimized GeoTIFFs, plot vectors,
PNG/PDF maps and a manifest; ``exports.cli`` adds ``orchard export-riskmap``. The models never import this
package (the import-linter contracts in pyproject.toml); the app and the CLI may. See docs/riskmap.md.
"""
