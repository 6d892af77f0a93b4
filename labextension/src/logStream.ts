/**
 * A job's output as a view shows it, in one place for the sidebar's job view
 * and the job page's Log tab (issue 12): streamed while the job runs (from
 * its last lines, `logs?tail=N`, when asked), `\r` applied, redrawn at most
 * every `flushMs`; and earlier parts loaded on request (`logs?before=`),
 * prepended to what is shown.
 */
import * as React from 'react';

import { JobsService } from './api';
import { LogBuffer } from './logText';

/** Bytes of each earlier part (`logs?before=&limit_bytes=`). */
export const EARLIER_BYTES = 256 * 1024;

/** How a view reads a log. */
export interface ILogOptions {
  /** Start at the last `tail` lines; the whole log without. */
  tail?: number;
  /** The most ms between a chunk's arrival and its drawing. */
  flushMs?: number;
  /** Lines the streamed part keeps; older ones are dropped. */
  maxLines?: number;
}

/** The log as a view shows it. */
export interface ILogStream {
  /** Earlier parts loaded, then the streamed part. */
  text: string;
  /** Why reading failed, if it did. */
  error: string | null;
  /** Whether the stream is open (the job may write more). */
  following: boolean;
  /** Whether there is an earlier part to load. */
  earlier: boolean;
  /** Whether an earlier part is being loaded. */
  loadingEarlier: boolean;
  /** Load the part before what is shown and prepend it. */
  loadEarlier(): Promise<void>;
}

/** Text of an earlier part with `\r` and `\b` applied, as a terminal shows it. */
export function shownPart(raw: string): string {
  const buffer = new LogBuffer(Number.MAX_SAFE_INTEGER);
  buffer.append(raw);
  return buffer.text;
}

/** The log of `jobId`, read once `started`. */
export function useLogStream(
  service: JobsService,
  jobId: string,
  started: boolean,
  options: ILogOptions = {}
): ILogStream {
  const { tail, flushMs = 100, maxLines } = options;
  const [live, setLive] = React.useState('');
  const [head, setHead] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [following, setFollowing] = React.useState(false);
  // Where what is shown starts in the log: a byte offset, null if unknown.
  const [start, setStart] = React.useState<number | null>(null);
  const [loadingEarlier, setLoadingEarlier] = React.useState(false);
  const [dropped, setDropped] = React.useState(false);

  React.useEffect(() => {
    setLive('');
    setHead('');
    setStart(null);
    setError(null);
    setDropped(false);
    if (!started) {
      return;
    }
    const buffer = new LogBuffer(maxLines);
    const abort = new AbortController();
    let timer = 0;
    const flush = () => {
      timer = 0;
      setLive(buffer.text);
      // Lines dropped from the top: earlier parts would no longer join.
      setDropped(buffer.dropped > 0);
    };
    setFollowing(true);
    service
      .streamLogs(
        jobId,
        chunk => {
          buffer.append(chunk);
          if (!timer) {
            timer = window.setTimeout(flush, flushMs);
          }
        },
        abort.signal,
        { tail, onStart: at => !abort.signal.aborted && setStart(at) }
      )
      .catch((err: Error) => !abort.signal.aborted && setError(err.message))
      .finally(() => {
        if (!abort.signal.aborted) {
          window.clearTimeout(timer);
          flush();
          setFollowing(false);
        }
      });
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [service, jobId, started, tail, flushMs, maxLines]);

  const busy = React.useRef(false);
  const loadEarlier = React.useCallback(async () => {
    if (busy.current || start === null || start <= 0 || dropped) {
      return;
    }
    busy.current = true;
    setLoadingEarlier(true);
    try {
      const part = await service.logPart(jobId, start, EARLIER_BYTES);
      setHead(old => shownPart(part.text) + old);
      setStart(part.start);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      busy.current = false;
      setLoadingEarlier(false);
    }
  }, [service, jobId, start, dropped]);

  return {
    text: dropped ? live : head + live,
    error,
    following,
    earlier: start !== null && start > 0 && !dropped,
    loadingEarlier,
    loadEarlier
  };
}
