import { LogBuffer } from '../logText';

function shown(...chunks: string[]): string {
  const buffer = new LogBuffer();
  chunks.forEach(chunk => buffer.append(chunk));
  return buffer.text;
}

describe('LogBuffer', () => {
  it('keeps plain lines as they are', () => {
    expect(shown('a\nb\n')).toBe('a\nb\n');
    expect(shown('a\nb')).toBe('a\nb');
    expect(shown('')).toBe('');
  });

  it('overwrites from the start of the line on \\r, as progress bars expect', () => {
    expect(shown('10%\r20%\r30%\n')).toBe('30%\n');
    // a shorter rewrite keeps the longer line's tail, as a terminal does
    expect(shown('loading...\rdone\n')).toBe('doneing...\n');
  });

  it('treats \\r\\n as a newline, even split across chunks', () => {
    expect(shown('a\r\nb\r\n')).toBe('a\nb\n');
    expect(shown('a\r', '\nb')).toBe('a\nb');
  });

  it('deletes on \\b', () => {
    expect(shown('abc\b\bX\n')).toBe('aX\n');
    expect(shown('\b\bok')).toBe('ok');
  });

  it('drops ANSI colours and cursor moves, even when cut between chunks', () => {
    expect(shown('\x1b[31mred\x1b[0m plain\n')).toBe('red plain\n');
    expect(shown('\x1b[3', '2mgreen\x1b[0m')).toBe('green');
    expect(shown('\x1b]0;title\x07text')).toBe('text');
  });

  it('keeps only the last lines', () => {
    const buffer = new LogBuffer(3);
    for (let i = 1; i <= 10; i++) {
      buffer.append(`line ${i}\n`);
    }
    expect(buffer.text).toBe('line 8\nline 9\nline 10\n');
    expect(buffer.dropped).toBe(7);
    buffer.clear();
    expect(buffer.text).toBe('');
  });

  it('collapses a tqdm bar to its last state', () => {
    const bar = Array.from({ length: 100 }, (_, i) => `\r${i + 1}%|${'#'.repeat((i + 1) / 10)}|`).join('');
    expect(shown('start\n', bar, '\nend\n')).toBe('start\n100%|##########|\nend\n');
  });
});
