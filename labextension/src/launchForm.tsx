/**
 * The Launch form: the job-spec fields as `GET spec` describes them (the
 * same fields as the notebook's JobForm), presets from `GET presets`.
 */
import * as React from 'react';

import { JobsService, NeuroAPIError } from './api';
import { presetLabel } from './format';
import { ErrorBanner } from './jobList';
import {
  buildSpec,
  errorKey,
  FormErrors,
  FormValues,
  initialValues
} from './specForm';
import { IJob, IPreset, ISpecField } from './types';

/** Fields shown folded under "More options". */
const ADVANCED = new Set([
  'volumes',
  'env',
  'workdir',
  'restart',
  'share',
  'description'
]);

function label(name: string): string {
  const text = name.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** One input for one field. */
function FieldInput(props: {
  field: ISpecField;
  name: string;
  value: string | boolean;
  presets: IPreset[];
  onChange: (value: string | boolean) => void;
}): JSX.Element {
  const { field, name, value, presets, onChange } = props;
  const testId = `neuro-launch-${name.replace(/\./g, '-')}`;
  const common = {
    id: testId,
    name,
    'data-test-id': testId,
    title: field.help ?? ''
  };
  switch (field.type) {
    case 'boolean':
      return (
        <input
          {...common}
          type="checkbox"
          checked={value === true}
          onChange={e => onChange(e.currentTarget.checked)}
        />
      );
    case 'enum': {
      const choices =
        field.name === 'preset' && presets.length
          ? presets.map(p => ({
              value: p.name,
              text: p.unavailable
                ? `${presetLabel(p)} (cannot run here)`
                : presetLabel(p),
              why: p.unavailable ?? null
            }))
          : (field.choices ?? []).map(c => ({ value: c, text: c, why: null }));
      return (
        <select
          {...common}
          className="jp-mod-styled"
          value={String(value)}
          onChange={e => onChange(e.currentTarget.value)}
        >
          {value === '' && (
            // Nothing that fits to pre-select: say so rather than show a
            // preset that cannot run as if it were chosen.
            <option value="" disabled>
              Choose a preset
            </option>
          )}
          {choices.map(c => (
            // A preset that can never fit is shown, disabled, with the reason.
            <option
              key={c.value}
              value={c.value}
              disabled={c.why !== null}
              title={c.why ?? c.text}
            >
              {c.text}
            </option>
          ))}
        </select>
      );
    }
    case 'text':
    case 'volume-list':
    case 'mapping':
      return (
        <textarea
          {...common}
          className="jp-mod-styled"
          rows={field.type === 'text' ? 2 : 3}
          placeholder={
            field.type === 'mapping'
              ? 'NAME=value, one per line'
              : field.type === 'volume-list'
                ? 'storage:data:/data:ro, one per line'
                : ''
          }
          value={String(value)}
          onChange={e => onChange(e.currentTarget.value)}
        />
      );
    default:
      return (
        <input
          {...common}
          className="jp-mod-styled"
          type={field.type === 'integer' ? 'number' : 'text'}
          placeholder={
            field.type === 'string-list'
              ? 'separated by spaces'
              : field.type === 'duration'
                ? '2d3h20m'
                : ''
          }
          value={String(value)}
          onChange={e => onChange(e.currentTarget.value)}
        />
      );
  }
}

/**
 * The presets this server can never run, each with the reason, under the
 * preset choice: a disabled option's title shows only on hover (issue 12).
 */
export function UnavailablePresets(props: { presets: IPreset[] }): JSX.Element | null {
  const refused = props.presets.filter(p => p.unavailable);
  if (!refused.length) {
    return null;
  }
  return (
    <ul
      className="neuro-Launch-unavailable"
      data-test-id="neuro-launch-preset-unavailable"
    >
      {refused.map(p => (
        <li key={p.name} data-preset={p.name}>
          <b>{p.name}</b> cannot run here: {p.unavailable}
        </li>
      ))}
    </ul>
  );
}

/**
 * The preset a new form starts with: the default unless this server cannot
 * run it, then the first that it can; none ('') when none fits.
 */
export function startingPreset(presets: IPreset[], preferred: string): string {
  const fits = presets.filter(p => !p.unavailable);
  if (!presets.length || fits.some(p => p.name === preferred)) {
    return preferred;
  }
  return fits.length ? fits[0].name : '';
}

/** A labelled field, its help and its error; groups nest. */
function FieldRow(props: {
  field: ISpecField;
  prefix: string;
  values: FormValues;
  errors: FormErrors;
  presets: IPreset[];
  onChange: (key: string, value: string | boolean) => void;
  /** Whether the group holding the field is in use (true at the top). */
  groupUsed?: boolean;
}): JSX.Element {
  const { field, prefix, values, errors, presets, onChange } = props;
  const key = prefix + field.name;
  if (field.type === 'object') {
    // An optional group's required fields are required only once it is used
    // ("Port *" on an unused Http group read as required, issue 12).
    const used = (field.fields ?? []).some(inner => {
      const value = values[`${key}.${inner.name}`];
      return typeof value === 'string' && value.trim() !== '';
    });
    return (
      <fieldset className="neuro-Launch-group" title={field.help}>
        <legend>
          {label(field.name)}
          {field.required ? '' : ' (optional)'}
        </legend>
        {(field.fields ?? []).map(inner => (
          <FieldRow
            key={inner.name}
            {...props}
            field={inner}
            prefix={`${key}.`}
            groupUsed={field.required === true || used}
          />
        ))}
      </fieldset>
    );
  }
  const id = `neuro-launch-${key.replace(/\./g, '-')}`;
  return (
    <div
      className={`neuro-Launch-field neuro-Launch-${field.type}`}
      data-invalid={errors[key] ? 'true' : 'false'}
    >
      <label htmlFor={id}>
        {label(field.name)}
        {field.required && props.groupUsed !== false ? ' *' : ''}
      </label>
      <FieldInput
        field={field}
        name={key}
        value={values[key] ?? ''}
        presets={presets}
        onChange={value => onChange(key, value)}
      />
      {field.name === 'preset' && <UnavailablePresets presets={presets} />}
      {errors[key] ? (
        <div className="neuro-Launch-error" data-test-id={`${id}-error`}>
          {errors[key]}
        </div>
      ) : (
        field.help && <div className="neuro-Launch-help">{field.help}</div>
      )}
    </div>
  );
}

/** The form; `onLaunched` gets the new job. */
export function LaunchForm(props: {
  service: JobsService;
  onLaunched: (job: IJob) => void;
  onCancel: () => void;
}): JSX.Element {
  const { service, onLaunched, onCancel } = props;
  const [fields, setFields] = React.useState<ISpecField[] | null>(null);
  const [presets, setPresets] = React.useState<IPreset[]>([]);
  const [values, setValues] = React.useState<FormValues>({});
  const [errors, setErrors] = React.useState<FormErrors>({});
  const [message, setMessage] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    Promise.all([service.specFields(), service.presets()])
      .then(([specFields, presetData]) => {
        if (!live) {
          return;
        }
        const start = initialValues(specFields);
        // Never a preset that cannot run here, even the default (issue 12).
        start.preset = startingPreset(
          presetData.presets,
          String(start.preset || presetData.default)
        );
        setFields(specFields);
        setPresets(presetData.presets);
        setValues(start);
      })
      .catch((err: Error) => live && setMessage(err.message));
    return () => {
      live = false;
    };
  }, [service]);

  const change = (key: string, value: string | boolean) => {
    setValues(old => ({ ...old, [key]: value }));
    setErrors(old => {
      const rest = { ...old };
      delete rest[key];
      return rest;
    });
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!fields) {
      return;
    }
    setMessage(null);
    const built = buildSpec(fields, values);
    setErrors(built.errors);
    if (!built.spec) {
      setMessage('Fix the fields marked below.');
      return;
    }
    setBusy(true);
    try {
      onLaunched(await service.createJob(built.spec));
    } catch (err) {
      const apiError = err instanceof NeuroAPIError ? err : null;
      const key = apiError ? errorKey(fields, apiError.field) : null;
      if (key && apiError) {
        // Once, beside its field (it showed in the banner too, issue 12).
        setErrors({ [key]: apiError.message });
        setMessage(null);
      } else {
        setMessage(apiError ? apiError.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const rows = (filter: (f: ISpecField) => boolean) =>
    (fields ?? []).filter(filter).map(field => (
      <FieldRow
        key={field.name}
        field={field}
        prefix=""
        values={values}
        errors={errors}
        presets={presets}
        onChange={change}
      />
    ));

  return (
    <form
      className="neuro-Launch"
      data-test-id="neuro-launch-form"
      data-loading={fields ? 'false' : 'true'}
      onSubmit={submit}
    >
      <div className="neuro-Detail-bar">
        <button
          type="button"
          className="jp-Button jp-mod-minimal neuro-Back"
          data-test-id="neuro-back"
          onClick={onCancel}
        >
          ← Jobs
        </button>
        <span className="neuro-Detail-title">New job</span>
      </div>
      <ErrorBanner message={message} testId="neuro-launch-message" />
      {rows(f => !ADVANCED.has(f.name))}
      {fields && (
        <details className="neuro-Launch-more">
          <summary>More options</summary>
          {rows(f => ADVANCED.has(f.name))}
        </details>
      )}
      <div className="neuro-Launch-actions">
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          data-test-id="neuro-launch-submit"
          disabled={busy || !fields}
        >
          {busy ? 'Launching…' : 'Launch'}
        </button>
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          onClick={onCancel}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
