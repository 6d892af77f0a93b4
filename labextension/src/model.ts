/**
 * The sidebar's state: the job list with its filters, kept fresh by a
 * `Poll` that backs off on failures and stands by while the panel is hidden,
 * and which view (list, one job, launch form) is shown.
 */
import { VDomModel } from '@jupyterlab/ui-components';
import { Debouncer, Poll } from '@lumino/polling';

import { JobsService, NeuroAPIError } from './api';
import { IJob, IListQuery } from './types';

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

/** The job list and everything the sidebar shows around it. */
export class JobsModel extends VDomModel {
  constructor(options: JobsModel.IOptions) {
    super();
    this.service = options.service;
    const interval = options.interval ?? JobsModel.DEFAULT_INTERVAL;
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: { interval, backoff: true, max: JobsModel.MAX_INTERVAL },
      name: 'neuro-jupyter:jobs',
      standby: () => !this._visible || 'when-hidden'
    });
    this._debouncer = new Debouncer(() => this.refresh(), 300);
  }

  /** How often the list refreshes by default, in ms. */
  static DEFAULT_INTERVAL = 3000;
  /** The longest wait between refreshes after failures, in ms. */
  static MAX_INTERVAL = 60000;

  /** The API the model reads. */
  readonly service: JobsService;

  /** The jobs last listed, newest first. */
  get jobs(): ReadonlyArray<IJob> {
    return this._jobs;
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

  /** The list's refresh interval in ms. */
  get interval(): number {
    return this._poll.frequency.interval;
  }

  set interval(interval: number) {
    this._poll.frequency = { ...this._poll.frequency, interval };
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

  /** Change filters; text filters wait for typing to pause. */
  setFilters(change: Partial<JobsModel.IFilters>): void {
    this._filters = { ...this._filters, ...change };
    this.stateChanged.emit();
    if ('runningOnly' in change) {
      void this.refresh();
    } else {
      void this._debouncer.invoke();
    }
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
    this._debouncer.dispose();
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
      this._jobs = jobs;
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

  private _poll: Poll;
  private _debouncer: Debouncer;
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
    /** Refresh interval in ms. */
    interval?: number;
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
