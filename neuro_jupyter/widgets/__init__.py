"""ipywidgets for jobs: :class:`JobForm`, :class:`JobMonitor`, :class:`JobList`.

Clients of the REST API like the magics (DESIGN.md §1): they find the server
from the environment (``NEURO_API_URL``/``NEURO_API_TOKEN``) and never import
the service. Each widget returns at once; a daemon thread per widget follows
the API and only sets the widgets' values, until the job ends or the widget is
closed (``close()``)::

    from neuro_jupyter.widgets import JobForm, JobList, JobMonitor

    JobForm(image="ubuntu", command="echo hi")     # Launch -> a JobMonitor
    JobMonitor("my-job")                           # status, log, telemetry, Kill
    JobList(status=["running"], tag=["train"])     # ps, live
"""

from __future__ import annotations

from .form import JobForm
from .joblist import JobList
from .monitor import JobMonitor

__all__ = ["JobForm", "JobList", "JobMonitor"]
