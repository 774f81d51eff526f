"""The suites that ``mi bench`` runs, in one room (the floor above the reports, below the command line).

* :mod:`~mi_toolkit.bench.synthetic`: the built-in ground-truth tasks (``mi bench``);
* :mod:`~mi_toolkit.bench.suites`: the named suites of ``mi bench --suite NAME`` (its ``SUITES`` registry);
* :mod:`~mi_toolkit.bench.bmi`: the bmi v1 tasks (``--suite bmi``);
* :mod:`~mi_toolkit.bench.consistency`: self-consistency on scikit-learn's digits (``--suite consistency``);
* :mod:`~mi_toolkit.bench.groundtruth_real` and :mod:`~mi_toolkit.bench.real`: the real-LM-state tasks
  and their runner (``mi bench --real``).

Light on purpose: importing the package imports none of them (the CLI imports ``suites`` to list the
choices before any torch or scikit-learn). The scripts that time things live in ``benchmarks/``.
"""
