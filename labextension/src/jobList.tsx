/**
 * The job list: filters on top, one row per job.
 */
import * as React from 'react';

import { jobTitle, timeAgo } from './format';
import { JobsModel } from './model';
import { IJob, isLive } from './types';

/** A job's status as a coloured badge. */
export function StatusBadge(props: { job: IJob }): JSX.Element {
  const { job } = props;
  const title = [job.status, job.reason, job.status_description]
    .filter(Boolean)
    .join(' — ');
  return (
    <span
      className={`neuro-Status neuro-Status-${job.status}`}
      data-test-id="neuro-job-status"
      title={title}
    >
      {job.status}
    </span>
  );
}

/** The Http URL as a link that opens in a new tab. */
export function JobLink(props: { url: string | null }): JSX.Element | null {
  if (!props.url) {
    return null;
  }
  return (
    <a
      className="neuro-JobLink"
      data-test-id="neuro-job-url"
      href={props.url}
      target="_blank"
      rel="noopener noreferrer"
      onClick={event => event.stopPropagation()}
    >
      {props.url}
    </a>
  );
}

/**
 * Why a job is where it is, in the list itself (issue 12): a failed job's
 * reason and exit code, a pending job's wait.
 */
export function JobWhy(props: { job: IJob }): JSX.Element | null {
  const { job } = props;
  let text = '';
  if (job.status === 'failed') {
    const exit = job.exit_code !== null ? `exit code ${job.exit_code}` : '';
    text = [job.reason, exit, job.status_description].filter(Boolean).join(', ');
  } else if (job.status === 'pending') {
    text = `waiting: ${job.status_description || job.reason || 'to start'}`;
  }
  if (!text) {
    return null;
  }
  return (
    <div className="neuro-JobRow-why" data-test-id="neuro-job-why" title={text}>
      {text}
    </div>
  );
}

/** What a row's hover buttons do (issue 12); Open is the row's click. */
export interface IRowActions {
  /** Ask, then kill the job. */
  kill?: (job: IJob) => void;
}

/** Whether the job's Http URL answers now. */
export function serving(job: IJob): boolean {
  return !!job.http_url && job.status === 'running';
}

/**
 * The buttons a row shows while hovered or focused (issue 12): its page,
 * Open URL while it serves, Kill while it is live. The same as the row's
 * context menu, one click away.
 */
export function RowActions(props: {
  job: IJob;
  onOpen: (job: IJob) => void;
  actions: IRowActions;
}): JSX.Element {
  const { job, onOpen, actions } = props;
  const button = (
    testId: string,
    label: string,
    title: string,
    run: () => void,
    warn = false
  ) => (
    <button
      className={`jp-Button jp-mod-minimal neuro-JobRow-action${warn ? ' neuro-mod-warn' : ''}`}
      data-test-id={testId}
      title={title}
      onClick={event => {
        event.stopPropagation();
        run();
      }}
    >
      {label}
    </button>
  );
  return (
    <div className="neuro-JobRow-actions" data-test-id="neuro-job-actions">
      {button('neuro-job-open-page', 'Open', `Open ${jobTitle(job)}'s page`, () =>
        onOpen(job)
      )}
      {serving(job) &&
        button('neuro-job-open-url', 'URL', `Open ${job.http_url ?? ''}`, () =>
          window.open(job.http_url ?? '', '_blank', 'noopener')
        )}
      {isLive(job.status) &&
        actions.kill &&
        button(
          'neuro-job-kill',
          'Kill',
          `Kill ${jobTitle(job)}`,
          () => actions.kill!(job),
          true
        )}
    </div>
  );
}

