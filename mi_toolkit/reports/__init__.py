"""Rendering: self-contained HTML pages and figures for each measure (``html`` holds the shared
page helpers; ``dpi``, ``sweep``, ``heatmap`` one page each) and console output (``console``)."""
