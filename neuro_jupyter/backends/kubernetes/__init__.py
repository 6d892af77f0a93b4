"""The kubernetes backend (DESIGN.md §5): one Pod per job.

- :mod:`.pods`: the pure Pod builder (job record + :class:`~.pods.PodConfig` -> manifest);
- :mod:`.conventions`: how a cluster labels and taints spot and GPU nodes;
- :mod:`.metadata`: pod names, labels and annotations;
- :mod:`.quantities`: CPU and memory as Kubernetes quantities, both ways;
- :mod:`.config`: the traits (``c.KubernetesBackend.*``) and the frozen config they make;
- :mod:`.backend`: :class:`KubernetesBackend`, statuses, kill, reconcile, telemetry;
- :mod:`.watch`: the one list-then-watch of job pods;
- :mod:`.tracking`: what the backend knows of each job it runs;
- :mod:`.logarchive`: each job's log, archived per container instance;
- :mod:`.execs`: exec sessions over the pod exec WebSocket;
- :mod:`.status`: pod phase, container states and conditions -> job statuses.
"""

from .backend import KubernetesBackend

__all__ = ["KubernetesBackend"]
