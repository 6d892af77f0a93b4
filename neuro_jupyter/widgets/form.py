"""``JobForm()``: a job's spec as a form; Launch turns it into a :class:`JobMonitor`.

The inputs come from the server's own description of the job spec
(``GET spec``) and its presets (``GET presets``, shown with CPU, memory, GPU
and preemptible). The form checks nothing itself: the API does, and its
message is shown beside the field it names (``InvalidSpec.field``; a name
already in use, 409, beside the name).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..client import ApiConfig, Conflict, InvalidSpec, Job, NeuroClient, NeuroError
from .fields import FieldInput, field_inputs, spec_of
from .monitor import JobMonitor

__all__ = ["JobForm"]


class JobForm(widgets.VBox):  # type: ignore[misc]
    """A form for a new job; after a successful Launch it shows the job's monitor.

    Args:
        config: where the API is (default: found from the environment).
        monitor: keyword arguments for the :class:`JobMonitor` Launch makes.
        **values: initial values by field name, e.g. ``image="ubuntu"``,
            ``command="echo hi"``, ``http_port=8080`` (dots written as ``_``
            for sub-fields: ``http_port``, ``http_auth``).

    Reads the presets and the spec's fields when made (two quick calls).

    Raises:
        ClientConfigError: no API is found or none answers.
    """

    def __init__(
        self,
        *,
        config: ApiConfig | None = None,
        monitor: Mapping[str, Any] | None = None,
        **values: Any,
    ) -> None:
        self.config = config if config is not None else ApiConfig.discover()
        self.monitor_options = dict(monitor or {})
        self._client = NeuroClient(self.config)
        try:
            presets, _ = self._client.presets()
            self._fields = self._client.spec_fields()
            #: The inputs by dotted field name (``image``, ``http.port``, ...).
            self.inputs: dict[str, FieldInput] = field_inputs(self._fields, presets)
            for key, value in values.items():
                self._input(key).set(value)
        except BaseException:
            self._client.close()
            raise
        #: Messages that name no field of the form (or the server's refusal).
        self.message = widgets.HTML()
        self.launch_button = widgets.Button(
            description="Launch", button_style="primary", icon="play", tooltip="Start the job"
        )
        self.launch_button.on_click(lambda _: self.launch())
        #: The job Launch started, and its monitor.
        self.job: Job | None = None
        self.monitor: JobMonitor | None = None
        rows = [field_input.row for field_input in self.inputs.values()]
        super().__init__(children=[*rows, widgets.HBox([self.launch_button, self.message])])

    def _input(self, key: str) -> FieldInput:
        for name in (key, key.replace("_", ".", 1)):
            if name in self.inputs:
                return self.inputs[name]
        raise TypeError(f"JobForm has no field {key!r}: it has {', '.join(self.inputs)}")

    @property
    def errors(self) -> dict[str, str]:
        """The API's messages shown beside fields, by field name."""
        return {name: i.message for name, i in self.inputs.items() if i.message}

    def spec(self) -> dict[str, Any]:
        """The job spec the form holds now (what Launch sends)."""
        objects = [f for f in self._fields if f["type"] == "object"]
        return spec_of(self.inputs, objects)

    def launch(self) -> JobMonitor | None:
        """Send the spec (what the Launch button does): on success the form
        becomes the new job's monitor, which is returned; otherwise the API's
        message is shown beside its field and None is returned."""
        for field_input in self.inputs.values():
            field_input.clear_error()
        self.message.value = ""
        self.launch_button.disabled = True
        try:
            job = self._client.run(self.spec())
        except InvalidSpec as error:
            self._show_error(error.field, error.message)
            return None
        except Conflict as error:
            self._show_error("name", error.message)
            return None
        except NeuroError as error:
            self._show_error("", error.message)
            return None
        finally:
            self.launch_button.disabled = False
        self.job = job
        self.monitor = JobMonitor(job, config=self.config, **self.monitor_options)
        self.children = [self.monitor]
        return self.monitor

    def _show_error(self, field: str, message: str) -> None:
        for name in (field, field.partition(".")[0]):
            if name in self.inputs:
                self.inputs[name].show_error(message)
                return
        subfields = [i for n, i in self.inputs.items() if n.startswith(f"{field}.")]
        if field and subfields:
            subfields[0].show_error(message)
            return
        self.message.value = f'<span style="color: #dc322f">{html.escape(message)}</span>'

    def close(self) -> None:
        """Close the form, its monitor if any, and its connections."""
        if getattr(self, "_client", None) is not None:
            self._client.close()
        monitor: JobMonitor | None = getattr(self, "monitor", None)
        if monitor is not None:
            monitor.close()
        for field_input in getattr(self, "inputs", {}).values():
            field_input.close()
        for part in (getattr(self, "launch_button", None), getattr(self, "message", None)):
            if part is not None:
                part.close()
        super().close()
