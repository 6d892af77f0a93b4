/**
 * A fake Jupyter server for the units: `ServerConnection` settings whose
 * fetch answers from a table and records every request.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IJob } from '../types';

/** A base URL as under a JupyterHub prefix. */
export const BASE_URL = 'http://localhost:8888/user/alice/';

/** What a handler answers. */
export type Answer = Response | Promise<Response>;

/** A request as the fake saw it. */
export interface ISeen {
  method: string;
  url: string;
  body: string;
}

/** Settings for `JobsService`, a log of requests, and a way to answer them. */
export function fakeServer(
  handler: (request: Request, seen: ISeen) => Answer
): { settings: ServerConnection.ISettings; seen: ISeen[] } {
  const seen: ISeen[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const request = input as Request;
    const entry: ISeen = {
      method: request.method,
      url: request.url,
      body: request.method === 'GET' ? '' : await request.text()
    };
    seen.push(entry);
    return handler(request, entry);
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    wsUrl: 'ws://localhost:8888/user/alice/',
    fetch
  });
  return { settings, seen };
}

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** An HTML response, as Jupyter's 404 page. */
export function html(body: string, status: number): Response {
  return new Response(body, {
    status,
    statusText: status === 404 ? 'Not Found' : 'Internal Server Error',
    headers: { 'Content-Type': 'text/html' }
  });
}

/** A job record with `overrides`. */
export function makeJob(overrides: Partial<IJob> = {}): IJob {
  return {
    id: 'job-00000000-0000-4000-8000-000000000001',
    owner: 'alice',
    cluster: 'default',
    image: 'ubuntu',
    command: 'sleep 600',
    preset: 'cpu-small',
    name: 'train',
    tags: ['kind:project'],
    description: '',
    volumes: [],
    env: {},
    workdir: null,
    http: null,
    life_span: 86400,
    restart: 'never',
    status: 'running',
    reason: '',
    status_description: '',
    exit_code: null,
    created_at: '2026-01-01T10:00:00+00:00',
    started_at: '2026-01-01T10:00:01+00:00',
    finished_at: null,
    run_time_seconds: 60,
    http_url: null,
    history: [],
    ...overrides
  };
}
