import { buildSpec, errorKey, initialValues } from '../specForm';
import { ISpecField } from '../types';
// What GET spec answers (tests/ui/test_units.py keeps it equal to the server's).
import SPEC from './spec.json';

const FIELDS = SPEC as ISpecField[];

describe('initialValues', () => {
  it("starts from the server's defaults, nested fields dotted", () => {
    const values = initialValues(FIELDS);
    expect(values.image).toBe('');
    expect(values.preset).toBe('cpu-small');
    expect(values.life_span).toBe('1d');
    expect(values.restart).toBe('never');
    expect(values['http.port']).toBe('');
    expect(values['http.auth']).toBe(true);
    expect(values['http.keep_prefix']).toBe(false);
    expect(values.tags).toBe('');
    expect(values.env).toBe('');
    expect(Object.keys(values)).not.toContain('http');
  });
});

describe('buildSpec', () => {
  it('needs an image', () => {
    const { spec, errors } = buildSpec(FIELDS, initialValues(FIELDS));
    expect(spec).toBeNull();
    expect(errors).toEqual({ image: 'image is required' });
  });

  it('sends what was filled in, as the API wants it', () => {
    const values = {
      ...initialValues(FIELDS),
      image: ' python:3.12 ',
      command: 'python -c "print(1)"',
      name: 'train',
      tags: 'kind:project, target:setup',
      volumes: 'storage:data:/data:ro\n\nstorage::/home\n',
      env: 'A=1\nB=x=y',
      life_span: '3600',
      preset: 'gpu-small'
    };
    const { spec, errors } = buildSpec(FIELDS, values);
    expect(errors).toEqual({});
    expect(spec).toEqual({
      image: 'python:3.12',
      command: 'python -c "print(1)"',
      preset: 'gpu-small',
      name: 'train',
      tags: ['kind:project', 'target:setup'],
      volumes: ['storage:data:/data:ro', 'storage::/home'],
      env: { A: '1', B: 'x=y' },
      life_span: 3600,
      restart: 'never'
    });
  });

  it('sends http only with a port, and checks the port is a number', () => {
    const base = { ...initialValues(FIELDS), image: 'ubuntu' };
    expect(buildSpec(FIELDS, base).spec).not.toHaveProperty('http');
    const withPort = buildSpec(FIELDS, { ...base, 'http.port': '8080', 'http.auth': false });
    expect(withPort.spec?.http).toEqual({ port: 8080, auth: false, keep_prefix: false });
    const bad = buildSpec(FIELDS, { ...base, 'http.port': 'eighty' });
    expect(bad.errors).toEqual({ 'http.port': 'port must be a whole number' });
  });

  it('keeps a duration in the 2d3h grammar as text', () => {
    const values = { ...initialValues(FIELDS), image: 'ubuntu', life_span: '2d3h' };
    expect(buildSpec(FIELDS, values).spec?.life_span).toBe('2d3h');
  });

  it('names a mapping line without =', () => {
    const values = { ...initialValues(FIELDS), image: 'ubuntu', env: 'A=1\noops' };
    expect(buildSpec(FIELDS, values).errors.env).toContain('"oops"');
  });
});

describe('errorKey', () => {
  it("finds the input of the API error's field", () => {
    expect(errorKey(FIELDS, 'name')).toBe('name');
    expect(errorKey(FIELDS, 'http.port')).toBe('http.port');
    expect(errorKey(FIELDS, 'http')).toBe('http.port');
    expect(errorKey(FIELDS, 'volumes[1]')).toBe('volumes');
    expect(errorKey(FIELDS, null)).toBeNull();
    expect(errorKey(FIELDS, 'nothing')).toBeNull();
  });
});
