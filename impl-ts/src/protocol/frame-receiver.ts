/**
 * The control frame rules of an open connection (PING/PONG/CLOSE, ignorable
 * types, no data after CLOSE) in {@link dispatchControl}, which the open
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

/** What control frames mean to an open connection, and how it refuses data frames (after the peer's CLOSE). */
export interface ControlTarget extends ControlHandlers {
  /** Data frames are a violation from now on (E_PROTOCOL_ERROR on their header, with `message`). */
  refuseData(message: string): void;
}

/**
 * Interprets one control frame payload (type byte + body) for `target`:
 * PING/PONG/CLOSE, ACK when `acks` (feature `resume`), ignorable unknown
 * types, a second CLOSE (`closeReceived`: the peer's CLOSE came before) as
 * E_PROTOCOL_ERROR, and after the peer's CLOSE data frames refused on their
 * header. Throws a coded {@link ProtocolError}. Used by the open connection
 * of every link (native backends too) and by {@link ControlDispatcher}.
 */
export function dispatchControl(payload: Buffer, target: ControlTarget, acks: boolean, closeReceived: boolean): void {
  const event = parseControlPayload(payload, acks);
  if (event === null) return;
  switch (event.type) {
    case "ack":
      target.onAck!(event.request, event.count);
      return;
    case "ping":
      target.onPing(event.body);
      return;
    case "pong":
      target.onPong(event.body);
      return;
    case "close":
      if (closeReceived) throw new ProtocolError("E_PROTOCOL_ERROR", "second CLOSE frame");
      // After the peer's CLOSE a data frame is a violation, caught on its header.
      target.refuseData("data frame after CLOSE");
      target.onClose(event.reason === undefined ? { code: event.code } : { code: event.code, reason: event.reason });
      return;
  }
}

/** {@link dispatchControl} with its own record of the peer's CLOSE, for a caller that keeps none. */
export class ControlDispatcher implements ControlTarget {
  private peerClosed = false;

  constructor(
    private readonly handlers: ControlHandlers,
    private readonly refuse: (message: string) => void,
  ) {}

  /** True once the peer's CLOSE arrived. */
  get closeReceived(): boolean {
    return this.peerClosed;
  }

  /** Handles one control payload (type byte + body); throws a coded {@link ProtocolError}. */
  dispatch(payload: Buffer): void {
    dispatchControl(payload, this, this.handlers.onAck !== undefined, this.peerClosed);
  }

  /** {@inheritDoc ControlTarget.refuseData} */
  refuseData(message: string): void {
    this.peerClosed = true;
    this.refuse(message);
  }
  /** Passes a PING body on. */
  onPing(body: Buffer): void {
    this.handlers.onPing(body);
  }
  /** Passes a PONG body on. */
  onPong(body: Buffer): void {
    this.handlers.onPong(body);
  }
  /** Passes the peer's CLOSE on. */
  onClose(info: CloseInfo): void {
    this.handlers.onClose(info);
  }
  /** Passes an ACK on. */
  onAck(request: boolean, count: number): void {
    this.handlers.onAck!(request, count);
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
