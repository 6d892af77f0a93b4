import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { JobsService } from '../api';
import { IJobActions, JobDetail } from '../jobDetail';
import { IJob } from '../types';
import { fakeServer, json, makeJob } from './fakeServer';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

const settle = () => act(() => new Promise<void>(resolve => setTimeout(resolve, 250)));

describe('JobDetail', () => {
  let node: HTMLElement;
  let root: Root;
  let job: IJob;
  let calls: string[];

  const actions: IJobActions = {
    kill: async j => {
      calls.push(`kill ${j.id}`);
      return null;
    },
    rerun: async j => {
      calls.push(`rerun ${j.id}`);
      return j;
    },
    back: () => calls.push('back')
  };

  const show = async () => {
    const { settings } = fakeServer(request =>
      request.url.includes('/logs')
        ? new Response('tick 1\n10%\r50%\n\x1b[32mdone\x1b[0m\n', { status: 200 })
        : json(job)
    );
    await act(async () => {
      root.render(<JobDetail service={new JobsService(settings)} jobId={job.id} actions={actions} />);
    });
    await settle();
  };

  const byId = (id: string) => node.querySelector(`[data-test-id="${id}"]`) as HTMLElement;

  beforeEach(() => {
    node = document.createElement('div');
    document.body.appendChild(node);
    root = createRoot(node);
    calls = [];
  });

  afterEach(() => {
    act(() => root.unmount());
    node.remove();
  });

  it('shows the status fields, the history and the log as a terminal would', async () => {
    job = makeJob({
      reason: '',
      history: [
        { status: 'pending', reason: 'Creating', description: '', at: '2026-01-01T10:00:00Z', exit_code: null },
        { status: 'running', reason: '', description: '', at: '2026-01-01T10:00:01Z', exit_code: null }
      ]
    });
    await show();
    expect(byId('neuro-job-detail').dataset.status).toBe('running');
    expect(byId('neuro-detail-id').textContent).toBe(job.id);
    expect(byId('neuro-detail-preset').textContent).toBe('cpu-small');
    expect(byId('neuro-detail-life-span').textContent).toBe('1d');
    expect(byId('neuro-job-history').querySelectorAll('tbody tr')).toHaveLength(2);
    expect(byId('neuro-job-log').textContent).toBe('tick 1\n50%\ndone\n');
    expect((byId('neuro-kill') as HTMLButtonElement).disabled).toBe(false);
  });

  it('kills and reruns through its owner, and goes back', async () => {
    job = makeJob();
    await show();
    await act(async () => byId('neuro-kill').click());
    await act(async () => byId('neuro-rerun').click());
    await act(async () => byId('neuro-back').click());
    expect(calls).toEqual([`kill ${job.id}`, `rerun ${job.id}`, 'back']);
  });

  it('offers no Kill for a finished job, and says why it ended', async () => {
    job = makeJob({ status: 'failed', reason: 'OOMKilled', exit_code: 137, finished_at: '2026-01-01T10:05:00Z' });
    await show();
    expect((byId('neuro-kill') as HTMLButtonElement).disabled).toBe(true);
    expect(byId('neuro-detail-status').textContent).toContain('OOMKilled');
    expect(byId('neuro-detail-exit-code').textContent).toBe('137');
  });
});
