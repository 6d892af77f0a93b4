/**
 * Job changes as the server pushes them (`GET events`, server-sent events):
 * one stream per Lab, shared by the sidebar and every job page. It resumes
 * with `Last-Event-ID` after a drop; while it is down, its users fall back to
 * polling (`connected` says which).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { JobsService } from './api';
import { IJob } from './types';

/** One server-sent event. */
export interface IServerEvent {
  event: string;
  id: string | null;
  data: string;
}

/**
 * An incremental `text/event-stream` parser: feed it text as it arrives,
 * get back the events it completes (comments are skipped).
 */
export class SSEParser {
  /** The events `text` completes. */
  feed(text: string): IServerEvent[] {
    this._buffer += text;
    const events: IServerEvent[] = [];
    for (;;) {
      const end = this._buffer.search(/\r?\n/);
      if (end < 0) {
        return events;
      }
      const line = this._buffer.slice(0, end);
      this._buffer = this._buffer.slice(
        end + (this._buffer[end] === '\r' ? 2 : 1)
      );
      if (line === '') {
        if (this._seen) {
          events.push(this._event);
        }
        this._event = { event: 'message', id: null, data: '' };
        this._seen = false;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) {
        continue; // a comment (`: ping`)
      }
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      if (name === 'event') {
        this._event.event = value;
        this._seen = true;
      } else if (name === 'id') {
        this._event.id = value;
        this._seen = true;
      } else if (name === 'data') {
        this._event.data = this._event.data
          ? `${this._event.data}\n${value}`
          : value;
        this._seen = true;
      }
    }
  }

  private _buffer = '';
  private _seen = false;
  private _event: IServerEvent = { event: 'message', id: null, data: '' };
}

/** The shared `GET events` stream, reconnecting with backoff. */
export class JobEvents {
  constructor(
    readonly service: JobsService,
    options: JobEvents.IOptions = {}
  ) {
    this._retry = options.retry ?? JobEvents.RETRY;
  }

  /** The first wait before reconnecting, in ms (doubling up to a minute). */
  static RETRY = 1000;

  /** A job as it is now, each time it changes. */
  get changed(): ISignal<this, IJob> {
    return this._changed;
  }

  /** Changes were missed (list again). */
  get reset(): ISignal<this, void> {
    return this._reset;
  }

  /** Whether the stream is open; emitted on every change. */
  get connected(): boolean {
    return this._connected;
  }

  get connectedChanged(): ISignal<this, boolean> {
    return this._connectedChanged;
  }

  /** Whether the stream is wanted (started and not stopped). */
  get running(): boolean {
    return this._abort !== null;
  }

  /** Open the stream (again after a drop) until `stop()`. */
  start(): void {
    if (this._abort) {
      return;
    }
    const abort = new AbortController();
    this._abort = abort;
    void this._run(abort);
  }

  /** Close the stream; its users poll. */
  stop(): void {
    this._abort?.abort();
    this._abort = null;
    this._setConnected(false);
  }

  dispose(): void {
    this.stop();
    Signal.clearData(this);
  }

  private async _run(abort: AbortController): Promise<void> {
    let wait = this._retry;
    while (!abort.signal.aborted) {
      const parser = new SSEParser();
      try {
        await this.service.streamEvents(
          text => {
            if (!this._connected) {
              this._setConnected(true);
              wait = this._retry;
            }
            for (const event of parser.feed(text)) {
              this._dispatch(event);
            }
          },
          abort.signal,
          this._lastEventId
        );
      } catch (error) {
        if (!abort.signal.aborted) {
          console.debug('neuro-jupyter: job events dropped', error);
        }
      }
      this._setConnected(false);
      if (abort.signal.aborted) {
        return;
      }
      await new Promise(resolve => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 60000);
    }
  }

  private _dispatch(event: IServerEvent): void {
    if (event.event === 'job') {
      if (event.id) {
        this._lastEventId = event.id;
      }
      this._changed.emit(JSON.parse(event.data) as IJob);
    } else if (event.event === 'reset') {
      this._reset.emit();
    }
  }

  private _setConnected(connected: boolean): void {
    if (this._connected !== connected) {
      this._connected = connected;
      this._connectedChanged.emit(connected);
      if (connected) {
        // Whatever changed while down: a reconnect without a position, or
        // the server's reset, makes users list again; say so in any case.
        this._reset.emit();
      }
    }
  }

  private _retry: number;
  private _abort: AbortController | null = null;
  private _connected = false;
  private _lastEventId: string | null = null;
  private _changed = new Signal<this, IJob>(this);
  private _reset = new Signal<this, void>(this);
  private _connectedChanged = new Signal<this, boolean>(this);
}

/** The options of `JobEvents`. */
export namespace JobEvents {
  export interface IOptions {
    /** The first wait before reconnecting, in ms. */
    retry?: number;
  }
}
