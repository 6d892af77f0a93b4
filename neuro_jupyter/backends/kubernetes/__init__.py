"""The kubernetes backend (DESIGN.md §5): one Pod per job.

- :mod:`.pods`: the pure Pod builder (job record + :class:`~.pods.PodConfig` -> manifest);
- :mod:`.conventions`: how a cluster labels and taints spot and GPU nodes;
- :mod:`.metadata`: pod names, labels and annotations;
- :mod:`.quantities`: CPU and memory as Kubernetes quantities, both ways;
- :mod:`.config`: the traits (``c.KubernetesBackend.*``) and the frozen config they make.
"""

from .backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
