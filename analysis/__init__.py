"""Offline analysis of seal metrics files (HDF5, docs/METRICS.md): the paper's tables and figures.

Reads the files with h5py, pandas and matplotlib only (Debian's python3-h5py, python3-pandas,
python3-matplotlib); it needs none of seal's code. Entry point:

    python3 -m analysis.report RUN.h5 [RUN.h5 ...] --out DIR

Library use: ``analysis.runfile.load_run(path)`` gives a ``Run`` (pandas tables of the completed rounds and eval
arms); ``analysis.tables`` and ``analysis.figures`` build the tables and figures from a list of runs;
``analysis.stats`` gives the bootstrap intervals (over contexts, and paired between two arms) they report.
"""

from .runfile import Run, MetricsFileError, MetricsWarning, load_run  # noqa: F401
