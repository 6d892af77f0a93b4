/**
 * A job's output as a terminal shows it: `\r` returns to the start of the
 * line and overwrites (progress bars), `\b` deletes, ANSI escapes are
 * dropped, and only the last lines are kept.
 */

// CSI sequences (colours, cursor moves) and OSC sequences (titles).
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

// The characters that move the cursor rather than print.
const CONTROL = /(\n|\r|\x08)/; // \x08 is \b, backspace

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
    // Runs of plain text are written at once; control characters one by one.
    for (const piece of text.split(CONTROL)) {
      if (piece === '\n' || piece === '\r' || piece === '\b') {
        this._control(piece);
      } else if (piece) {
        this._write(piece);
      }
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

  private _control(ch: string): void {
    if (ch === '\n') {
      this._lines.push(this._line);
      this._line = '';
      this._col = 0;
    } else if (ch === '\r') {
      this._col = 0;
    } else if (this._col > 0) {
      // \b deletes the character before the cursor
      this._line =
        this._line.slice(0, this._col - 1) + this._line.slice(this._col);
      this._col -= 1;
    }
  }

  private _write(text: string): void {
    this._line =
      this._line.slice(0, this._col) +
      text +
      this._line.slice(this._col + text.length);
    this._col += text.length;
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
