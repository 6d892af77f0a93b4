/**
 * Every HTTP call of the sidebar: one `requestAPI` that builds the URL under
 * the server's base URL and turns failures into a readable `NeuroAPIError`,
 * and a typed `JobsService` over it.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { LogEventDecoder } from './sse';
import {
  IErrorBody,
  IJob,
  IJobSpec,
  IJobsResponse,
  IListQuery,
  IPresetsResponse,
  IShare,
  ISpecField,
  ISpecResponse
} from './types';

/** The API root, relative to the server's base URL. */
export const API_PREFIX = 'neuro/api/v1';

/** Server-sent events' media type. */
const EVENT_STREAM = 'text/event-stream';

/** What went wrong, for the UI to say. */
export type ErrorKind =
  | 'network'
  | 'not-enabled'
  | 'invalid'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'server';

/** A failed API call, with a message fit to show as it is. */
export class NeuroAPIError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly status: number = 0,
    readonly field: string | null = null
  ) {
    super(message);
    this.name = 'NeuroAPIError';
  }
}

/** The message shown when the server does not serve the API at all. */
export function notEnabledMessage(url: string, status: number): string {
  return (
    'The neuro-jupyter server extension is not enabled on this Jupyter server ' +
    `(${url} answered ${status}). Enable it with ` +
    '"jupyter server extension enable neuro_jupyter" and restart Jupyter.'
  );
}

/** The URL of an API path under the server's base URL. */
export function apiURL(
  settings: ServerConnection.ISettings,
  path: string,
  query?: URLSearchParams
): string {
  const url = URLExt.join(settings.baseUrl, API_PREFIX, path);
  const search = query ? query.toString() : '';
  return search ? `${url}?${search}` : url;
}

/** The query string of `GET jobs` for what the list shows. */
export function listParams(query: IListQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.liveOnly) {
    params.append('status', 'pending');
    params.append('status', 'running');
  } else {
    params.append('all', 'true');
  }
  for (const tag of query.tags) {
    params.append('tag', tag);
  }
  if (query.q.trim()) {
    params.append('q', query.q.trim());
  }
  if (query.limit) {
    params.append('limit', String(query.limit));
  }
  return params;
}

/** Markup and extra space removed, cut to a readable length. */
function plain(text: string, max = 300): string {
  const flat = text
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function kindOf(status: number): ErrorKind {
  switch (status) {
    case 400:
    case 422:
      return 'invalid';
    case 401:
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    default:
      return 'server';
  }
}

/**
 * The error a failed response stands for.
 *
 * Our API answers `{"error", "field"}`; anything else on a 404 means the
 * route is missing, that is, the server extension is not enabled.
 */
export async function errorFromResponse(
  response: Response,
  url: string
): Promise<NeuroAPIError> {
  const text = await response.text().catch(() => '');
  let body: Partial<IErrorBody> & { message?: string } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: an HTML error page or a proxy's
  }
  const status = response.status;
  if (body && typeof body.error === 'string') {
    return new NeuroAPIError(
      body.error,
      kindOf(status),
      status,
      body.field ?? null
    );
  }
  if (status === 404) {
    const path = url.split('?')[0];
    return new NeuroAPIError(
      notEnabledMessage(path, status),
      'not-enabled',
      status
    );
  }
  const detail =
    body && typeof body.message === 'string' ? body.message : plain(text);
  const reason = response.statusText || 'error';
  const message = detail
    ? `The server answered ${status} ${reason}: ${detail}`
    : `The server answered ${status} ${reason}.`;
  return new NeuroAPIError(message, kindOf(status), status);
}

/**
 * Call the API: the response, or a `NeuroAPIError` with a readable message.
 */
