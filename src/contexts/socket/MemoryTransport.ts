/**
 * An in-memory transport: listeners and connections inside one process, built only on Effect
 * primitives (no timers, no promises, no I/O), so the socket context can run under Effect's scheduler
 * and under a deterministic runtime. Each direction of a connection is a bounded pipe of chunks: a
 * writer waits while the pipe holds `capacityBytes` or more (backpressure), a reader takes every chunk
 * at once. Closing one end lets the other end read what was already written, then fail.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { ConnectFailed, ConnectionClosed, ListenFailed } from "../../model/SocketErrors.ts"
import { formatAddress } from "./SocketAddress.ts"
import { type Connection, type Listener, Transport, type TransportShape } from "./Transport.ts"

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

/** Bytes a pipe holds before writers wait, unless configured. @category constants */
export const DefaultPipeCapacityBytes = 1 << 20

/** One direction of a connection. */
class Pipe {
  private readonly capacityBytes: number
  private chunks: Array<Uint8Array> = []
  private bytes = 0
  private reader: Resume<ReadonlyArray<Uint8Array>, ConnectionClosed> | undefined = undefined
  private readonly writers: Array<{ readonly resume: Resume<void, ConnectionClosed> }> = []
  /** Set when the writing end closed: reads drain, then fail. */
  private ended: ConnectionClosed | undefined = undefined
  /** Set when the reading end closed: writes fail at once. */
  private broken: ConnectionClosed | undefined = undefined

  constructor(capacityBytes: number) {
    this.capacityBytes = capacityBytes
  }

  // Every check happens where the wait is registered: a fiber can be preempted between two Effect
  // operations, and a check made one operation earlier could miss the chunk written in between.
  read: Effect.Effect<ReadonlyArray<Uint8Array>, ConnectionClosed> = Effect.callback((resume) => {
    if (this.broken !== undefined) return resume(Effect.fail(this.broken))
    if (this.chunks.length > 0) return resume(Effect.succeed(this.take()))
    if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    this.reader = resume
    return Effect.sync(() => {
      if (this.reader === resume) this.reader = undefined
    })
  })

  write(bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> {
    return Effect.suspend(() => {
      const closed = this.broken ?? this.ended
      if (closed !== undefined) return Effect.fail(closed)
      this.chunks.push(bytes)
      this.bytes += bytes.length
      const reader = this.reader
      if (reader !== undefined) {
        this.reader = undefined
        reader(Effect.succeed(this.take()))
      }
      if (this.bytes < this.capacityBytes) return Effect.void
      return Effect.callback<void, ConnectionClosed>((resume) => {
        // Taken, or closed, since the write: see `read`.
        if (this.bytes < this.capacityBytes) return resume(Effect.void)
        const closed = this.broken ?? this.ended
        if (closed !== undefined) return resume(Effect.fail(closed))
        const writer = { resume }
        this.writers.push(writer)
        return Effect.sync(() => {
          const i = this.writers.indexOf(writer)
          if (i >= 0) this.writers.splice(i, 1)
        })
      })
    })
  }

  /** The writing end closed. */
  end(closed: ConnectionClosed): void {
    if (this.ended !== undefined) return
    this.ended = closed
    this.failWriters(closed)
    const reader = this.reader
    if (reader !== undefined && this.chunks.length === 0) {
      this.reader = undefined
      reader(Effect.fail(closed))
    }
  }

  /** The reading end closed: what is buffered is dropped, writers fail. */
  break(closed: ConnectionClosed): void {
    if (this.broken !== undefined) return
    this.broken = closed
    this.chunks = []
    this.bytes = 0
    this.failWriters(closed)
    const reader = this.reader
    this.reader = undefined
    reader?.(Effect.fail(closed))
  }

  private take(): ReadonlyArray<Uint8Array> {
    const chunks = this.chunks
    this.chunks = []
    this.bytes = 0
    for (const writer of this.writers.splice(0)) writer.resume(Effect.void)
    return chunks
  }

  private failWriters(closed: ConnectionClosed): void {
    for (const writer of this.writers.splice(0)) writer.resume(Effect.fail(closed))
  }
}

const endOf = (peer: string, inbound: Pipe, outbound: Pipe): Connection => {
  const close = Effect.sync(() => {
    outbound.end(new ConnectionClosed({ peer: "memory", detail: "the peer closed the connection" }))
    inbound.break(new ConnectionClosed({ peer, detail: "closed here" }))
  })
  return { peer, read: inbound.read, write: (bytes) => outbound.write(bytes), close }
}

interface MemoryListener {
  readonly pending: Array<Connection>
  acceptor: Resume<Connection, ConnectionClosed> | undefined
}

/**
 * A set of in-memory addresses: listeners registered by address text, and connections between them.
 *
 * @category models
 */
export class MemoryNetwork {
  private readonly listeners = new Map<string, MemoryListener>()
  private connections = 0
  readonly capacityBytes: number