/** One job: status, name, preset, image, when, and its Http URL. */
export function JobRow(props: {
  job: IJob;
  now: number;
  onOpen: (job: IJob) => void;
  actions?: IRowActions;
  /** Who "you" are: another owner's job says whose it is. */
  me?: string | null;
}): JSX.Element {
  const { job, now, onOpen } = props;
  const open = () => onOpen(job);
  const theirs = !!props.me && job.owner !== props.me;
  return (
    <li
      className="neuro-JobRow"
      data-test-id="neuro-job-row"
      data-job-id={job.id}
      data-job-name={job.name ?? ''}
      data-status={job.status}
      data-http-url={serving(job) ? job.http_url ?? '' : undefined}
      tabIndex={0}
      title={`${job.id}\n${job.command}`}
      onClick={open}
      onKeyDown={event => {
        if (event.key === 'Enter') {
          open();
        }
      }}
    >
      <div className="neuro-JobRow-head">
        <StatusBadge job={job} />
        <span className="neuro-JobRow-name" data-test-id="neuro-job-name">
          {jobTitle(job)}
        </span>
        {theirs && (
          <span
            className="neuro-JobRow-owner"
            data-test-id="neuro-job-owner"
            title={`Shared with you by ${job.owner}`}
          >
            by {job.owner}
          </span>
        )}
        <span
          className="neuro-JobRow-when"
          data-test-id="neuro-job-when"
          title={job.created_at}
        >
          {timeAgo(job.created_at, now)}
        </span>
      </div>
      <div className="neuro-JobRow-meta">
        <span className="neuro-JobRow-preset" data-test-id="neuro-job-preset">
          {job.preset}
        </span>
        <span className="neuro-JobRow-image" data-test-id="neuro-job-image">
          {job.image}
        </span>
      </div>
      {job.tags.length > 0 && (
        <div className="neuro-JobRow-tags">
          {job.tags.map(tag => (
            <span key={tag} className="neuro-Tag">
              {tag}
            </span>
          ))}
        </div>
      )}
      <JobWhy job={job} />
      {serving(job) && (
        <div className="neuro-JobRow-open">
          <JobLink url={job.http_url} />
        </div>
      )}
      <RowActions job={job} onOpen={onOpen} actions={props.actions ?? {}} />
    </li>
  );
}

/** The filters: Running only, tags, search. */
export function JobFilters(props: { model: JobsModel }): JSX.Element {
  const { model } = props;
  const { filters } = model;
  return (
    <div className="neuro-Filters">
      <label
        className="neuro-Filters-running"
        title="Show only pending and running jobs"
      >
        <input
          type="checkbox"
          data-test-id="neuro-filter-running"
          checked={filters.runningOnly}
          onChange={event =>
            model.setFilters({ runningOnly: event.currentTarget.checked })
          }
        />
        Running only
      </label>
      <input
        type="search"
        className="jp-mod-styled neuro-Filters-search"
        data-test-id="neuro-filter-search"
        placeholder="Search jobs"
        title="Search the name, description, image and command"
        aria-label="Search jobs"
        value={filters.search}
        onChange={event => model.setFilters({ search: event.currentTarget.value })}
      />
      <input
        type="text"
        className="jp-mod-styled neuro-Filters-tags"
        data-test-id="neuro-filter-tags"
        placeholder="Tags (all)"
        title="Tags, all of which must be present: kind:project target:setup"
        aria-label="Filter by tags"
        value={filters.tags}
        onChange={event => model.setFilters({ tags: event.currentTarget.value })}
      />
    </div>
  );
}

/** A readable error, never raw HTML. */
export function ErrorBanner(props: {
  message: string | null;
  testId?: string;
}): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div
      className="neuro-Error"
      role="alert"
      data-test-id={props.testId ?? 'neuro-error'}
    >
      {props.message}
    </div>
  );
}

/** The filters and the list of jobs. */
export function JobList(props: {
  model: JobsModel;
  onOpen: (job: IJob) => void;
  actions?: IRowActions;
  /** Who "you" are, if known: others' jobs say "by OWNER". */
  me?: string | null;
  now?: number;
}): JSX.Element {
  const { model, onOpen } = props;
  const now = props.now ?? Date.now();
  const jobs = model.jobs;
  let empty: string | null = null;
  if (!model.loading && !model.error && jobs.length === 0) {
    const filtered =
      model.filters.runningOnly || model.filters.search || model.filters.tags;
    empty = filtered
      ? 'No jobs match these filters.'
      : 'No jobs yet. Start one with New job, %neuro run in a notebook, or neuro-jupyter run in a terminal.';
  }
  return (
    <div className="neuro-JobListView">
      <JobFilters model={model} />
      <ErrorBanner message={model.error ? model.error.message : null} />
      <ul
        className="neuro-JobList"
        data-test-id="neuro-job-list"
        data-loading={model.loading ? 'true' : 'false'}
      >
        {jobs.map(job => (
          <JobRow
            key={job.id}
            job={job}
            now={now}
            onOpen={onOpen}
            actions={props.actions}
            me={props.me}
          />
        ))}
      </ul>
      {empty && (
        <div className="neuro-Empty" data-test-id="neuro-empty">
          {empty}
        </div>
      )}
    </div>
  );
}
