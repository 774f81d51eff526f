"""What the training package (``predgen_core``), the toolkit (``mi_toolkit``) and the workflow
(``predgen_mi``) share, below all three: one-line user errors (``errors``), the explicit registries
(``registry``), atomic writes and the cache folder (``io``) and progress bars (``progress``).

It imports nothing of the three (checked by ``.importlinter``), so either package can be read,
tested and layered without the other.
"""