  constructor(capacityBytes: number = DefaultPipeCapacityBytes) {
    this.capacityBytes = capacityBytes
  }

  /** The network's operations as a transport. */
  readonly transport: TransportShape = {
    listen: (address) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const text = formatAddress(address)
          if (this.listeners.has(text)) {
            return Effect.fail(new ListenFailed({ address: text, reason: "InUse", detail: "a server answers on it" }))
          }
          const state: MemoryListener = { pending: [], acceptor: undefined }
          this.listeners.set(text, state)
          let closed: ConnectionClosed | undefined
          const accept: Effect.Effect<Connection, ConnectionClosed> = Effect.callback((resume) => {
            if (state.pending.length > 0) return resume(takeWaiting)
            if (closed !== undefined) return resume(Effect.fail(closed))
            state.acceptor = resume
            return Effect.sync(() => {
              if (state.acceptor === resume) state.acceptor = undefined
            })
          })
          // A waiting connection is taken by the `sync` that hands it to the caller, with no operation
          // in between where an interruption could drop it: until then it waits here (`close` closes it).
          const takeWaiting: Effect.Effect<Connection, ConnectionClosed> = Effect.suspend(() =>
            state.pending.length > 0 ? Effect.sync(() => state.pending.shift() as Connection) : accept
          )
          const listener: Listener = {
            address,
            accept,
            close: Effect.suspend(() => {
              if (closed !== undefined) return Effect.void
              closed = new ConnectionClosed({ peer: text, detail: "the listener is closed" })
              if (this.listeners.get(text) === state) this.listeners.delete(text)
              const acceptor = state.acceptor
              state.acceptor = undefined
              acceptor?.(Effect.fail(closed))
              return Effect.forEach(state.pending.splice(0), (c) => c.close, { discard: true })
            })
          }
          return Effect.succeed(listener)
        }),
        (listener) => listener.close
      ),
    connect: (address) =>
      Effect.suspend(() => {
        const text = formatAddress(address)
        const state = this.listeners.get(text)
        if (state === undefined) {
          return Effect.fail(new ConnectFailed({ address: text, code: "ECONNREFUSED", detail: "nobody listens" }))
        }
        const n = ++this.connections
        const toServer = new Pipe(this.capacityBytes)
        const toClient = new Pipe(this.capacityBytes)
        const serverEnd = endOf(`memory client #${n}`, toServer, toClient)
        const clientEnd = endOf(text, toClient, toServer)
        const acceptor = state.acceptor
        state.acceptor = undefined
        if (acceptor === undefined) state.pending.push(serverEnd)
        else acceptor(Effect.succeed(serverEnd))
        return Effect.succeed(clientEnd)
      })
  }
}

/**
 * A layer with a fresh in-memory network as the transport.
 *
 * @category layers
 */
export const MemoryTransport: Layer.Layer<Transport> = Layer.sync(Transport, () => new MemoryNetwork().transport)
