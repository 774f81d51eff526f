"""Workflows above both packages: train with ``predgen_core``, then measure with ``mi_toolkit``.

Neither package imports this one; ``mi pipeline`` and the figure scripts in
``analyses/`` call it. See :mod:`predgen_mi.pipeline`.
"""
