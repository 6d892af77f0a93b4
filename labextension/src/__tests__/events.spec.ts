import { JobsService } from '../api';
import { JobEvents, SSEParser } from '../events';
import { JobsModel, matchesQuery } from '../model';
import { IJob } from '../types';
import { fakeServer, json, makeJob } from './fakeServer';

function sse(job: IJob, id: string): string {
  return `id: ${id}\nevent: job\ndata: ${JSON.stringify(job)}\n\n`;
}

describe('SSEParser', () => {
  it('completes events across chunks and skips comments', () => {
    const parser = new SSEParser();
    expect(parser.feed('retry: 3000\n\n: ping\n\nid: e-1\nevent: jo')).toEqual(
      []
    );
    expect(parser.feed('b\ndata: {"a":\ndata: 1}\r\n\r\nevent: reset\n')).toEqual([
      { event: 'job', id: 'e-1', data: '{"a":\n1}' }
    ]);
    expect(parser.feed('data: {}\n\n')).toEqual([
      { event: 'reset', id: null, data: '{}' }
    ]);
  });
});

describe('matchesQuery', () => {
  it('applies the filters GET jobs applies', () => {
    const job = makeJob({ status: 'failed', tags: ['a', 'b'] });
    const all = { liveOnly: false, tags: [], q: '', limit: 200 };
    expect(matchesQuery(job, all)).toBe(true);
    expect(matchesQuery(job, { ...all, liveOnly: true })).toBe(false);
    expect(matchesQuery(job, { ...all, tags: ['a', 'c'] })).toBe(false);
    expect(matchesQuery(job, { ...all, q: 'SLEEP' })).toBe(true);
    expect(matchesQuery(job, { ...all, q: 'nothing' })).toBe(false);
  });
});

describe('JobEvents', () => {
  it('resumes after a drop with Last-Event-ID and the list follows pushes', async () => {
    const running = makeJob({ status: 'running' });
    const done = makeJob({ status: 'succeeded' });
    const other = makeJob({
      id: 'job-00000000-0000-4000-8000-000000000002',
      name: 'other',
      created_at: '2030-01-01T00:00:00Z'
    });
    // Each stream's changes, and the list as the server has it after them.
    const streams = [
      sse(running, 'e-1') + sse(other, 'e-2'), // then the connection drops
      sse(done, 'e-3')
    ];
    const lists = [[other, running], [other, done]];
    let listed = [running];
    const lastIds: Array<string | null> = [];
    const { settings, seen } = fakeServer(request => {
      if (request.url.includes('/events')) {
        lastIds.push(request.headers.get('Last-Event-ID'));
        const body = streams.shift();
        if (body === undefined) {
          // Open, with nothing but a keep-alive: connected until stopped.
          // jsdom has no global ReadableStream; fetch's Response has one.
          const Stream = new Response('').body!
            .constructor as typeof ReadableStream;
          const open = new Stream({
            start: c => c.enqueue(new TextEncoder().encode(': ping\n\n'))
          });
          return new Response(open, {
            headers: { 'Content-Type': 'text/event-stream' }
          });
        }
        listed = lists.shift() ?? listed;
        return new Response(body, {
          headers: { 'Content-Type': 'text/event-stream' }
        });
      }
      return json({ jobs: listed, next: null });
    });
    const service = new JobsService(settings);
    const events = new JobEvents(service, { retry: 1 });
    const model = new JobsModel({ service, events, interval: 60000 });
    model.visible = true;
    const statuses: string[] = [];
    events.changed.connect((_, job) => statuses.push(job.status));
    events.start();
    while (statuses.length < 3 || !events.connected || model.loading) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    expect(lastIds.slice(0, 2)).toEqual([null, 'e-2']);
    // The newer job first, the pushed status in place; no poll while connected.
    expect(model.jobs.map(j => [j.name, j.status])).toEqual([
      ['other', 'running'],
      ['train', 'succeeded']
    ]);
    expect(events.connected).toBe(true);
    expect(model.polling).toBe(false);
    model.setFilters({ runningOnly: true });
    await model.refresh();
    // The stream goes down: the list polls again, at once.
    const listCalls = () => seen.filter(s => s.url.includes('/jobs?')).length;
    const before = listCalls();
    events.stop();
    expect(model.polling).toBe(true);
    while (listCalls() === before) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    model.dispose();
    events.dispose();
  });

  it('lists again when the stream opens, even while a list request is in flight', async () => {
    // The first list request stays unanswered: it may predate a job created
    // before the stream's position was taken, so the stream's opening must
    // bring a fresh list of its own (a Poll refresh would be dropped).
    const lists: Array<(r: Response) => void> = [];
    const { settings } = fakeServer(request => {
      if (request.url.includes('/events')) {
        return new Response('retry: 3000\n\n', {
          headers: { 'Content-Type': 'text/event-stream' }
        });
      }
      return new Promise<Response>(resolve => lists.push(resolve));
    });
    const service = new JobsService(settings);
    const events = new JobEvents(service, { retry: 60000 });
    const model = new JobsModel({ service, events, interval: 60000 });
    model.visible = true;
    while (lists.length < 1) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    events.start();
    while (lists.length < 2) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    lists[1](json({ jobs: [makeJob()], next: null }));
    while (model.jobs.length < 1) {
      await new Promise(resolve => setTimeout(resolve, 1));
    }
    lists[0](json({ jobs: [], next: null })); // the older answer is dropped
    await new Promise(resolve => setTimeout(resolve, 10));
    expect(model.jobs.map(j => j.name)).toEqual(['train']);
    events.dispose();
    model.dispose();
  });
});
