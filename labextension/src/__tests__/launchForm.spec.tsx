import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { JobsService } from '../api';
import { LaunchForm, startingPreset } from '../launchForm';
import { IJob } from '../types';
import { fakeServer, json, makeJob } from './fakeServer';
import SPEC from './spec.json';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const PRESETS = {
  presets: [
    { name: 'cpu-small', cpu: 1, memory: 2 * 1024 ** 3, gpu: 0, preemptible: false },
    { name: 'gpu-small', cpu: 4, memory: 16 * 1024 ** 3, gpu: 1, gpu_model: 'T4', preemptible: true, unavailable: 'preset gpu-small needs 1 GPU; this machine offers 2 CPU, 4 GiB, no GPU' }
  ],
  default: 'cpu-small'
};

/** Type into a React-controlled input. */
function type(input: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = Object.getPrototypeOf(input);
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('LaunchForm', () => {
  let node: HTMLElement;
  let root: Root;
  let posted: unknown[];
  let answer: () => Response;
  let launched: IJob[];

  const field = (name: string) =>
    node.querySelector(`[data-test-id="neuro-launch-${name}"]`) as HTMLInputElement;

  beforeEach(async () => {
    node = document.createElement('div');
    document.body.appendChild(node);
    root = createRoot(node);
    posted = [];
    launched = [];
    answer = () => json(makeJob({ name: 'train' }), 201);
    const { settings } = fakeServer((request, seen) => {
      if (request.method === 'POST') {
        posted.push(JSON.parse(seen.body));
        return answer();
      }
      return request.url.includes('/presets') ? json(PRESETS) : json({ fields: SPEC });
    });
    const service = new JobsService(settings);
    await act(async () => {
      root.render(
        <LaunchForm service={service} onLaunched={job => launched.push(job)} onCancel={() => undefined} />
      );
    });
  });

  afterEach(() => {
    act(() => root.unmount());
    node.remove();
  });

  it('shows every spec field, presets described', () => {
    const form = node.querySelector('[data-test-id="neuro-launch-form"]')!;
    expect(form.getAttribute('data-loading')).toBe('false');
    for (const name of ['image', 'command', 'preset', 'name', 'tags', 'description', 'volumes', 'env', 'workdir', 'http-port', 'http-auth', 'http-keep_prefix', 'life_span', 'restart', 'share']) {
      expect(field(name)).not.toBeNull();
    }
    const options = Array.from(field('preset').querySelectorAll('option')).map(o => o.textContent);
    expect(options).toEqual(['cpu-small — 1 CPU, 2 GiB, no GPU', 'gpu-small — 4 CPU, 16 GiB, 1 x T4, preemptible (cannot run here)']);
    // A preset that can never run here is offered disabled, with the reason.
    const gpu = field('preset').querySelectorAll('option')[1] as HTMLOptionElement;
    expect(gpu.disabled).toBe(true);
    expect(gpu.title).toContain('no GPU');
    // ...and the reason shows under the choice, not only on hover.
    const note = node.querySelector('[data-test-id="neuro-launch-preset-unavailable"]')!;
    expect(note.textContent).toBe('gpu-small cannot run here: preset gpu-small needs 1 GPU; this machine offers 2 CPU, 4 GiB, no GPU');
    expect((field('preset') as unknown as HTMLSelectElement).value).toBe('cpu-small');
    // The optional Http group marks nothing required until it is used.
    const port = node.querySelector('label[for="neuro-launch-http-port"]')!;
    expect(port.textContent).not.toContain('*');
    expect((field('life_span') as HTMLInputElement).value).toBe('1d');
  });

  it('posts the spec and hands over the new job', async () => {
    await act(async () => {
      type(field('image'), 'ubuntu');
      type(field('command'), 'echo hi');
      type(field('tags'), 'a b');
      type(field('http-port'), '8080');
    });
    await act(async () => {
      (node.querySelector('[data-test-id="neuro-launch-submit"]') as HTMLButtonElement).click();
    });
    expect(posted).toEqual([
      {
        image: 'ubuntu',
        command: 'echo hi',
        preset: 'cpu-small',
        tags: ['a', 'b'],
        http: { port: 8080, auth: true, keep_prefix: false },
        life_span: '1d',
        restart: 'never'
      }
    ]);
    expect(launched.map(j => j.name)).toEqual(['train']);
  });

  it("asks for the image before the server, and shows the server's error at its field", async () => {
    await act(async () => {
      (node.querySelector('[data-test-id="neuro-launch-submit"]') as HTMLButtonElement).click();
    });
    expect(posted).toHaveLength(0);
    expect(node.querySelector('[data-test-id="neuro-launch-image-error"]')?.textContent).toBe('image is required');

    answer = () => json({ error: "job name 'Bad' is invalid", field: 'name' }, 400);
    await act(async () => {
      type(field('image'), 'ubuntu');
      type(field('name'), 'Bad');
    });
    await act(async () => {
      (node.querySelector('[data-test-id="neuro-launch-submit"]') as HTMLButtonElement).click();
    });
    expect(node.querySelector('[data-test-id="neuro-launch-name-error"]')?.textContent).toBe("job name 'Bad' is invalid");
    // Once, beside the field: no banner repeating it.
    expect(node.querySelector('[data-test-id="neuro-launch-message"]')).toBeNull();
    expect(launched).toHaveLength(0);
  });
});

describe('startingPreset', () => {
  const presets = PRESETS.presets;

  it('keeps a default that fits', () => {
    expect(startingPreset(presets, 'cpu-small')).toBe('cpu-small');
  });

  it('never pre-selects a preset that cannot run here, even the default', () => {
    expect(startingPreset(presets, 'gpu-small')).toBe('cpu-small');
    expect(startingPreset([presets[1]], 'gpu-small')).toBe('');
  });
});
