import { bytes, duration, jobTitle, presetLabel, timeAgo } from '../format';
import { makeJob } from './fakeServer';

describe('format', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('says when, relative to now', () => {
    expect(timeAgo('2026-01-01T11:59:55Z', now)).toBe('just now');
    expect(timeAgo('2026-01-01T11:59:30Z', now)).toBe('30 s ago');
    expect(timeAgo('2026-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(timeAgo('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(timeAgo('2025-12-30T12:00:00Z', now)).toBe('2 d ago');
    expect(timeAgo(null, now)).toBe('');
  });

  it('writes durations in the life-span grammar', () => {
    expect(duration(0)).toBe('0s');
    expect(duration(0, true)).toBe('no limit');
    expect(duration(86400 + 3 * 3600 + 20 * 60)).toBe('1d3h20m');
    expect(duration(61)).toBe('1m1s');
  });

  it('writes sizes in binary units', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(2 * 1024 ** 3)).toBe('2 GiB');
    expect(bytes(1.5 * 1024 ** 2)).toBe('1.5 MiB');
  });

  it('labels presets and jobs', () => {
    expect(
      presetLabel({ name: 'gpu-small', cpu: 4, memory: 16 * 1024 ** 3, gpu: 1, gpu_model: 'A100', preemptible: true })
    ).toBe('gpu-small — 4 CPU, 16 GiB, 1 x A100, preemptible');
    expect(jobTitle(makeJob({ name: null }))).toBe('job-00000000');
    expect(jobTitle(makeJob())).toBe('train');
  });
});

describe('presetLabel with the server\'s display', () => {
  it('writes the size as the server does', () => {
    expect(
      presetLabel({ name: 'cpu-small', cpu: 1, memory: 2e9, gpu: 0, preemptible: false, display: '1 CPU, 1.9 GiB, no GPU' })
    ).toBe('cpu-small — 1 CPU, 1.9 GiB, no GPU');
  });
});
