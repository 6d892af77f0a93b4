/**
 * A job's output as a terminal shows it: `\r` returns to the start of the
 * line and overwrites (progress bars), `\b` deletes, ANSI escapes are
 * dropped, and only the last lines are kept.
 */

// CSI sequences (colours, cursor moves) and OSC sequences (titles).
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Output collapsed as a terminal would show it, fed chunk by chunk. */
export class LogBuffer {
  /**
   * @param maxLines Finished lines kept; older ones are dropped.
   */
  constructor(readonly maxLines = 2000) {}

  /** How many finished lines were dropped from the top. */
  get dropped(): number {
    return this._dropped;
  }

  /** Add a chunk of output; a chunk may end anywhere, even inside `\r\n`. */
  append(chunk: string): void {
    let text = this._carry + chunk;
    this._carry = '';
    // An escape sequence cut at the chunk's end waits for the next chunk.
    const cut = text.lastIndexOf('\x1b');
    if (cut >= 0 && cut > text.length - 16 && !/[@-~]/.test(text.slice(cut + 2))) {
      this._carry = text.slice(cut);
      text = text.slice(0, cut);
    }
    text = text.replace(ANSI, '');
    for (const ch of text) {
      this._put(ch);
    }
    this._trim();
  }

  /** The text as shown: finished lines, then the line being written. */
  get text(): string {
    const head = this._lines.join('\n');
    if (!this._line) {
      return this._lines.length ? `${head}\n` : '';
    }
    return this._lines.length ? `${head}\n${this._line}` : this._line;
  }

  /** Forget everything. */
  clear(): void {
    this._lines = [];
    this._line = '';
    this._col = 0;
    this._carry = '';
    this._dropped = 0;
  }

  private _put(ch: string): void {
    if (ch === '\n') {
      this._lines.push(this._line);
      this._line = '';
      this._col = 0;
      return;
    }
    if (ch === '\r') {
      this._col = 0;
      return;
    }
    if (ch === '\b') {
      if (this._col > 0) {
        this._line =
          this._line.slice(0, this._col - 1) + this._line.slice(this._col);
        this._col -= 1;
      }
      return;
    }
    this._line =
      this._line.slice(0, this._col) + ch + this._line.slice(this._col + 1);
    this._col += 1;
  }

  private _trim(): void {
    const extra = this._lines.length - this.maxLines;
    if (extra > 0) {
      this._lines.splice(0, extra);
      this._dropped += extra;
    }
  }

  private _lines: string[] = [];
  private _line = '';
  private _col = 0;
  private _carry = '';
  private _dropped = 0;
}
