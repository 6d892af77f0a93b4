/**
 * Server-sent events (`text/event-stream`) read as text arrives: the parser
 * `GET events` and `top` share, and the decoder of a followed log (issue 14).
 */

/** One server-sent event. */
export interface IServerEvent {
  event: string;
  id: string | null;
  data: string;
}

/**
 * An incremental `text/event-stream` parser: feed it text as it arrives,
 * get back the events it completes (comments are skipped).
 */
export class SSEParser {
  /** The events `text` completes. */
  feed(text: string): IServerEvent[] {
    this._buffer += text;
    const events: IServerEvent[] = [];
    for (;;) {
      const end = this._buffer.search(/\r?\n/);
      if (end < 0) {
        return events;
      }
      const line = this._buffer.slice(0, end);
      this._buffer = this._buffer.slice(
        end + (this._buffer[end] === '\r' ? 2 : 1)
      );
      if (line === '') {
        if (this._seen) {
          events.push(this._event);
        }
        this._event = { event: 'message', id: null, data: '' };
        this._seen = false;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon === 0) {
        continue; // a comment (`: ping`)
      }
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      if (name === 'event') {
        this._event.event = value;
        this._seen = true;
      } else if (name === 'id') {
        this._event.id = value;
        this._seen = true;
      } else if (name === 'data') {
        this._event.data = this._event.data
          ? `${this._event.data}\n${value}`
          : value;
        this._seen = true;
      }
    }
  }

  private _buffer = '';
  private _seen = false;
  private _event: IServerEvent = { event: 'message', id: null, data: '' };
}

/**
 * The text of a log that comes as server-sent events (`GET jobs/{ref}/logs`
 * with `Accept: text/event-stream`): `event: log` carries a chunk of the
 * job's bytes in base64, `: ping` keeps a quiet job's stream open through a
 * proxy with a read timeout, `event: end` ends it. A character split across
 * two chunks is decoded whole.
 */
export class LogEventDecoder {
  /** The log text that the stream's `text` completes. */
  feed(text: string): string {
    let out = '';
    for (const event of this._parser.feed(text)) {
      if (event.event === 'log') {
        const bytes = Uint8Array.from(atob(event.data), c => c.charCodeAt(0));
        out += this._decoder.decode(bytes, { stream: true });
      }
    }
    return out;
  }

  /** What is left once the stream ended (an incomplete character). */
  end(): string {
    return this._decoder.decode();
  }

  private _parser = new SSEParser();
  private _decoder = new TextDecoder();
}
