"""Inputs built from the server's job-spec fields (``GET spec``), one per field.

Each :class:`FieldInput` holds a widget, the error label beside it, and how
its text becomes the spec's JSON. Nothing is checked here: what the user typed
goes to the API as it is (a port that is not a number is sent as text), and the
API's message comes back beside the field it names.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ..jobs.model import Preset
from ..jobs.presets import preset_label

__all__ = ["FieldInput", "field_inputs", "spec_of"]

_LABEL = widgets.Layout(width="9em")
_WIDE = widgets.Layout(width="28em")
_AREA = widgets.Layout(width="28em", height="4.5em")

_HINTS = {
    "string-list": "separated by spaces",
    "volume-list": "one per line: storage:PATH:/MOUNT[:ro]",
    "mapping": "one per line: NAME=value",
}


class FieldInput:
    """One spec field's input, its error label, and its JSON value."""

    def __init__(self, name: str, kind: str, widget: widgets.Widget, label: str, help: str) -> None:
        self.name = name
        self.kind = kind
        self.widget = widget
        #: Shows the API's message about this field; empty otherwise.
        self.error = widgets.HTML()
        #: The API's message shown in :attr:`error`; empty when none.
        self.message = ""
        self.title = widgets.Label(label, layout=_LABEL, tooltip=help)
        self.row = widgets.HBox([self.title, widget, self.error])

    def value(self) -> Any:
        """The field's JSON value; None leaves it out of the spec (the server's default)."""
        raw = self.widget.value
        if self.kind == "boolean":
            return bool(raw)
        if self.kind == "enum":
            return raw or None
        text = str(raw)
        if not text.strip():
            return None
        if self.kind == "integer":
            return int(text) if text.strip().isdigit() else text
        if self.kind == "string-list":
            return text.split()
        if self.kind in ("volume-list", "mapping"):
            # The API takes env as "NAME=value" items, as `run -e` sends them.
            return [line for line in text.splitlines() if line.strip()]
        return text

    def set(self, value: Any) -> None:
        """Put ``value`` (as the spec would hold it: a list, a mapping, a number) in the input."""
        if self.kind == "boolean" or self.kind == "enum":
            self.widget.value = value
        elif isinstance(value, Mapping):
            self.widget.value = "\n".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            separator = " " if self.kind == "string-list" else "\n"
            self.widget.value = separator.join(str(item) for item in value)
        else:
            self.widget.value = "" if value is None else str(value)

    def show_error(self, message: str) -> None:
        """Show ``message`` beside the input."""
        self.message = message
        self.error.value = f'<span style="color: #dc322f">{html.escape(message)}</span>'

    def clear_error(self) -> None:
        """Forget the last message."""
        self.message = ""
        self.error.value = ""

    def close(self) -> None:
        """Close the input's widgets."""
        for part in (self.title, self.widget, self.error, self.row):
            part.close()


def _widget(field: Mapping[str, Any], presets: Sequence[Preset]) -> widgets.Widget:
    kind, default, help = field["type"], field.get("default"), field.get("help") or ""
    placeholder = _HINTS.get(kind, help)
    if kind == "boolean":
        return widgets.Checkbox(value=bool(default), indent=False)
    if kind == "enum":
        choices = list(field.get("choices") or [])
        if field["name"] == "preset" and presets:
            options: list[tuple[str, str]] = [(preset_label(p), p.name) for p in presets]
        else:
            options = [(c, c) for c in choices] or [(str(default), str(default))]
        names = [value for _, value in options]
        value = default if default in names else names[0]
        return widgets.Dropdown(options=options, value=value, layout=_WIDE)
    text = "" if default in (None, [], {}) else str(default)
    if kind in ("text", "volume-list", "mapping"):
        return widgets.Textarea(value=text, placeholder=placeholder, layout=_AREA)
    return widgets.Text(value=text, placeholder=placeholder, layout=_WIDE)


def field_inputs(
    fields: Sequence[Mapping[str, Any]], presets: Sequence[Preset], prefix: str = ""
) -> dict[str, FieldInput]:
    """An input per field, keyed by its dotted name (``http.port``); an ``object``
    field gives one input per sub-field and none of its own."""
    inputs: dict[str, FieldInput] = {}
    for field in fields:
        name = prefix + field["name"]
        if field["type"] == "object":
            inputs.update(field_inputs(field.get("fields") or [], presets, f"{name}."))
            continue
        label = name.replace("_", " ").replace(".", " ")
        if field.get("required") and not prefix:
            label += " *"
        widget = _widget(field, presets)
        inputs[name] = FieldInput(name, field["type"], widget, label, field.get("help") or "")
    return inputs


def spec_of(
    inputs: Mapping[str, FieldInput], objects: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The job spec from ``inputs``: empty fields left out; an ``object`` field
    (``http``) only when its required sub-field is filled."""
    spec: dict[str, Any] = {}
    for name, field_input in inputs.items():
        value = field_input.value()
        if value is None or "." in name:
            continue
        spec[name] = value
    for field in objects:
        parent = field["name"]
        required = [f["name"] for f in field.get("fields") or [] if f.get("required")]
        if any(inputs[f"{parent}.{n}"].value() is None for n in required):
            continue
        spec[parent] = {
            sub["name"]: inputs[f"{parent}.{sub['name']}"].value()
            for sub in field.get("fields") or []
            if inputs[f"{parent}.{sub['name']}"].value() is not None
        }
    return spec
