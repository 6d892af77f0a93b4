/**
 * One job: its status fields, history and live log, with Kill and Rerun.
 */
import { Poll } from '@lumino/polling';
import * as React from 'react';

import { JobsService, NeuroAPIError } from './api';
import { JobEvents } from './events';
import { dateTime, duration, jobTitle } from './format';
import { ErrorBanner, JobLink, StatusBadge } from './jobList';
import { useLogStream } from './logStream';
import { IJob, isLive } from './types';

/** How often an open job's record is refreshed while not pushed, in ms. */
export const DETAIL_INTERVAL = 1500;

/**
 * The job `jobId`, kept fresh while shown: from the server's pushes while
 * `events` is connected, else by polling (the fallback).
 */
export function useJob(
  service: JobsService,
  jobId: string,
  events: JobEvents | null = null
): { job: IJob | null; error: string | null; reload: () => void } {
  const [job, setJob] = React.useState<IJob | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const pollRef = React.useRef<Poll | null>(null);
  React.useEffect(() => {
    setJob(null);
    setError(null);
    let finished = false;
    const interval = () =>
      finished || events?.connected ? Poll.NEVER : DETAIL_INTERVAL;
    let latest: IJob | null = null;
    /** Take `fresh` unless what we have is newer: a GET answered before a
     * push may arrive after it. */
    const take = (fresh: IJob) => {
      if (latest && fresh.history.length < latest.history.length) {
        return;
      }
      latest = fresh;
      finished = !isLive(fresh.status);
      setJob(fresh);
      setError(null);
    };
    const onJob = (_: JobEvents, fresh: IJob) => {
      if (fresh.id === jobId || fresh.name === jobId) {
        take(fresh);
      }
    };
    const onConnected = () => {
      const next = interval();
      if (poll.frequency.interval !== next) {
        poll.frequency = { ...poll.frequency, interval: next };
        if (next !== Poll.NEVER) {
          void poll.refresh(); // a Poll at NEVER has no tick to pick this up
        }
      }
    };
    // Not poll.refresh(): one asked while a refresh is in flight is dropped.
    const onReset = () =>
      void service.getJob(jobId).then(take, () => undefined);
    const poll = new Poll({
      factory: async () => {
        try {
          take(await service.getJob(jobId));
          // A finished job never changes: look again only when asked.
          onConnected();
        } catch (err) {
          setError((err as Error).message);
          throw err;
        }
      },
      frequency: { interval: DETAIL_INTERVAL, backoff: true, max: 30000 },
      name: 'neuro-jupyter:job',
      standby: 'when-hidden'
    });
    pollRef.current = poll;
    events?.changed.connect(onJob);
    events?.connectedChanged.connect(onConnected);
    events?.reset.connect(onReset);
    return () => {
      events?.changed.disconnect(onJob);
      events?.connectedChanged.disconnect(onConnected);
      events?.reset.disconnect(onReset);
      poll.dispose();
      pollRef.current = null;
    };
  }, [service, jobId, events]);
  const reload = React.useCallback(() => {
    const poll = pollRef.current;
    if (poll) {
      void poll.refresh();
    }
  }, []);
  return { job, error, reload };
}

function Field(props: {
  label: string;
  name: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <>
      <dt>{props.label}</dt>
      <dd data-test-id={`neuro-detail-${props.name}`}>{props.children}</dd>
    </>
  );
}

/** The job's status fields. */
export function JobFields(props: { job: IJob }): JSX.Element {
  const { job } = props;
  return (
    <dl className="neuro-Fields">
      <Field label="Status" name="status">
        <StatusBadge job={job} />
        {job.reason && <span className="neuro-Reason"> {job.reason}</span>}
      </Field>
      {job.status_description && (
        <Field label="Description" name="status-description">
          {job.status_description}
        </Field>
      )}
      {job.exit_code !== null && (
        <Field label="Exit code" name="exit-code">
          {job.exit_code}
        </Field>
      )}
      <Field label="Id" name="id">
        {job.id}
      </Field>
      <Field label="Owner" name="owner">
        {job.owner}
      </Field>
      <Field label="Preset" name="preset">
        {job.preset}
      </Field>
      <Field label="Image" name="image">
        {job.image}
      </Field>
      <Field label="Command" name="command">
        <code>{job.command || '(image default)'}</code>
      </Field>
      {job.tags.length > 0 && (
        <Field label="Tags" name="tags">
          {job.tags.join(' ')}
        </Field>
      )}
      {job.description && (
        <Field label="About" name="description">
          {job.description}
        </Field>
      )}
      <Field label="Created" name="created">
        {dateTime(job.created_at)}
      </Field>
      <Field label="Started" name="started">
        {dateTime(job.started_at)}
      </Field>
      <Field label="Finished" name="finished">
        {dateTime(job.finished_at)}
      </Field>
      {job.run_time_seconds !== undefined && (
        <Field label="Run time" name="run-time">
          {duration(job.run_time_seconds)}
        </Field>
      )}
      <Field label="Life span" name="life-span">
        {duration(job.life_span, true)}
      </Field>
      {job.http_url && (
        <Field label="Http URL" name="http-url">
          <JobLink url={job.http_url} />
        </Field>
      )}
    </dl>
  );
}

