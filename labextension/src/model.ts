/**
 * The sidebar's state: the job list with its filters, kept fresh by the
 * server's pushes (`JobEvents`), with a `Poll` that backs off on failures and
 * stands by while the panel is hidden as the fallback while the push stream
 * is down, and which view (list, one job, launch form) is shown.
 */
import { VDomModel } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';

import { JobsService, NeuroAPIError } from './api';
import { JobEvents } from './events';
import { IJob, IListQuery, isLive } from './types';

/** What the sidebar shows. */
export type View =
  | { kind: 'list' }
  | { kind: 'detail'; jobId: string }
  | { kind: 'launch' };

/** Tags typed into the filter box: `kind:project target:setup`, or comma-separated. */
export function parseTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map(tag => tag.trim())
    .filter(tag => tag.length > 0);
}

/** Whether `job` passes the list's filters, as `GET jobs` would say. */
export function matchesQuery(job: IJob, query: IListQuery): boolean {
  if (query.liveOnly && !isLive(job.status)) {
    return false;
  }
  if (query.tags.some(tag => job.tags.indexOf(tag) < 0)) {
    return false;
  }
  const q = query.q.trim().toLowerCase();
  if (!q) {
    return true;
  }
  return [job.name ?? '', job.description ?? '', job.image, job.command].some(
    text => text.toLowerCase().indexOf(q) >= 0
  );
}

