"""A Kubernetes API emulator over HTTP with a simulated scheduler and kubelet (issue 6).

The kubernetes backend is tested against it as against a cluster:
``KubernetesEmulator`` (``emulator.py``) serves what kubernetes_asyncio sends,
and each pod's command runs as a real local process (``kubelet.py``,
``podworker.py``, ``containers.py``), so output, exit codes, signals, exec
and resource usage are real. Fixtures are in ``fixtures.py``;
``background.py`` serves it from a thread of its own, for a client in another
process (a JupyterHub, through a kubeconfig).

Modules: ``store.py`` (objects, resourceVersions, watch history), ``pods.py``
(validation, defaults, patches), ``selectors.py`` (label/field selectors,
quantities), ``scheduler.py`` (nodes, filters, FailedScheduling messages),
``streams.py`` (log and exec), ``discovery.py``.

What it does not emulate (a test that needs one of these needs another tool):

- resources other than pods, events, nodes (read-only), namespaces (any name
  exists, read-only) and metrics.k8s.io PodMetrics; no Jobs, PVCs, Secrets,
  ConfigMaps, Services; no RBAC (one bearer token), no admission webhooks,
  no server-side apply, no ``dryRun``, no protobuf, no SPDY (exec is
  WebSocket only: v4/v5.channel.k8s.io), no attach or port-forward;
- list ``resourceVersion``/``resourceVersionMatch`` (lists are always the
  latest), ``sendInitialEvents``, finalizers and owner references;
- images: none are pulled; a container runs its ``command`` + ``args`` on this
  machine with this machine's environment (plus ``HOSTNAME``, the pod's
  ``env`` and a ``NEURO_K8S_EMULATOR`` mark); an image's ENTRYPOINT is known
  only when ``KubeletConfig.entrypoints`` declares it, and a container with
  neither command nor args runs ``KubeletConfig.default_command``;
- volumes are not mounted (mount paths do not exist); ``workingDir`` is used
  when it exists here, else a fresh directory; env ``valueFrom`` supports
  ``fieldRef`` and ``resourceFieldRef`` only;
- every pod has podIP 127.0.0.1 (ports are the host's: two pods on one port
  collide); init containers, probes, lifecycle hooks, ``securityContext``,
  CPU limits, the PID-1 signal rules and evictions are ignored; memory limits
  are enforced by a resident-set watchdog (OOMKilled, 137);
- the scheduler knows requests, ``pods`` per node (110 by default, as the
  kubelet), taints, nodeSelector and required node affinity; no priorities or
  preemption, no pod (anti-)affinity or topology spread; it writes one
  FailedScheduling event per distinct message (a real scheduler repeats it);
- timings are short and configurable (pulls, back-offs); metrics are fresh on
  every request (metrics-server refreshes every ~15 s) and CPU is averaged
  since the previous request;
- an exec whose client goes away is killed (Kubernetes lets it run on).
"""