/** Every status transition, oldest first. */
export function JobHistory(props: { job: IJob }): JSX.Element {
  return (
    <table className="neuro-History" data-test-id="neuro-job-history">
      <thead>
        <tr>
          <th>When</th>
          <th>Status</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        {props.job.history.map((item, index) => (
          <tr key={index} title={item.description}>
            <td>{dateTime(item.at)}</td>
            <td>{item.status}</td>
            <td>
              {item.reason}
              {item.exit_code !== null ? ` (exit ${item.exit_code})` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The live log, scrolled to the end while the reader is at the end. */
export function JobLog(props: {
  text: string;
  following: boolean;
}): JSX.Element {
  const ref = React.useRef<HTMLPreElement>(null);
  const atEnd = React.useRef(true);
  React.useLayoutEffect(() => {
    const node = ref.current;
    if (node && atEnd.current) {
      node.scrollTop = node.scrollHeight;
    }
  }, [props.text]);
  return (
    <pre
      ref={ref}
      className="neuro-Log"
      data-test-id="neuro-job-log"
      data-following={props.following ? 'true' : 'false'}
      onScroll={event => {
        const node = event.currentTarget;
        atEnd.current =
          node.scrollTop + node.clientHeight >= node.scrollHeight - 4;
      }}
    >
      {props.text}
    </pre>
  );
}

/** What the detail view needs from its owner. */
export interface IJobActions {
  /** Ask, then kill; the job after, or null if the user declined. */
  kill(job: IJob): Promise<IJob | null>;
  /** Start a new job from this one's spec and show it. */
  rerun(job: IJob): Promise<IJob>;
  /** Back to the list. */
  back(): void;
}

/** The detail view of one job. */
export function JobDetail(props: {
  service: JobsService;
  jobId: string;
  actions: IJobActions;
  events?: JobEvents | null;
}): JSX.Element {
  const { service, jobId, actions } = props;
  const { job, error, reload } = useJob(service, jobId, props.events ?? null);
  const started = !!job && (job.started_at !== null || !isLive(job.status));
  const log = useLogStream(service, jobId, started);
  const [busy, setBusy] = React.useState(false);
  const [actionError, setActionError] = React.useState<string | null>(null);

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    try {
      await action();
    } catch (err) {
      setActionError(
        err instanceof NeuroAPIError ? err.message : String(err)
      );
    } finally {
      setBusy(false);
      reload();
    }
  };

  return (
    <div
      className="neuro-Detail"
      data-test-id="neuro-job-detail"
      data-job-id={jobId}
      data-status={job ? job.status : ''}
    >
      <div className="neuro-Detail-bar">
        <button
          className="jp-Button jp-mod-minimal neuro-Back"
          data-test-id="neuro-back"
          onClick={() => actions.back()}
          title="Back to the job list"
        >
          ← Jobs
        </button>
        <span className="neuro-Detail-title" data-test-id="neuro-detail-title">
          {job ? jobTitle(job) : jobId}
        </span>
      </div>
      <ErrorBanner message={error} />
      <ErrorBanner message={actionError} testId="neuro-action-error" />
      {job && (
        <>
          <div className="neuro-Detail-actions">
            <button
              className="jp-Button jp-mod-styled jp-mod-warn"
              data-test-id="neuro-kill"
              disabled={busy || !isLive(job.status)}
              onClick={() => act(() => actions.kill(job))}
            >
              Kill
            </button>
            <button
              className="jp-Button jp-mod-styled jp-mod-accept"
              data-test-id="neuro-rerun"
              disabled={busy}
              onClick={() => act(() => actions.rerun(job))}
            >
              Rerun
            </button>
          </div>
          <JobFields job={job} />
          <h3 className="neuro-Heading">History</h3>
          <JobHistory job={job} />
          <h3 className="neuro-Heading">
            Log{log.following ? ' (following)' : ''}
          </h3>
          <ErrorBanner message={log.error} testId="neuro-log-error" />
          <JobLog text={log.text} following={log.following} />
        </>
      )}
    </div>
  );
}
