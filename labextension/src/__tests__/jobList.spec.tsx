import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { JobsService } from '../api';
import { JobList, JobWhy } from '../jobList';
import { JobsModel } from '../model';
import { IJob, IListQuery } from '../types';
import { fakeServer, makeJob } from './fakeServer';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

class ListService extends JobsService {
  jobs: IJob[] = [];
  constructor() {
    super(fakeServer(() => new Response('{}')).settings);
  }
  async listJobs(_query: IListQuery): Promise<IJob[]> {
    return this.jobs;
  }
}

describe('JobList', () => {
  let node: HTMLElement;
  let root: Root;
  let model: JobsModel;
  let service: ListService;
  const opened: string[] = [];

  const render = async () => {
    await act(async () => {
      root.render(
        <JobList
          model={model}
          onOpen={job => opened.push(job.id)}
          now={Date.parse('2026-01-01T10:05:00Z')}
        />
      );
    });
  };

  beforeEach(() => {
    node = document.createElement('div');
    document.body.appendChild(node);
    root = createRoot(node);
    service = new ListService();
    model = new JobsModel({ service, interval: 60000 });
    model.visible = true;
  });

  afterEach(() => {
    act(() => root.unmount());
    node.remove();
    model.dispose();
  });

  it('shows each job: status, name, preset, image, when and its link', async () => {
    service.jobs = [
      makeJob({ http_url: 'http://localhost:8888/user/alice/neuro/jobs/train/' }),
      makeJob({ id: 'job-2', name: 'done', status: 'succeeded', tags: [] })
    ];
    await model.refresh();
    await render();
    const rows = node.querySelectorAll('[data-test-id="neuro-job-row"]');
    expect(rows).toHaveLength(2);
    const first = rows[0] as HTMLElement;
    expect(first.dataset.status).toBe('running');
    expect(first.dataset.jobName).toBe('train');
    const text = (id: string) =>
      first.querySelector(`[data-test-id="${id}"]`)?.textContent;
    expect(text('neuro-job-status')).toBe('running');
    expect(text('neuro-job-name')).toBe('train');
    expect(text('neuro-job-preset')).toBe('cpu-small');
    expect(text('neuro-job-image')).toBe('ubuntu');
    expect(text('neuro-job-when')).toBe('5 min ago');
    const link = first.querySelector('a') as HTMLAnchorElement;
    expect(link.href).toBe('http://localhost:8888/user/alice/neuro/jobs/train/');
    expect(link.target).toBe('_blank');
    expect(rows[1].querySelector('a')).toBeNull();
    expect(node.querySelector('[data-test-id="neuro-job-list"]')?.getAttribute('data-loading')).toBe('false');
  });

  it('opens a job on click, but not when its link is clicked', async () => {
    service.jobs = [makeJob({ http_url: 'http://x/' })];
    await model.refresh();
    await render();
    const row = node.querySelector('[data-test-id="neuro-job-row"]') as HTMLElement;
    opened.length = 0;
    await act(async () => row.click());
    expect(opened).toEqual([service.jobs[0].id]);
    const link = row.querySelector('a') as HTMLAnchorElement;
    link.addEventListener('click', e => e.preventDefault());
    await act(async () => link.click());
    expect(opened).toHaveLength(1);
  });

  it("offers a row's actions: its page, Open URL while it serves, Kill while live", async () => {
    const killed: string[] = [];
    service.jobs = [
      makeJob({ http_url: 'http://x/' }),
      makeJob({ id: 'job-2', name: 'done', status: 'succeeded', http_url: 'http://y/' })
    ];
    await model.refresh();
    await act(async () => {
      root.render(
        <JobList model={model} onOpen={job => opened.push(job.id)} actions={{ kill: job => killed.push(job.id) }} />
      );
    });
    const [live, done] = Array.from(node.querySelectorAll('[data-test-id="neuro-job-row"]')) as HTMLElement[];
    const buttons = (row: HTMLElement) =>
      Array.from(row.querySelectorAll('[data-test-id="neuro-job-actions"] button')).map(b => b.textContent);
    expect(buttons(live)).toEqual(['Open', 'URL', 'Kill']);
    expect(buttons(done)).toEqual(['Open']);
    expect(live.dataset.httpUrl).toBe('http://x/');
    expect(done.dataset.httpUrl).toBeUndefined();
    opened.length = 0;
    await act(async () => (live.querySelector('[data-test-id="neuro-job-kill"]') as HTMLElement).click());
    expect(killed).toEqual([service.jobs[0].id]);
    expect(opened).toEqual([]); // the row's click is not also made
  });

  it('says whose a job shared with you is', async () => {
    service.jobs = [makeJob({ owner: 'bob' }), makeJob({ id: 'job-2', name: 'mine', owner: 'alice' })];
    await model.refresh();
    await act(async () => {
      root.render(<JobList model={model} onOpen={() => undefined} me="alice" />);
    });
    const owners = Array.from(node.querySelectorAll('[data-test-id="neuro-job-row"]')).map(
      row => row.querySelector('[data-test-id="neuro-job-owner"]')?.textContent ?? null
    );
    expect(owners).toEqual(['by bob', null]);
  });

  it('sets the Running-only filter from its check box', async () => {
    await model.refresh();
    await render();
    const box = node.querySelector('[data-test-id="neuro-filter-running"]') as HTMLInputElement;
    await act(async () => box.click());
    expect(model.filters.runningOnly).toBe(true);
  });

  it('says there are no jobs, or that none match', async () => {
    await model.refresh();
    await render();
    expect(node.querySelector('[data-test-id="neuro-empty"]')?.textContent).toContain('No jobs yet');
    model.setFilters({ search: 'zzz' });
    await render();
    expect(node.querySelector('[data-test-id="neuro-empty"]')?.textContent).toBe('No jobs match these filters.');
  });
});

describe('JobWhy', () => {
  it("says a failed job's reason and exit code and a pending job's wait", async () => {
    const node = document.createElement('div');
    const root = createRoot(node);
    await act(async () => {
      root.render(
        <>
          <JobWhy job={makeJob({ status: 'failed', reason: 'Error', exit_code: 3 })} />
          <JobWhy job={makeJob({ status: 'pending', reason: 'Scheduling', status_description: 'waiting for 8 CPU' })} />
          <JobWhy job={makeJob({ status: 'running' })} />
        </>
      );
    });
    const lines = Array.from(node.querySelectorAll('[data-test-id="neuro-job-why"]')).map(n => n.textContent);
    expect(lines).toEqual(['Error, exit code 3', 'waiting: waiting for 8 CPU']);
    root.unmount();
  });
});
