"""Measures: each returns a result object (numbers, flags, provenance), never HTML.

``estimate`` (one representation on fixed splits), ``sweep`` (MI against PCA size),
``dpi`` (the DPI report), ``heatmap`` (token-label PMI), ``attribution`` (captum).
Rendering lives in ``mi_toolkit.reports``.
"""