export async function requestRaw(
  settings: ServerConnection.ISettings,
  path: string,
  init: RequestInit = {},
  query?: URLSearchParams
): Promise<Response> {
  const url = apiURL(settings, path, query);
  let response: Response;
  try {
    // 'no-cache' revalidates instead of the default 'no-store', whose
    // cache-busting `?<timestamp>` the API rejects as an unknown parameter.
    response = await ServerConnection.makeRequest(
      url,
      { cache: 'no-cache', ...init },
      settings
    );
  } catch (error) {
    // makeRequest wraps every fetch failure, an abort included.
    if (init.signal?.aborted || (error as Error).name === 'AbortError') {
      throw error;
    }
    throw new NeuroAPIError(
      `Cannot reach the Jupyter server at ${settings.baseUrl}: ${
        (error as Error).message
      }`,
      'network'
    );
  }
  if (!response.ok) {
    throw await errorFromResponse(response, url);
  }
  return response;
}

/** Call the API and parse its JSON answer. */
export async function requestAPI<T>(
  settings: ServerConnection.ISettings,
  path: string,
  init: RequestInit = {},
  query?: URLSearchParams
): Promise<T> {
  const response = await requestRaw(settings, path, init, query);
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new NeuroAPIError(
      notEnabledMessage(apiURL(settings, path), response.status) +
        ` It answered: ${plain(text, 120)}`,
      'not-enabled',
      response.status
    );
  }
}

/** The jobs API, typed. */
export class JobsService {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** Jobs the list shows, newest first. */
  async listJobs(query: IListQuery): Promise<IJob[]> {
    const data = await requestAPI<IJobsResponse>(
      this.serverSettings,
      'jobs',
      {},
      listParams(query)
    );
    return data.jobs;
  }

  /** One job with its history. */
  getJob(ref: string): Promise<IJob> {
    return requestAPI<IJob>(this.serverSettings, `jobs/${enc(ref)}`);
  }

  /** Create and start a job. */
  createJob(spec: IJobSpec): Promise<IJob> {
    return requestAPI<IJob>(this.serverSettings, 'jobs', {
      method: 'POST',
      // The API reads JSON bodies only when they say so (415 otherwise).
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(spec)
    });
  }

  /** Kill a job; resolves once it has ended. */
  killJob(ref: string): Promise<IJob> {
    return requestAPI<IJob>(this.serverSettings, `jobs/${enc(ref)}`, {
      method: 'DELETE'
    });
  }

  /** A new job from the same spec. */
  rerunJob(ref: string): Promise<IJob> {
    return requestAPI<IJob>(this.serverSettings, `jobs/${enc(ref)}/rerun`, {
      method: 'POST'
    });
  }

