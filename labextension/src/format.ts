/**
 * Small pure formatters for what the sidebar shows.
 */
import { IJob, IPreset } from './types';

/** `when` relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function timeAgo(when: string | null, now: number = Date.now()): string {
  if (!when) {
    return '';
  }
  const then = Date.parse(when);
  if (isNaN(then)) {
    return when;
  }
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 10) {
    return 'just now';
  }
  if (seconds < 60) {
    return `${seconds} s ago`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return `${hours} h ago`;
  }
  return `${Math.floor(hours / 24)} d ago`;
}

/** Seconds as `1d2h3m4s`; `0` reads "no limit" when `zeroIsUnlimited`. */
export function duration(seconds: number, zeroIsUnlimited = false): string {
  if (zeroIsUnlimited && seconds === 0) {
    return 'no limit';
  }
  let rest = Math.round(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60]
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest || !parts.length) {
    parts.push(`${rest}s`);
  }
  return parts.join('');
}

/** Bytes in binary units: "512 MiB", "4 GiB". */
export function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  const shown = Number.isInteger(size) ? String(size) : size.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/**
 * A preset in one line: "cpu-small — 1 CPU, 1.9 GiB, no GPU". The size is
 * the server's `display` (the one formatter every surface uses, issue 12).
 */
export function presetLabel(preset: IPreset): string {
  if (preset.display) {
    return `${preset.name} — ${preset.display}`;
  }
  const gpu = preset.gpu
    ? preset.gpu_model
      ? `${preset.gpu} x ${preset.gpu_model}`
      : `${preset.gpu} GPU`
    : 'no GPU';
  const parts = [`${preset.cpu} CPU`, bytes(preset.memory), gpu];
  if (preset.preemptible) {
    parts.push('preemptible');
  }
  return `${preset.name} — ${parts.join(', ')}`;
}

/** What to call a job: its name, else its id cut short. */
export function jobTitle(job: IJob): string {
  return job.name || job.id.slice(0, 12);
}

/** The date and time of an ISO string, in the browser's zone. */
export function dateTime(when: string | null): string {
  if (!when) {
    return '—';
  }
  const date = new Date(when);
  return isNaN(date.getTime()) ? when : date.toLocaleString();
}
