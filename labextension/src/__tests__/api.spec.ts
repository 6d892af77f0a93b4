// jsdom has no streams; Node's are the ones its fetch Response reads.
import { ReadableStream } from 'stream/web';

import {
  apiURL,
  JobsService,
  listParams,
  NeuroAPIError,
  requestAPI
} from '../api';
import { BASE_URL, fakeServer, html, json, makeJob } from './fakeServer';

/** The error a call fails with; the test fails if it succeeds. */
async function failure(call: Promise<unknown>): Promise<NeuroAPIError> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(NeuroAPIError);
    return error as NeuroAPIError;
  }
  throw new Error('the call succeeded');
}

describe('apiURL', () => {
  it('joins the API path under the base URL, hub prefix kept', () => {
    const { settings } = fakeServer(() => json({}));
    expect(apiURL(settings, 'jobs')).toBe(`${BASE_URL}neuro/api/v1/jobs`);
    expect(apiURL(settings, 'jobs/x/logs', new URLSearchParams('follow=true'))).toBe(
      `${BASE_URL}neuro/api/v1/jobs/x/logs?follow=true`
    );
  });
});

describe('listParams', () => {
  it('asks for live jobs when Running only is on', () => {
    const params = listParams({ liveOnly: true, tags: [], q: '' });
    expect(params.getAll('status')).toEqual(['pending', 'running']);
    expect(params.has('all')).toBe(false);
  });

  it('asks for every status otherwise, with tags and the search', () => {
    const params = listParams({
      liveOnly: false,
      tags: ['kind:project', 'target:setup'],
      q: '  train ',
      limit: 50
    });
    expect(params.toString()).toBe(
      'all=true&tag=kind%3Aproject&tag=target%3Asetup&q=train&limit=50'
    );
  });
});

