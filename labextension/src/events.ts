/**
 * Job changes as the server pushes them (`GET events`, server-sent events):
 * one stream per Lab, shared by the sidebar and every job page. It resumes
 * with `Last-Event-ID` after a drop; while it is down, its users fall back to
 * polling (`connected` says which).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { JobsService } from './api';
import { IServerEvent, SSEParser } from './sse';
import { IJob } from './types';

export type { IServerEvent } from './sse';
export { SSEParser } from './sse';

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
