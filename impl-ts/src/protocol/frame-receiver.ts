/**
 * The control frame rules of an open connection (PING/PONG/CLOSE, ignorable
 * types, no data after CLOSE) in {@link ControlDispatcher}, which the open
 * connection of every link applies, and {@link FrameReceiver}: a
 * {@link FrameDecoder} joined to those rules, for code that has bytes in hand
 * rather than a connection (the vector runner, tools, benchmarks).
 * @packageDocumentation
 */
import { Feature } from "./constants.js";
import { parseControlPayload, type CloseInfo } from "./control.js";
import { ProtocolError } from "./errors.js";
import { FrameDecoder, type FrameSink } from "./frame-decoder.js";

/** What an open connection hears from its peer. */
export interface ReceiverHandlers {
  onMessage(payload: Buffer): void;
  onPing(body: Buffer): void;
  onPong(body: Buffer): void;
  onClose(info: CloseInfo): void;
  /** An ACK (only with `resume` negotiated; without this handler an ACK is E_INVALID_CONTROL_FRAME). */
  onAck?(request: boolean, count: number): void;
}

/** Options of {@link FrameReceiver}. */
export interface ReceiverOptions {
  /** This side's receive maximum for data frames. */
  maxFrameLength: number;
  /** Negotiated features; `control` enables control frames. */
  features: readonly string[];
}

/** What control frames mean to an open connection (QWH-CTRL, PING, CLOSE rules). */
export type ControlHandlers = Pick<ReceiverHandlers, "onPing" | "onPong" | "onClose" | "onAck">;

/**
 * Interprets control frame payloads: PING/PONG/CLOSE, ignorable unknown
 * types, a second CLOSE as E_PROTOCOL_ERROR, and, after the peer's CLOSE,
 * data frames refused on their header (through `refuseData`). Shared by the
 * JS receive path and any other frame source (native backends).
 */
export class ControlDispatcher {
  private peerClosed = false;

  constructor(
    private readonly handlers: ControlHandlers,
    private readonly refuseData: (message: string) => void,
  ) {}

  /** True once the peer's CLOSE arrived. */
  get closeReceived(): boolean {
    return this.peerClosed;
  }

  /** Handles one control payload (type byte + body); throws a coded {@link ProtocolError}. */
  dispatch(payload: Buffer): void {
    const event = parseControlPayload(payload, this.handlers.onAck !== undefined);
    if (event === null) return;
    switch (event.type) {
      case "ack":
        this.handlers.onAck!(event.request, event.count);
        return;
      case "ping":
        this.handlers.onPing(event.body);
        return;
      case "pong":
        this.handlers.onPong(event.body);
        return;
      case "close":
        if (this.peerClosed) throw new ProtocolError("E_PROTOCOL_ERROR", "second CLOSE frame");
        this.peerClosed = true;
        // After the peer's CLOSE a data frame is a violation, caught on its header.
        this.refuseData("data frame after CLOSE");
        this.handlers.onClose(event.reason === undefined ? { code: event.code } : { code: event.code, reason: event.reason });
        return;
    }
  }
}

/** Frame decoding with the control-frame rules of an open QWH/1 connection, fed bytes by its caller. */
export class FrameReceiver {
  readonly decoder: FrameDecoder;
  private readonly control: ControlDispatcher;

  constructor(handlers: ReceiverHandlers, options: ReceiverOptions) {
    this.control = new ControlDispatcher(handlers, (message) => this.decoder.refuseDataFrames(message));
    const sink: FrameSink = {
      onMessage: handlers.onMessage,
      onControl: (payload) => this.control.dispatch(payload),
    };
    this.decoder = new FrameDecoder(sink, {
      maxFrameLength: options.maxFrameLength,
      control: options.features.includes(Feature.CONTROL),
    });
  }

  /** True once the peer's CLOSE arrived. */
  get closeReceived(): boolean {
    return this.control.closeReceived;
  }

  /** Feeds bytes; throws a coded {@link ProtocolError} on a violation. */
  push(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  /** The stream ended; throws E_TRUNCATED_FRAME when it ended inside a frame. */
  end(): void {
    this.decoder.end();
  }
}
