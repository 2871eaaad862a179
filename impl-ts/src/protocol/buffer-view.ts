/**
 * Zero-copy payload views. `Buffer#subarray` looks up the species
 * constructor on every call, which costs about as much as the rest of
 * decoding a small frame. A Buffer is a Uint8Array whose prototype is
 * `Buffer.prototype` (Node's own FastBuffer is exactly that), so a
 * Uint8Array subclass with that prototype gives the same object, a real
 * Buffer for every purpose (`Buffer.isBuffer`, methods, `instanceof`),
 * about twice as fast.
 * @packageDocumentation
 */
class BufferView extends Uint8Array {
  // An explicit constructor: V8 (Node 20) runs the implicit one through a
  // spread of `arguments`, which costs a third of the view's price.
  constructor(buffer: ArrayBuffer, byteOffset: number, length: number) {
    super(buffer, byteOffset, length);
  }
}
Object.setPrototypeOf(BufferView.prototype, Buffer.prototype);
// As on Node's FastBuffer: `constructor` is Buffer, so subarray/slice of a view make ordinary Buffers.
Object.defineProperty(BufferView.prototype, "constructor", { value: Buffer, writable: true, configurable: true, enumerable: false });

/** A Buffer viewing bytes `start` to `end` of `chunk` (no copy). */
export function viewOf(chunk: Buffer, start: number, end: number): Buffer {
  return new BufferView(chunk.buffer as ArrayBuffer, chunk.byteOffset + start, end - start) as unknown as Buffer;
}

/**
 * A Buffer viewing `length` bytes of `arrayBuffer` from `byteOffset`. Loops
 * that cut many views from one chunk read `chunk.buffer` and `chunk.byteOffset`
 * once: on a Buffer those getters cost more than the view itself.
 */
export function viewAt(arrayBuffer: ArrayBuffer, byteOffset: number, length: number): Buffer {
  return new BufferView(arrayBuffer, byteOffset, length) as unknown as Buffer;
}