  /** Add running time to the job's life span (`"2h"`, `"30m"`). */
  bumpLifeSpan(ref: string, add: string): Promise<IJob> {
    return requestAPI<IJob>(
      this.serverSettings,
      `jobs/${enc(ref)}/life-span`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ add })
      }
    );
  }

  /** Who else may act on the job. */
  async shares(ref: string): Promise<IShare[]> {
    const data = await requestAPI<{ shares: IShare[] }>(
      this.serverSettings,
      `jobs/${enc(ref)}/shares`
    );
    return data.shares;
  }

  /** Grant a user or `group:NAME` read, write or manage. */
  share(ref: string, user: string, level: string): Promise<IShare> {
    return requestAPI<IShare>(
      this.serverSettings,
      `jobs/${enc(ref)}/shares/${enc(user)}`,
      {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ level })
      }
    );
  }

  /** Revoke what `user` was granted. */
  async unshare(ref: string, user: string): Promise<void> {
    await requestRaw(
      this.serverSettings,
      `jobs/${enc(ref)}/shares/${enc(user)}`,
      { method: 'DELETE' }
    );
  }

  /** The whole log as written, for a download. */
  async logBlob(ref: string): Promise<Blob> {
    const response = await requestRaw(
      this.serverSettings,
      `jobs/${enc(ref)}/logs`
    );
    return response.blob();
  }

  /**
   * Stream `GET jobs/{ref}/top` (server-sent telemetry, as text) to `onText`
   * until the job ends or `signal` aborts.
   */
  async streamTop(
    ref: string,
    onText: (text: string) => void,
    signal?: AbortSignal
  ): Promise<void> {
    const query = new URLSearchParams({ interval: '1' });
    await this._stream(`jobs/${enc(ref)}/top`, query, onText, signal);
  }

  /** The presets, default first. */
  presets(): Promise<IPresetsResponse> {
    return requestAPI<IPresetsResponse>(this.serverSettings, 'presets');
  }

  /** The job-spec fields, for the launch form. */
  async specFields(): Promise<ISpecField[]> {
    const data = await requestAPI<ISpecResponse>(this.serverSettings, 'spec');
    return data.fields;
  }

  /**
   * Stream a job's output to `onText` until the job ends or `signal` aborts;
   * with `tail`, from its last `tail` lines only (`logs?tail=N`).
   *
   * Resolves when the stream ends; an abort resolves quietly.
   */
  async streamLogs(
    ref: string,
    onText: (text: string) => void,
    signal?: AbortSignal,
    options: {
      follow?: boolean;
      tail?: number;
      /** Told the byte offset the stream starts at (`X-Log-Start`), or null. */
      onStart?: (start: number | null) => void;
    } = {}
  ): Promise<void> {
    const follow = options.follow ?? true;
    const query = new URLSearchParams({ follow: String(follow) });
    if (options.tail !== undefined) {
      query.set('tail', String(options.tail));
    }
    // A followed log comes as server-sent events: their `: ping` keeps a
    // quiet job's stream open through a proxy with a read timeout (issue 14).
    const headers: Record<string, string> = follow
      ? { Accept: EVENT_STREAM }
      : {};
    await this._stream(
      `jobs/${enc(ref)}/logs`,
      query,
      onText,
      signal,
      headers,
      true,
      response => options.onStart?.(logStart(response))
    );
  }

  /**
   * The part of a job's log that ends at byte `before` (at most
   * `limitBytes`, from a line's start) and the offset it starts at
   * (`logs?before=`, issue 12).
   */
  async logPart(
    ref: string,
    before: number,
    limitBytes?: number
  ): Promise<{ start: number; text: string }> {
    const query = new URLSearchParams({ before: String(before) });
    if (limitBytes !== undefined) {
      query.set('limit_bytes', String(limitBytes));
    }
    const response = await requestRaw(
      this.serverSettings,
      `jobs/${enc(ref)}/logs`,
      {},
      query
    );
    const text = await response.text();
    return { start: logStart(response) ?? 0, text };
  }

  /**
   * Stream `GET events` (server-sent events, as text) to `onText` until the
   * server ends it or `signal` aborts; resumes after `lastEventId`.
   */
  async streamEvents(
    onText: (text: string) => void,
    signal?: AbortSignal,
    lastEventId?: string | null
  ): Promise<void> {
    const headers: Record<string, string> = {};
    if (lastEventId) {
      headers['Last-Event-ID'] = lastEventId;
    }
    await this._stream('events', undefined, onText, signal, headers);
  }

  private async _stream(
    path: string,
    query: URLSearchParams | undefined,
    onText: (text: string) => void,
    signal?: AbortSignal,
    headers: Record<string, string> = {},
    logEvents = false,
    onResponse?: (response: Response) => void
  ): Promise<void> {
    try {
      const response = await requestRaw(
        this.serverSettings,
        path,
        { signal, headers },
        query
      );
      onResponse?.(response);
      const contentType = response.headers.get('Content-Type') ?? '';
      // A log sent as events is handed on as its text; anything else as is
      // (a log from a server that answers text/plain, the events of `top`).
      const log =
        logEvents && contentType.startsWith(EVENT_STREAM)
          ? new LogEventDecoder()
          : null;
      const decoder = new TextDecoder();
      if (!response.body) {
        const text = await response.text();
        onText(log ? log.feed(text) + log.end() : text);
        return;
      }
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        const text = decoder.decode(value, { stream: true });
        onText(log ? log.feed(text) : text);
      }
      const rest = decoder.decode();
      onText(log ? log.feed(rest) + log.end() : rest);
    } catch (error) {
      if (!signal?.aborted) {
        throw error;
      }
    }
  }
}

/** `X-Log-Start`: where in the log an answer starts; null when not said. */
function logStart(response: Response): number | null {
  const value = response.headers.get('X-Log-Start');
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function enc(ref: string): string {
  return encodeURIComponent(ref);
}