describe('requestAPI', () => {
  it('sends no cache-busting parameter the API would refuse', async () => {
    const { settings, seen } = fakeServer(() => json({ jobs: [] }));
    await new JobsService(settings).listJobs({ liveOnly: true, tags: [], q: '' });
    expect(seen[0].url).toBe(
      `${BASE_URL}neuro/api/v1/jobs?status=pending&status=running`
    );
  });

  it("turns the API's error body into a message naming the field", async () => {
    const { settings } = fakeServer(() =>
      json({ error: "job name 'Bad' is invalid", field: 'name' }, 400)
    );
    const error = await failure(requestAPI(settings, 'jobs', {
      method: 'POST',
      body: '{}'
    }));
    expect(error).toBeInstanceOf(NeuroAPIError);
    expect(error.message).toBe("job name 'Bad' is invalid");
    expect(error.kind).toBe('invalid');
    expect(error.field).toBe('name');
    expect(error.status).toBe(400);
  });

  it('says the server extension is not enabled on an HTML 404', async () => {
    const { settings } = fakeServer(() =>
      html('<html><title>404 : Not Found</title><body><h1>404</h1></body></html>', 404)
    );
    const error = await failure(requestAPI(settings, 'jobs', {}, new URLSearchParams('all=true')));
    expect(error.kind).toBe('not-enabled');
    expect(error.message).toContain('server extension is not enabled');
    expect(error.message).toContain(`${BASE_URL}neuro/api/v1/jobs answered 404`);
    expect(error.message).toContain('jupyter server extension enable neuro_jupyter');
    expect(error.message).not.toContain('<');
    expect(error.message).not.toContain('all=true');
  });

  it('keeps a job that is not found apart from a missing API', async () => {
    const { settings } = fakeServer(() =>
      json({ error: 'job nope not found', field: null }, 404)
    );
    const error = await failure(new JobsService(settings)
      .getJob('nope'));
    expect(error.kind).toBe('not-found');
    expect(error.message).toBe('job nope not found');
  });

  it('shows a server failure as text, never as HTML', async () => {
    const { settings } = fakeServer(() =>
      html('<html><body><h1>500: Internal Server Error</h1><script>x()</script></body></html>', 500)
    );
    const error = await failure(requestAPI(settings, 'presets'));
    expect(error.kind).toBe('server');
    expect(error.message).toBe(
      'The server answered 500 Internal Server Error: 500: Internal Server Error'
    );
  });

  it("uses Jupyter's own {message} when there is one", async () => {
    const { settings } = fakeServer(() => json({ message: 'Forbidden', reason: null }, 403));
    const error = await failure(requestAPI(settings, 'jobs'));
    expect(error.kind).toBe('forbidden');
    expect(error.message).toContain('Forbidden');
  });

  it('says when the server cannot be reached', async () => {
    const { settings } = fakeServer(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await failure(requestAPI(settings, 'jobs'));
    expect(error.kind).toBe('network');
    expect(error.message).toContain(`Cannot reach the Jupyter server at ${BASE_URL}`);
  });

  it('treats an HTML page where JSON was due as a missing API', async () => {
    const { settings } = fakeServer(() => html('<html>login</html>', 200));
    const error = await failure(requestAPI(settings, 'jobs'));
    expect(error.kind).toBe('not-enabled');
    expect(error.message).toContain('It answered: login');
  });
});

describe('JobsService', () => {
  it('kills, reruns and creates with the right verbs and paths', async () => {
    const job = makeJob();
    const { settings, seen } = fakeServer(() => json(job));
    const service = new JobsService(settings);
    await service.killJob('train--bob');
    await service.rerunJob(job.id);
    await service.createJob({ image: 'ubuntu', command: 'true' });
    expect(seen.map(s => `${s.method} ${s.url.replace(BASE_URL, '')}`)).toEqual([
      'DELETE neuro/api/v1/jobs/train--bob',
      `POST neuro/api/v1/jobs/${job.id}/rerun`,
      'POST neuro/api/v1/jobs'
    ]);
    expect(JSON.parse(seen[2].body)).toEqual({ image: 'ubuntu', command: 'true' });
  });

  it('reads presets and the spec fields', async () => {
    const { settings } = fakeServer(request =>
      request.url.includes('presets')
        ? json({ presets: [{ name: 'cpu-small', cpu: 1, memory: 1 << 30, gpu: 0, preemptible: false }], default: 'cpu-small' })
        : json({ fields: [{ name: 'image', type: 'string', required: true }] })
    );
    const service = new JobsService(settings);
    expect((await service.presets()).default).toBe('cpu-small');
    expect((await service.specFields())[0].name).toBe('image');
  });

  it('streams the log as it comes, following the job', async () => {
    const encoder = new TextEncoder();
    const parts = ['tick 1\n', 'tick 2\n10%\r', '20%\n'];
    const { settings, seen } = fakeServer(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (const part of parts) {
                controller.enqueue(encoder.encode(part));
              }
              controller.close();
            }
          }) as unknown as BodyInit,
          { status: 200, headers: { 'Content-Type': 'text/plain' } }
        )
    );
    const chunks: string[] = [];
    await new JobsService(settings).streamLogs('train', text => chunks.push(text));
    expect(seen[0].url).toBe(`${BASE_URL}neuro/api/v1/jobs/train/logs?follow=true`);
    expect(chunks.join('')).toBe(parts.join(''));
  });

  it('follows a log sent as events, pings skipped, bytes decoded whole', async () => {
    const encoder = new TextEncoder();
    const bytes = encoder.encode('tick 1\n10%\r20% é\n');
    const split = bytes.length - 2; // inside the two bytes of 'é'
    const base64 = (part: Uint8Array) => btoa(String.fromCharCode(...part));
    const stream = [
      `event: log\ndata: ${base64(bytes.slice(0, split))}\n\n`,
      ': ping\n\n',
      `event: log\ndata: ${base64(bytes.slice(split))}\n\n`,
      'event: end\ndata: {}\n\n'
    ];
    const accepts: (string | null)[] = [];
    const { settings, seen } = fakeServer(request => {
      accepts.push(request.headers.get('Accept'));
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const part of stream) {
              controller.enqueue(encoder.encode(part));
            }
            controller.close();
          }
        }) as unknown as BodyInit,
        { status: 200, headers: { 'Content-Type': 'text/event-stream' } }
      );
    });
    const chunks: string[] = [];
    await new JobsService(settings).streamLogs('train', text => chunks.push(text));
    expect(seen[0].url).toBe(`${BASE_URL}neuro/api/v1/jobs/train/logs?follow=true`);
    expect(accepts).toEqual(['text/event-stream']);
    expect(chunks.join('')).toBe('tick 1\n10%\r20% é\n');
  });

  it('ends a log stream quietly when aborted', async () => {
    const abort = new AbortController();
    const { settings } = fakeServer(() => {
      abort.abort();
      throw new DOMException('The operation was aborted.', 'AbortError');
    });
    await expect(
      new JobsService(settings).streamLogs('train', () => undefined, abort.signal)
    ).resolves.toBeUndefined();
  });
});
