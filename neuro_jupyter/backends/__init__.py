"""Backends run jobs (DESIGN.md §5): the protocol, and one package per backend.

- :mod:`.base`: the :class:`~.base.Backend` protocol every backend implements;
- :mod:`.local`: jobs as supervised processes on this machine (the default);
- :mod:`.kubernetes`: jobs as Pods on a cluster;
- shared by both, so that a job is the same wherever it runs:
  :mod:`.environment` (what a job's command sees) and :mod:`.logs` (the log
  file and its time index, which the local runner writes and the kubernetes
  backend archives into).
"""