/** The job list and everything the sidebar shows around it. */
export class JobsModel extends VDomModel {
  constructor(options: JobsModel.IOptions) {
    super();
    this.service = options.service;
    this._interval = options.interval ?? JobsModel.DEFAULT_INTERVAL;
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: {
        interval: this._interval,
        backoff: true,
        max: JobsModel.MAX_INTERVAL
      },
      name: 'neuro-jupyter:jobs',
      standby: () => !this._visible || 'when-hidden'
    });
    this.events = options.events ?? null;
    if (this.events) {
      this.events.changed.connect(this._onJob, this);
      this.events.reset.connect(this._onReset, this);
      this.events.connectedChanged.connect(this._applyInterval, this);
      this._applyInterval();
    }
  }

  /** How often the list refreshes by default, in ms. */
  static DEFAULT_INTERVAL = 3000;

  /** The longest wait between refreshes after failures, in ms. */
  static MAX_INTERVAL = 60000;

  /** The API the model reads. */
  readonly service: JobsService;

  /** The pushed job changes, if the list follows them. */
  readonly events: JobEvents | null;

  /**
   * The jobs shown, newest first: those last listed (and pushed since) that
   * pass the filters as typed now, so typing narrows the list at once while
   * the server's answer for the new filters is on its way.
   */
  get jobs(): ReadonlyArray<IJob> {
    const query = this.query;
    if (this._shownFor !== this._jobs || this._shownQuery !== JSON.stringify(query)) {
      this._shownFor = this._jobs;
      this._shownQuery = JSON.stringify(query);
      this._shown = this._jobs.filter(job => matchesQuery(job, query));
    }
    return this._shown;
  }

  /** Why the last refresh failed, if it did. */
  get error(): NeuroAPIError | null {
    return this._error;
  }

  /** Whether the list has yet to be loaded once. */
  get loading(): boolean {
    return !this._loaded;
  }

  /** The filters as typed. */
  get filters(): JobsModel.IFilters {
    return this._filters;
  }

  /** What `GET jobs` is asked for. */
  get query(): IListQuery {
    return {
      liveOnly: this._filters.runningOnly,
      tags: parseTags(this._filters.tags),
      q: this._filters.search,
      limit: 200
    };
  }

  /** The view shown. */
  get view(): View {
    return this._view;
  }

  set view(view: View) {
    this._view = view;
    this.stateChanged.emit();
  }

  /**
   * The list's refresh interval in ms while it polls: always without pushes,
   * and while the push stream is down (the fallback).
   */
  get interval(): number {
    return this._interval;
  }

  set interval(interval: number) {
    this._interval = interval;
    this._applyInterval();
  }

  /** Whether the list polls now (no push stream open). */
  get polling(): boolean {
    return this._poll.frequency.interval !== Poll.NEVER;
  }

  /** Whether the panel is shown; a hidden panel does not poll. */
  get visible(): boolean {
    return this._visible;
  }

  set visible(visible: boolean) {
    this._visible = visible;
    if (visible) {
      void this.refresh();
    }
  }

  /**
   * Change filters. The list loaded narrows at once; the server is asked
   * at once too (issue 12: a 150 ms pause in typing made a 5,000-job search
   * take 207 ms), one request at a time: keys typed while one is answered
   * are asked together when it is.
   */
  setFilters(change: Partial<JobsModel.IFilters>): void {
    this._filters = { ...this._filters, ...change };
    this.stateChanged.emit();
    this._ask();
  }

  /** Load for the filters as now; one request at a time, the last filters last. */
  private _ask(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._asking) {
      this._askAgain = true;
      return;
    }
    this._asking = true;
    // Not through the poll: a refresh asked while one is in flight is dropped.
    this._load()
      .catch(() => undefined) // an error is shown by _load
      .finally(() => {
        this._asking = false;
        if (this._askAgain) {
          this._askAgain = false;
          this._ask();
        }
      });
  }

  /** Refresh the list now (unless hidden); resolves when it has been asked. */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    try {
      await this._poll.refresh();
      await this._poll.tick;
    } catch {
      // disposed meanwhile: nothing to refresh
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.events?.changed.disconnect(this._onJob, this);
    this.events?.reset.disconnect(this._onReset, this);
    this.events?.connectedChanged.disconnect(this._applyInterval, this);
    this._poll.dispose();
    super.dispose();
  }

  private async _load(): Promise<void> {
    const seq = ++this._seq;
    try {
      const jobs = await this.service.listJobs(this.query);
      if (seq !== this._seq) {
        return; // a newer request answers for newer filters
      }
      // A change pushed while the list was read may be newer than the list.
      const known = new Map(this._jobs.map(j => [j.id, j]));
      this._jobs = jobs.map(job => {
        const pushed = known.get(job.id);
        return pushed && pushed.history.length > job.history.length
          ? pushed
          : job;
      });
      this._error = null;
      this._loaded = true;
      this.stateChanged.emit();
    } catch (error) {
      if (seq === this._seq) {
        this._error =
          error instanceof NeuroAPIError
            ? error
            : new NeuroAPIError(String(error), 'server');
        this._loaded = true;
        this.stateChanged.emit();
      }
      throw error; // the poll backs off
    }
  }

  private _applyInterval(): void {
    const pushed = this.events?.connected ?? false;
    const interval = pushed ? Poll.NEVER : this._interval;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { ...this._poll.frequency, interval };
      if (!pushed && !this.isDisposed) {
        // A Poll at NEVER has no tick scheduled: a new frequency alone would
        // never start polling. Look now (what changed while the stream was
        // going down), then at the new interval.
        void this._poll.refresh();
      }
    }
  }

  /**
   * Changes may have been missed (the stream opened, or said reset): list
   * again now. Not through the poll: a refresh while one is in flight is
   * dropped by `Poll`, and that one may have been answered before the
   * stream's position was taken, losing a job created in between.
   */
  private _onReset(): void {
    if (this.isDisposed || !this._visible) {
      return;
    }
    this._load().catch(() => undefined); // an error is shown by _load
  }

  /** A pushed change: the job replaced, added or dropped as the filters say. */
  private _onJob(_: JobEvents, job: IJob): void {
    const query = this.query;
    const index = this._jobs.findIndex(j => j.id === job.id);
    const keep = matchesQuery(job, query);
    if (index < 0 && !keep) {
      return;
    }
    const jobs = this._jobs.slice();
    if (index >= 0) {
      if (keep) {
        jobs[index] = job;
      } else {
        jobs.splice(index, 1);
      }
    } else {
      let at = jobs.findIndex(j => j.created_at < job.created_at);
      if (at < 0) {
        at = jobs.length;
      }
      jobs.splice(at, 0, job);
      if (query.limit && jobs.length > query.limit) {
        jobs.length = query.limit;
      }
    }
    this._jobs = jobs;
    this.stateChanged.emit();
  }

  private _poll: Poll;
  private _interval: number;
  private _shown: IJob[] = [];
  private _shownFor: IJob[] | null = null;
  private _shownQuery = '';
  private _asking = false;
  private _askAgain = false;
  private _seq = 0;
  private _jobs: IJob[] = [];
  private _error: NeuroAPIError | null = null;
  private _loaded = false;
  private _visible = false;
  private _view: View = { kind: 'list' };
  private _filters: JobsModel.IFilters = {
    runningOnly: false,
    tags: '',
    search: ''
  };
}

/** The model's options and types. */
export namespace JobsModel {
  export interface IOptions {
    service: JobsService;
    /** Refresh interval in ms while polling. */
    interval?: number;
    /** Pushed changes to follow; the list polls only while they are down. */
    events?: JobEvents;
  }

  /** The list's filters as the user typed them. */
  export interface IFilters {
    runningOnly: boolean;
    /** Space- or comma-separated tags, all of which must be present. */
    tags: string;
    /** Substring of name, description, image or command. */
    search: string;
  }
}
