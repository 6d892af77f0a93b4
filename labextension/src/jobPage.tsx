/**
 * A job's page in JupyterLab's main area (issue 12): a fixed toolbar (status
 * with reason and exit code, Kill, Rerun, Open URL, Share, Bump life span,
 * Shell) over tabs: Log, Telemetry, Details and Sharing. One page per job,
 * restored with the layout; kept fresh by the server's pushes.
 */
import { InputDialog, MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import { JobsService, NeuroAPIError } from './api';
import { JobEvents, SSEParser } from './events';
import { bytes, jobTitle } from './format';
import { IJobActions, JobFields, JobHistory, useJob } from './jobDetail';
import { ErrorBanner, StatusBadge } from './jobList';
import { useLogStream } from './logStream';
import { IJob, ISample, IShare, isLive } from './types';

/** Lines the Log tab loads first; scrolling to the top loads more. */
export const LOG_TAIL = 1000;

/** What the page's toolbar does beyond the sidebar's actions. */
export interface IPageActions extends Pick<IJobActions, 'kill'> {
  /** A new job from this one's spec; the page shows it. */
  rerun(job: IJob): Promise<IJob>;
  /** Open a terminal in the running job. */
  shell(job: IJob): Promise<void>;
}

type Tab = 'log' | 'telemetry' | 'details' | 'sharing';
const TABS: ReadonlyArray<[Tab, string]> = [
  ['log', 'Log'],
  ['telemetry', 'Telemetry'],
  ['details', 'Details'],
  ['sharing', 'Sharing']
];

/** Lines of the streamed part the Log tab keeps (earlier parts come on scrolling up). */
export const LOG_KEEP = 100_000;

/**
 * The Log tab: the tail first, then earlier parts as the reader scrolls to
 * the top (`logs?before=`, issue 12), the scroll position kept; `\r` applied.
 */
function LogTab(props: {
  service: JobsService;
  job: IJob;
  active: boolean;
}): JSX.Element {
  const { service, job } = props;
  const started = job.started_at !== null || !isLive(job.status);
  const log = useLogStream(service, job.id, started, {
    tail: LOG_TAIL,
    flushMs: 50,
    maxLines: LOG_KEEP
  });
  const { text, following, earlier } = log;
  const [error, setError] = React.useState<string | null>(null);
  const [search, setSearch] = React.useState('');
  const ref = React.useRef<HTMLPreElement>(null);
  const atEnd = React.useRef(true);
  // Distance from the bottom before an earlier part was prepended.
  const anchor = React.useRef<number | null>(null);

  React.useLayoutEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    if (anchor.current !== null) {
      // Prepended: the lines read stay where they were.
      node.scrollTop = node.scrollHeight - anchor.current;
      anchor.current = null;
    } else if (atEnd.current) {
      node.scrollTop = node.scrollHeight;
    }
  }, [text, props.active]);

  const loadEarlier = () => {
    const node = ref.current;
    if (!earlier || log.loadingEarlier || !node) {
      return;
    }
    anchor.current = node.scrollHeight - node.scrollTop;
    void log.loadEarlier();
  };

  const shown = search
    ? text
        .split('\n')
        .filter(line => line.toLowerCase().includes(search.toLowerCase()))
        .join('\n')
    : text;

  const download = async () => {
    try {
      const blob = await service.logBlob(job.id);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${job.name ?? job.id}.log`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (!started) {
    return (
      <div className="neuro-Page-waiting" data-test-id="neuro-log-waiting">
        Waiting to start: {job.status_description || job.reason || job.status}
      </div>
    );
  }
  return (
    <div className="neuro-Page-log">
      <div className="neuro-Page-logbar">
        <input
          className="jp-mod-styled"
          data-test-id="neuro-log-search"
          placeholder="Search the log"
          value={search}
          onChange={event => setSearch(event.target.value)}
        />
        <button
          className="jp-Button jp-mod-styled"
          data-test-id="neuro-log-download"
          onClick={() => void download()}
          title="Download the whole log"
        >
          Download
        </button>
        <span className="neuro-Page-logstate">
          {following ? 'following' : 'ended'}
        </span>
      </div>
      <ErrorBanner message={error ?? log.error} testId="neuro-log-error" />
      {earlier && (
        <button
          className="jp-Button jp-mod-minimal neuro-Page-earlier"
          data-test-id="neuro-log-earlier"
          disabled={log.loadingEarlier}
          onClick={loadEarlier}
        >
          {log.loadingEarlier
            ? 'Loading earlier lines…'
            : 'Earlier lines: scroll up or click to load them'}
        </button>
      )}
      <pre
        ref={ref}
        className="neuro-Log neuro-Page-logtext"
        data-test-id="neuro-job-log"
        data-following={following ? 'true' : 'false'}
        data-earlier={earlier ? 'true' : 'false'}
        onScroll={event => {
          const node = event.currentTarget;
          atEnd.current =
            node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
          if (node.scrollTop === 0 && !search) {
            loadEarlier();
          }
        }}
      >
        {shown}
      </pre>
    </div>
  );
}

/** A line of the last samples, scaled to its own maximum. */
function Sparkline(props: { values: number[]; max?: number }): JSX.Element {
  const { values } = props;
  const max = Math.max(props.max ?? 0, ...values, 1e-9);
  const points = values
    .map((v, i) => `${(i / Math.max(values.length - 1, 1)) * 100},${30 - (v / max) * 28}`)
    .join(' ');
  return (
    <svg className="neuro-Spark" viewBox="0 0 100 30" preserveAspectRatio="none">
      <polyline points={points} />
    </svg>
  );
}

/** The Telemetry tab: CPU, memory and GPU from `top`, live. */
function TelemetryTab(props: {
  service: JobsService;
  job: IJob;
  active: boolean;
}): JSX.Element {
  const { service, job, active } = props;
  const [samples, setSamples] = React.useState<ISample[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const running = job.status === 'running';
  React.useEffect(() => {
    if (!active || !running) {
      return;
    }
    const abort = new AbortController();
    const parser = new SSEParser();
    service
      .streamTop(
        job.id,
        text => {
          for (const event of parser.feed(text)) {
            if (event.event === 'sample') {
              const sample = JSON.parse(event.data) as ISample;
              setSamples(old => [...old.slice(-119), sample]);
            }
          }
        },
        abort.signal
      )
      .catch((err: Error) => !abort.signal.aborted && setError(err.message));
    return () => abort.abort();
  }, [service, job.id, active, running]);
  const last = samples[samples.length - 1];
  const rows: Array<[string, string, (s: ISample) => number, string]> = [
    ['cpu', 'CPU', s => s.cpu, last ? `${last.cpu.toFixed(1)} %` : '–'],
    ['memory', 'Memory', s => s.memory, last ? bytes(last.memory) : '–'],
    [
      'gpu',
      'GPU',
      s => s.gpu ?? 0,
      last && last.gpu !== null ? `${last.gpu.toFixed(0)} %` : 'no GPU'
    ],
    [
      'gpu-memory',
      'GPU memory',
      s => s.gpu_memory ?? 0,
      last && last.gpu_memory !== null ? bytes(last.gpu_memory) : 'no GPU'
    ]
  ];
  return (
    <div className="neuro-Page-telemetry" data-test-id="neuro-telemetry">
      <ErrorBanner message={error} />
      {!running && (
        <p className="neuro-Page-note">
          Telemetry is live while the job runs; it is {job.status}.
        </p>
      )}
      {rows.map(([name, label, pick, value]) => (
        <div className="neuro-Page-metric" key={name}>
          <span className="neuro-Page-metric-label">{label}</span>
          <span
            className="neuro-Page-metric-value"
            data-test-id={`neuro-telemetry-${name}`}
          >
            {value}
          </span>
          <Sparkline values={samples.map(pick)} />
        </div>
      ))}
    </div>
  );
}

/** The Sharing tab: who else may act on the job; add and revoke. */
function SharingTab(props: { service: JobsService; job: IJob }): JSX.Element {
  const { service, job } = props;
  const [shares, setShares] = React.useState<IShare[]>([]);
  const [user, setUser] = React.useState('');
  const [level, setLevel] = React.useState('read');
  const [error, setError] = React.useState<string | null>(null);
  const load = React.useCallback(async () => {
    try {
      setShares(await service.shares(job.id));
    } catch (err) {
      setError((err as Error).message);
    }
  }, [service, job.id]);
  React.useEffect(() => void load(), [load]);
  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      await load();
    } catch (err) {
      setError(err instanceof NeuroAPIError ? err.message : String(err));
    }
  };
  return (
    <div className="neuro-Page-sharing" data-test-id="neuro-sharing">
      <table className="neuro-History">
        <thead>
          <tr>
            <th>User or group</th>
            <th>Level</th>
            <th>On</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shares.length === 0 && (
            <tr>
              <td colSpan={4}>Not shared with anyone.</td>
            </tr>
          )}
          {shares.map(share => (
            <tr key={`${share.user}:${share.target}`} data-test-id="neuro-share-row">
              <td>{share.user}</td>
              <td>{share.level}</td>
              <td>{share.target === job.id ? 'this job' : `name ${share.target}`}</td>
              <td>
                <button
                  className="jp-Button jp-mod-minimal"
                  data-test-id="neuro-share-revoke"
                  onClick={() => void run(() => service.unshare(job.id, share.user))}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="neuro-Page-shareform"
        onSubmit={event => {
          event.preventDefault();
          void run(() => service.share(job.id, user.trim(), level));
        }}
      >
        <input
          className="jp-mod-styled"
          data-test-id="neuro-share-user"
          placeholder="user, or group:NAME"
          value={user}
          onChange={event => setUser(event.target.value)}
        />
        <select
          className="jp-mod-styled"
          data-test-id="neuro-share-level"
          value={level}
          onChange={event => setLevel(event.target.value)}
        >
          <option value="read">read</option>
          <option value="write">write</option>
          <option value="manage">manage</option>
        </select>
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          data-test-id="neuro-share-add"
          disabled={!user.trim()}
        >
          Share
        </button>
      </form>
      <ErrorBanner message={error} testId="neuro-share-error" />
    </div>
  );
}

/** The page's content for one job (which changes on Rerun). */
export function JobPageView(props: {
  service: JobsService;
  events: JobEvents | null;
  jobId: string;
  actions: IPageActions;
  onJob: (job: IJob) => void;
  onRerun: (job: IJob) => void;
}): JSX.Element {
  const { service, jobId, actions } = props;
  const { job, error, reload } = useJob(service, jobId, props.events);
  const [tab, setTab] = React.useState<Tab>('log');
  const [busy, setBusy] = React.useState(false);
  const [actionError, setActionError] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (job) {
      props.onJob(job);
    }
  }, [job]);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError(err instanceof NeuroAPIError ? err.message : String(err));
    } finally {
      setBusy(false);
      reload();
    }
  };
  const bump = async (current: IJob) => {
    const answer = await InputDialog.getText({
      title: `Add running time to ${jobTitle(current)}`,
      label: 'Add (e.g. 30m, 2h, 1d)',
      text: '1h'
    });
    if (answer.button.accept && answer.value) {
      await service.bumpLifeSpan(current.id, answer.value);
    }
  };
  const live = !!job && isLive(job.status);
  const running = job?.status === 'running';

  return (
    <div
      className="neuro-Page neuro-Detail"
      data-test-id="neuro-job-detail"
      data-job-id={jobId}
      data-status={job ? job.status : ''}
    >
      <div className="neuro-Page-toolbar" data-test-id="neuro-page-toolbar">
        <span className="neuro-Page-title" data-test-id="neuro-detail-title">
          {job ? jobTitle(job) : jobId}
        </span>
        {job && (
          <span className="neuro-Page-status" data-test-id="neuro-page-status">
            <StatusBadge job={job} />
            {job.reason && <span className="neuro-Reason"> {job.reason}</span>}
            {job.exit_code !== null && (
              <span className="neuro-Reason"> exit code {job.exit_code}</span>
            )}
          </span>
        )}
        {job && (
          <span className="neuro-Page-actions">
            <button
              className="jp-Button jp-mod-styled jp-mod-warn"
              data-test-id="neuro-kill"
              disabled={busy || !live}
              title={live ? 'Kill the job' : `The job has ${job.status}`}
              onClick={() => act(() => actions.kill(job))}
            >
              Kill
            </button>
            <button
              className="jp-Button jp-mod-styled"
              data-test-id="neuro-rerun"
              disabled={busy}
              onClick={() =>
                act(async () => props.onRerun(await actions.rerun(job)))
              }
            >
              Rerun
            </button>
            <button
              className="jp-Button jp-mod-styled"
              data-test-id="neuro-open-url"
              disabled={!job.http_url || !running}
              title={job.http_url ?? 'The job serves no HTTP port'}
              onClick={() => job.http_url && window.open(job.http_url, '_blank')}
            >
              Open URL
            </button>
            <button
              className="jp-Button jp-mod-styled"
              data-test-id="neuro-share"
              onClick={() => setTab('sharing')}
            >
              Share
            </button>
            <button
              className="jp-Button jp-mod-styled"
              data-test-id="neuro-bump"
              disabled={busy || !live || job.life_span === 0}
              title={job.life_span === 0 ? 'No life span limit' : 'Add running time'}
              onClick={() => act(() => bump(job))}
            >
              Bump life span
            </button>
            <button
              className="jp-Button jp-mod-styled"
              data-test-id="neuro-shell"
              disabled={!running}
              title="A terminal running a shell inside the job"
              onClick={() => act(() => actions.shell(job))}
            >
              Shell
            </button>
          </span>
        )}
      </div>
      <ErrorBanner message={error} />
      <ErrorBanner message={actionError} testId="neuro-action-error" />
      <div className="neuro-Page-tabs" role="tablist">
        {TABS.map(([name, label]) => (
          <button
            key={name}
            role="tab"
            aria-selected={tab === name}
            className={`neuro-Page-tab${tab === name ? ' jp-mod-current' : ''}`}
            data-test-id={`neuro-tab-${name}`}
            onClick={() => setTab(name)}
          >
            {label}
          </button>
        ))}
      </div>
      {job && (
        <div className="neuro-Page-body">
          <div hidden={tab !== 'log'} className="neuro-Page-pane">
            <LogTab key={job.id} service={service} job={job} active={tab === 'log'} />
          </div>
          <div hidden={tab !== 'telemetry'} className="neuro-Page-pane">
            <TelemetryTab service={service} job={job} active={tab === 'telemetry'} />
          </div>
          <div hidden={tab !== 'details'} className="neuro-Page-pane neuro-Page-details">
            <JobFields job={job} />
            <h3 className="neuro-Heading">History</h3>
            <JobHistory job={job} />
          </div>
          <div hidden={tab !== 'sharing'} className="neuro-Page-pane">
            {tab === 'sharing' && <SharingTab service={service} job={job} />}
          </div>
        </div>
      )}
    </div>
  );
}

/** The React content of a job page; its job changes on Rerun. */
class JobPageContent extends ReactWidget {
  constructor(private _options: JobPage.IOptions, private _page: () => JobPage) {
    super();
    this.jobId = _options.jobId;
    this.addClass('neuro-PageContent');
  }

  jobId: string;

  protected render(): JSX.Element {
    return (
      <JobPageView
        key={this.jobId}
        service={this._options.service}
        events={this._options.events}
        jobId={this.jobId}
        actions={this._options.actions}
        onJob={job => this._page().showJob(job)}
        onRerun={job => {
          this.jobId = job.id;
          this._page().showJob(job);
          this.update();
        }}
      />
    );
  }
}

/** A job's page: one main-area tab per job. */
export class JobPage extends MainAreaWidget<ReactWidget> {
  constructor(options: JobPage.IOptions) {
    let self: JobPage | null = null;
    const content = new JobPageContent(options, () => self!);
    super({ content });
    self = this;
    this._pageContent = content;
    this.id = JobPage.idFor(options.jobId);
    this.title.label = options.jobId;
    this.title.closable = true;
    this.addClass('neuro-JobPage');
  }

  /** The widget id of `jobId`'s page. */
  static idFor(jobId: string): string {
    return `neuro-job-${jobId}`;
  }

  /** The job the page shows now. */
  get jobId(): string {
    return this._pageContent.jobId;
  }

  /** Title and caption from the job as now. */
  showJob(job: IJob): void {
    this.title.label = jobTitle(job);
    this.title.caption = `${jobTitle(job)} (${job.id}): ${job.status}`;
  }

  private _pageContent: JobPageContent;
}

/** The page's options. */
export namespace JobPage {
  export interface IOptions {
    service: JobsService;
    events: JobEvents | null;
    jobId: string;
    actions: IPageActions;
  }
}
