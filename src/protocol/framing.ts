import { checkInteger } from '../errors.js';

/** One result of feeding bytes to a ControlLineParser. */
export type ControlLineEvent = { type: 'line'; line: Buffer } | { type: 'overflow' };

export interface ControlLineParserOptions {
  /** Longest accepted line in bytes, excluding the CRLF. Default 4096 (vsftpd's cap). */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 4096;

// Telnet bytes (RFC 854). RFC 959 says the control connection speaks Telnet,
// so clients may send IAC sequences (e.g. IAC IP IAC DM before ABOR).
const IAC = 0xff;
const WILL = 0xfb;
const DONT = 0xfe;
const DM = 0xf2;
const CR = 0x0d;
const LF = 0x0a;
// "ABOR", the one command a client may send as urgent data (RFC 959 section 4.1.3).
const ABOR = [0x41, 0x42, 0x4f, 0x52];

const enum Telnet {
  Data, // ordinary bytes
  Iac, // saw IAC, waiting for the command byte
  Option, // saw IAC WILL/WONT/DO/DONT, waiting for the option byte to drop
}

/**
 * Splits a control-connection byte stream into lines, whatever the chunking.
 *
 * State survives between push() calls: the partial line, a pending CR (so a
 * CRLF split across chunks is still one terminator) and the Telnet state (so
 * an IAC split across chunks is still stripped). The line buffer is a fixed
 * maxLineLength bytes: an over-long line is detected before it is stored,
 * reported once, then skipped up to the next LF.
 *
 * One exception to "a line ends at LF": `ABOR<CR>` ends at its CR. Python's ftplib sends
 * `ABOR\r\n` with MSG_OOB, and Linux hands the last byte (the LF) to the urgent-data channel,
 * which a Node socket never reads (no SO_OOBINLINE): the LF never comes. So ABOR is complete at
 * its CR, and an LF that does come right after it is dropped rather than read as an empty line.
 */
export class ControlLineParser {
  readonly #max: number;
  #buf: Buffer | undefined; // allocated on first byte, reused for every line
  #len = 0;
  #pendingCr = false;
  #discarding = false;
  /** ABOR ended at its CR: an LF as the next data byte is its terminator, not a new line. */
  #lfAfterAbor = false;
  #telnet: Telnet = Telnet.Data;

  constructor(opts: ControlLineParserOptions = {}) {
    this.#max = checkInteger('maxLineLength', opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, 1);
  }

  push(chunk: Buffer): ControlLineEvent[] {
    const events: ControlLineEvent[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.#telnet) {
        case Telnet.Iac:
          if (b === IAC) {
            this.#telnet = Telnet.Data;
            this.#data(IAC, events); // IAC IAC is an escaped literal 0xFF
          } else {
            this.#telnet = b >= WILL && b <= DONT ? Telnet.Option : Telnet.Data;
          }
          continue;
        case Telnet.Option:
          this.#telnet = Telnet.Data;
          continue;
        default:
          if (b === IAC) {
            this.#telnet = Telnet.Iac;
            continue;
          }
          this.#data(b, events);
      }
    }
    return events;
  }

  #data(b: number, events: ControlLineEvent[]): void {
    if (this.#lfAfterAbor) {
      this.#lfAfterAbor = false;
      if (b === LF) return;
    }
    if (b === LF) {
      // CRLF or a bare LF both end the line; the CR before LF is dropped.
      this.#pendingCr = false;
      if (this.#discarding) {
        this.#discarding = false;
      } else {
        events.push({ type: 'line', line: Buffer.from(this.#buf?.subarray(0, this.#len) ?? []) });
      }
      this.#len = 0;
      return;
    }
    if (this.#discarding) return;
    // BSD ftp sends IAC IP IAC as TCP urgent data, then DM ABOR: without SO_OOBINLINE the
    // kernel takes the urgent IAC away and a lone DM reaches us before the verb. No verb
    // starts with 0xF2, so a DM at the start of a line is dropped.
    if (b === DM && this.#len === 0 && !this.#pendingCr) return;
    if (this.#pendingCr) {
      // The CR was not part of a CRLF: it is line content after all.
      this.#pendingCr = false;
      this.#append(CR, events);
      if (this.#discarding) return;
    }
    if (b === CR) {
      if (this.#isAbor()) {
        events.push({ type: 'line', line: Buffer.from(this.#buf!.subarray(0, this.#len)) });
        this.#len = 0;
        this.#lfAfterAbor = true;
        return;
      }
      this.#pendingCr = true;
      return;
    }
    this.#append(b, events);
  }

  /** The line so far is ABOR, in any case. */
  #isAbor(): boolean {
    if (this.#len !== ABOR.length) return false;
    for (let i = 0; i < ABOR.length; i++) if ((this.#buf![i]! & 0xdf) !== ABOR[i]) return false;
    return true;
  }

  #append(b: number, events: ControlLineEvent[]): void {
    if (this.#len === this.#max) {
      events.push({ type: 'overflow' });
      this.#discarding = true;
      this.#len = 0;
      return;
    }
    this.#buf ??= Buffer.allocUnsafe(this.#max);
    this.#buf[this.#len++] = b;
  }
}
