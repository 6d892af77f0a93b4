/**
 * The launch form's values, from and to the job spec that `GET spec`
 * describes. Pure: no DOM, no HTTP.
 *
 * A form value is a string (text inputs, one item per line for lists and
 * `NAME=value` lines for mappings) or a boolean (check boxes). Nested fields
 * (`http.port`) use dotted keys.
 */
import { IJobSpec, ISpecField } from './types';

/** The form's values by (dotted) field name. */
export type FormValues = { [key: string]: string | boolean };

/** Messages by (dotted) field name. */
export type FormErrors = { [key: string]: string };

/** The text a field's default shows as. */
function defaultText(field: ISpecField): string | boolean {
  const value = field.default;
  if (field.type === 'boolean') {
    return value === true;
  }
  if (value === null || value === undefined) {
    return '';
  }
  if (Array.isArray(value)) {
    return value.join(field.type === 'string-list' ? ' ' : '\n');
  }
  if (typeof value === 'object') {
    return Object.entries(value as { [k: string]: unknown })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
  }
  return String(value);
}

/** The form's first values: each field's default, nested fields included. */
export function initialValues(
  fields: ReadonlyArray<ISpecField>,
  prefix = ''
): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const key = prefix + field.name;
    if (field.type === 'object') {
      Object.assign(values, initialValues(field.fields ?? [], `${key}.`));
    } else {
      values[key] = defaultText(field);
    }
  }
  return values;
}

/** Whitespace- or comma-separated items. */
function words(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** Non-empty lines, trimmed. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean);
}

/** One field's value as the API wants it; `undefined` leaves it out. */
function convert(
  field: ISpecField,
  raw: string | boolean | undefined,
  key: string,
  errors: FormErrors
): unknown {
  if (field.type === 'boolean') {
    return raw === true;
  }
  const text = typeof raw === 'string' ? raw : '';
  const trimmed = text.trim();
  if (!trimmed) {
    if (field.required) {
      errors[key] = `${field.name} is required`;
    }
    return undefined;
  }
  switch (field.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(trimmed)) {
        errors[key] = `${field.name} must be a whole number`;
        return undefined;
      }
      return parseInt(trimmed, 10);
    }
    case 'duration':
      return /^\d+$/.test(trimmed) ? parseInt(trimmed, 10) : trimmed;
    case 'string-list':
      return words(trimmed);
    case 'volume-list':
      return lines(text);
    case 'mapping': {
      const mapping: { [name: string]: string } = {};
      for (const line of lines(text)) {
        const eq = line.indexOf('=');
        if (eq <= 0) {
          errors[key] = `${field.name}: write NAME=value, one per line ("${line}")`;
          return undefined;
        }
        mapping[line.slice(0, eq).trim()] = line.slice(eq + 1);
      }
      return mapping;
    }
    case 'text':
    case 'command':
      return text;
    default:
      return trimmed;
  }
}

/** The spec of fields inside `prefix`, or undefined when the group is left empty. */
function build(
  fields: ReadonlyArray<ISpecField>,
  values: FormValues,
  errors: FormErrors,
  prefix: string
): { [name: string]: unknown } {
  const spec: { [name: string]: unknown } = {};
  for (const field of fields) {
    const key = prefix + field.name;
    if (field.type === 'object') {
      const inner = field.fields ?? [];
      // An optional group is sent only when its required fields are filled.
      const filled = inner
        .filter(f => f.required)
        .every(f => String(values[`${key}.${f.name}`] ?? '').trim() !== '');
      if (filled || field.required) {
        spec[field.name] = build(inner, values, errors, `${key}.`);
      }
      continue;
    }
    const value = convert(field, values[key], key, errors);
    if (value !== undefined) {
      spec[field.name] = value;
    }
  }
  return spec;
}

/**
 * The job spec the form's values stand for, or the errors found before
 * asking the server (which checks every rule again).
 */
export function buildSpec(
  fields: ReadonlyArray<ISpecField>,
  values: FormValues
): { spec: IJobSpec | null; errors: FormErrors } {
  const errors: FormErrors = {};
  const spec = build(fields, values, errors, '');
  if (Object.keys(errors).length) {
    return { spec: null, errors };
  }
  return { spec: spec as IJobSpec, errors };
}

/** The form key an API error's `field` belongs to (`http.port`, `volumes[1]`…). */
export function errorKey(
  fields: ReadonlyArray<ISpecField>,
  field: string | null
): string | null {
  if (!field) {
    return null;
  }
  const base = field.replace(/\[.*$/, '');
  const keys = Object.keys(initialValues(fields));
  if (keys.indexOf(base) >= 0) {
    return base;
  }
  const top = base.split('.')[0];
  const nested = keys.filter(key => key.startsWith(`${top}.`));
  if (keys.indexOf(top) >= 0) {
    return top;
  }
  return nested.length ? nested[0] : null;
}
