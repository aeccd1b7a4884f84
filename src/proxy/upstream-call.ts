import { errors, type Dispatcher } from 'undici';
import type { AbortSource } from './request-abort.js';

/** Response headers as undici parses them: lower-case names, repeated ones as arrays. */
export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** Takes an upstream body as it arrives. `onData` returns false to pause it until `resume()`. */
export type BodySink = {
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  onError(err: Error): void;
};

/**
 * One call to an upstream, made with undici's `dispatch`: it is the call's handler and, once the
 * status line has come, its response. The body is handed to a sink chunk by chunk (or gathered
 * whole), so a relay costs no Readable stream and no async iterator per response: measured on
 * Node 20 with the bench's 22-event stream at 500 req/s, a pass-through proxy built this way used
 * about a fifth less CPU than one built on `request()` and `for await`.
 *
 * With `signal`, the call stops when it emits `abort`, before or after the response started;
 * the body then fails with undici's `RequestAbortedError` (code `UND_ERR_ABORTED`), as
 * `request()` does. `deadline` (the gateway's shutdown) stops it the same way.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: UpstreamHeaders = {};
  /** Whether the request went to the upstream (it was not stopped while it waited for a socket). */
  sent = false;
  /** Settles when the status line and headers have come, or the call failed before that. */
  readonly started: Promise<UpstreamCall>;

  private controller: Dispatcher.DispatchController | null = null;
  private resolveStart!: (call: UpstreamCall) => void;
  private rejectStart!: (err: Error) => void;
  private responded = false;
  private sink: BodySink | null = null;
  /** Chunks that came before a sink was attached, or while a paused sink waits. */
  private waiting: Buffer[] = [];
  /** Whether the sink asked to wait: chunks that still come (already parsed) wait too. */
  private paused = false;
  private ended = false;
  private failure: Error | null = null;
  /** Whether the sink has been told of the end or the failure (it is told once). */
  private told = false;
  private readonly onAbort = (): void => {
    this.controller?.abort(new errors.RequestAbortedError());
  };

  constructor(
    private readonly signal?: AbortSource,
    private readonly deadline?: AbortSource,
  ) {
    this.started = new Promise<UpstreamCall>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    signal?.once('abort', this.onAbort);
    deadline?.once('abort', this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted || this.deadline?.aborted) {
      controller.abort(new errors.RequestAbortedError());
    } else {
      this.sent = true;
    }
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: UpstreamHeaders,
  ): void {
    // An informational answer (103 Early Hints) comes before the real one: it is not relayed.
    if (statusCode < 200) return;
    this.statusCode = statusCode;
    this.headers = headers;
    this.responded = true;
    this.resolveStart(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.sink && !this.paused && this.waiting.length === 0) {
      if (!this.sink.onData(chunk)) {
        this.paused = true;
        controller.pause();
      }
    } else {
      this.waiting.push(chunk);
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    this.detach();
    if (this.sink && !this.paused && this.waiting.length === 0) this.tell();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.detach();
    if (!this.responded) {
      this.rejectStart(err);
      return;
    }
    this.failure = err;
    // A failure ends the body at once: chunks still waiting for a paused sink are not delivered.
    this.waiting = [];
    if (this.sink) this.tell();
  }

  /** Delivers the body to `sink`, starting with what has already come. */
  pipe(sink: BodySink): void {
    this.sink = sink;
    this.flush();
  }

  /** Lets a paused sink take more. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.flush()) this.controller?.resume();
  }

  /** Stops the call; its body fails with `err` (or undici's abort error). */
  abort(err?: Error): void {
    this.controller?.abort(err ?? new errors.RequestAbortedError());
  }

  /** The whole body, once it has ended. */
  bytes(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      this.pipe({
        onData: (chunk) => {
          chunks.push(chunk);
          length += chunk.length;
          return true;
        },
        onEnd: () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)),
        onError: reject,
      });
    });
  }

  /**
   * Hands waiting chunks to the sink until it pauses; then the end or the failure if the body
   * has finished. Returns whether the sink is still taking chunks.
   */
  private flush(): boolean {
    const sink = this.sink;
    if (!sink) return false;
    while (this.waiting.length > 0) {
      const chunk = this.waiting.shift()!;
      if (!sink.onData(chunk)) {
        this.paused = true;
        this.controller?.pause();
        return false;
      }
    }
    if (this.failure || this.ended) {
      this.tell();
      return false;
    }
    return true;
  }

  /** Tells the sink, once, that the body has ended or failed. */
  private tell(): void {
    if (this.told || !this.sink) return;
    this.told = true;
    if (this.failure) this.sink.onError(this.failure);
    else this.sink.onEnd();
  }

  private detach(): void {
    this.signal?.off('abort', this.onAbort);
    this.deadline?.off('abort', this.onAbort);
  }
}
