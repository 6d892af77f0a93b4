/**
 * The REST API's models, as `neuro_jupyter/server/openapi.yaml` describes them.
 */

/** A job's state; finished states never change. */
export type JobStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

/** The statuses of a job that has not finished yet. */
export const LIVE_STATUSES: ReadonlyArray<JobStatus> = ['pending', 'running'];

/** Whether a job in `status` may still change. */
export function isLive(status: JobStatus): boolean {
  return LIVE_STATUSES.indexOf(status) >= 0;
}

/** A size jobs may run as (`GET presets`). */
export interface IPreset {
  name: string;
  cpu: number;
  /** Bytes. */
  memory: number;
  gpu: number;
  gpu_model?: string | null;
  preemptible: boolean;
  /** Its size in words, as every surface writes it: "1 CPU, 1.9 GiB, no GPU". */
  display?: string;
  /** Why this server can never run it (bigger than the machine), or null. */
  unavailable?: string | null;
}

/** `GET presets`. */
export interface IPresetsResponse {
  presets: IPreset[];
  default: string;
}

/** One status transition of a job. */
export interface IHistoryItem {
  status: JobStatus;
  reason: string;
  description: string;
  at: string;
  exit_code: number | null;
}

/** The HTTP port a job exposes. */
export interface IJobHttp {
  port: number;
  auth?: boolean;
  keep_prefix?: boolean;
}

/** A job record (`GET jobs/{ref}`). */
export interface IJob {
  id: string;
  owner: string;
  cluster: string;
  image: string;
  command: string;
  preset: string;
  name: string | null;
  tags: string[];
  description: string;
  volumes: string[];
  env: { [name: string]: string };
  workdir: string | null;
  http: IJobHttp | null;
  /** Seconds of running time; 0 is no limit. */
  life_span: number;
  restart: string;
  status: JobStatus;
  reason: string;
  status_description: string;
  exit_code: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  run_time_seconds?: number;
  http_url: string | null;
  history: IHistoryItem[];
}

/** `GET jobs`. */
export interface IJobsResponse {
  jobs: IJob[];
}

/** What the job list asks the server for (`GET jobs?...`). */
export interface IListQuery {
  /** Only pending and running jobs; otherwise every status. */
  liveOnly: boolean;
  /** Tags that must all be present. */
  tags: string[];
  /** Substring of name, description, image or command. */
  q: string;
  limit?: number;
}

/** One field of the job spec, as `GET spec` describes it. */
export interface ISpecField {
  name: string;
  /**
   * `string`, `text`, `integer`, `boolean`, `enum`, `duration`, `command`,
   * `string-list`, `volume-list`, `mapping` or `object` (with `fields`).
   */
  type: string;
  required?: boolean;
  default?: unknown;
  help?: string;
  choices?: string[];
  fields?: ISpecField[];
}

/** `GET spec`. */
export interface ISpecResponse {
  fields: ISpecField[];
}

/** A job spec for `POST jobs`; only `image` is required. */
export interface IJobSpec {
  image: string;
  [field: string]: unknown;
}

/** An error body: the message and, when input was at fault, the field. */
export interface IErrorBody {
  error: string;
  field?: string | null;
}

/** A grant (`GET jobs/{ref}/shares`). */
export interface IShare {
  owner: string;
  target: string;
  /** A user name, or `group:NAME`. */
  user: string;
  level: 'read' | 'write' | 'manage';
}

/** One `top` sample. */
export interface ISample {
  at: string;
  cpu: number;
  memory: number;
  gpu: number | null;
  gpu_memory: number | null;
}
