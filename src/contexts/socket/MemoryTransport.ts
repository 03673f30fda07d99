/**
 * An in-memory transport: listeners and connections inside one process, built only on Effect
 * primitives (no timers, no promises, no I/O), so the socket context can run under Effect's scheduler
 * and under a deterministic runtime. Each direction of a connection is a bounded pipe of chunks: a
 * writer waits while the pipe holds `capacityBytes` or more (backpressure), a reader takes every chunk
 * at once. Closing one end lets the other end read what was already written, then fail.
 *
 * For the proofs (checker/scenarios/socket*.ts) a network can also cut reads into pieces of a chosen
 * size (split and coalesced reads, as TCP gives them), drop every connection (a failing network), stop
 * the reading at one end (a peer that does not read), and report each closed end. All of it is
 * deterministic: nothing here takes a timer or a random number.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import { ConnectFailed, ConnectionClosed, ListenFailed } from "../../model/SocketErrors.ts"
import { AcceptQueue } from "./AcceptQueue.ts"
import { formatAddress } from "./SocketAddress.ts"
import { type Connection, type Listener, Transport, type TransportShape } from "./Transport.ts"

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

/** Bytes a pipe holds before writers wait, unless configured. @category constants */
export const DefaultPipeCapacityBytes = 1 << 20

/**
 * Options of a `MemoryNetwork` beyond the pipe capacity; all for tests.
 *
 * @category models
 */
export interface MemoryNetworkOptions {
  /**
   * Each read hands out at most this many bytes, as one chunk cut from and joined across the writes
   * (split and coalesced reads); by default a read hands out every chunk written since the last one,
   * as written.
   */
  readonly maxReadBytes?: number | undefined
  /**
   * Whether connections offer `writeNow` (written at once, outside the writer's fiber), as node:net's
   * do; true by default. With false every write goes through `write`, as before `writeNow` existed.
   */
  readonly directWrites?: boolean | undefined
  /** Called when an end of connection number `connection` is closed, after what closing it does. */
  readonly onClose?: ((connection: number, end: ConnectionEnd) => void) | undefined
}

/** Which end of a connection: the one `connect` returned, or the one `accept` did. @category models */
export type ConnectionEnd = "client" | "server"

/** One direction of a connection. */
class Pipe {
  private readonly capacityBytes: number
  /** The most a read hands out now (the network's setting, which may change between reads). */
  private readonly readBytes: () => number
  /** Whether the reading end has stopped reading (a peer that does not read): reads wait as if nothing came. */
  private readonly stalled: () => boolean
  private chunks: Array<Uint8Array> = []
  private bytes = 0
  private reader: Resume<ReadonlyArray<Uint8Array>, ConnectionClosed> | undefined = undefined
  private readonly writers: Array<{ readonly resume: Resume<void, ConnectionClosed> }> = []
  /** Set when the writing end closed: reads drain, then fail. */
  private ended: ConnectionClosed | undefined = undefined
  /** Set when the reading end closed: writes fail at once. */
  private broken: ConnectionClosed | undefined = undefined

  private readonly onCut: () => void

  constructor(capacityBytes: number, readBytes: () => number, stalled: () => boolean, onCut: () => void) {
    this.capacityBytes = capacityBytes
    this.readBytes = readBytes
    this.stalled = stalled
    this.onCut = onCut
  }

  // Every check happens where the wait is registered: a fiber can be preempted between two Effect
  // operations, and a check made one operation earlier could miss the chunk written in between.
  read: Effect.Effect<ReadonlyArray<Uint8Array>, ConnectionClosed> = Effect.callback((resume) => {
    if (this.broken !== undefined) return resume(Effect.fail(this.broken))
    // A reader that stopped reading sees neither data nor the end (a closed socket it does not read).
    if (!this.stalled()) {
      if (this.chunks.length > 0) return resume(Effect.succeed(this.take()))
      if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    }
    this.reader = resume
    return Effect.sync(() => {
      if (this.reader === resume) this.reader = undefined
    })
  })

  write(bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> {
    return Effect.suspend(() => this.writeNow(bytes) ?? Effect.void)
  }

  /** `Connection.writeNow`: the bytes are in the pipe; what is left is the wait for room, if any. */
  writeNow(bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> | undefined {
    const closed = this.broken ?? this.ended
    if (closed !== undefined) return Effect.fail(closed)
    this.chunks.push(bytes)
    this.bytes += bytes.length
    const reader = this.reader
    if (reader !== undefined && !this.stalled()) {
      this.reader = undefined
      reader(Effect.succeed(this.take()))
    }
    if (this.bytes < this.capacityBytes) return undefined
    return this.awaitRoom
  }

  private readonly awaitRoom: Effect.Effect<void, ConnectionClosed> = Effect.callback<void, ConnectionClosed>(
    (resume) => {
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
    }
  )

  /** The writing end closed: called once, by that end's `close`, which runs once. */
  end(closed: ConnectionClosed): void {
    this.ended = closed
    this.failWriters(closed)
    const reader = this.reader
    if (reader !== undefined && this.chunks.length === 0 && !this.stalled()) {
      this.reader = undefined
      reader(Effect.fail(closed))
    }
  }

  /** The reading end reads again: a reader waiting through the stall gets what came meanwhile. */
  unstall(): void {
    const reader = this.reader
    if (reader === undefined || this.stalled()) return
    if (this.chunks.length > 0) {
      this.reader = undefined
      reader(Effect.succeed(this.take()))
    } else if (this.ended !== undefined) {
      this.reader = undefined
      reader(Effect.fail(this.ended))
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
    const maxReadBytes = this.readBytes()
    if (this.bytes > maxReadBytes) {
      this.onCut()
      return [this.takeBytes(maxReadBytes)]
    }
    const chunks = this.chunks
    this.chunks = []
    this.bytes = 0
    for (const writer of this.writers.splice(0)) writer.resume(Effect.void)
    // Joined into one chunk when reads are cut to a size: a read then coalesces the writes it spans.
    return maxReadBytes === Number.POSITIVE_INFINITY || chunks.length < 2 ? chunks : [concat(chunks)]
  }

  /** The first `n` bytes buffered (n < bytes), as one chunk; the rest stays, the first chunk cut. */
  private takeBytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const chunk = this.chunks[0] as Uint8Array
      const part = Math.min(chunk.length, n - filled)
      out.set(chunk.subarray(0, part), filled)
      filled += part
      if (part === chunk.length) this.chunks.shift()
      else this.chunks[0] = chunk.subarray(part)
    }
    this.bytes -= n
    if (this.bytes < this.capacityBytes) {
      for (const writer of this.writers.splice(0)) writer.resume(Effect.void)
    }
    return out
  }

  private failWriters(closed: ConnectionClosed): void {
    for (const writer of this.writers.splice(0)) writer.resume(Effect.fail(closed))
  }
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

const endOf = (peer: string, inbound: Pipe, outbound: Pipe, onClose: () => void, directWrites: boolean): Connection => {
  let closed = false
  const close = Effect.sync(() => {
    if (closed) return
    closed = true
    outbound.end(new ConnectionClosed({ peer: "memory", detail: "the peer closed the connection" }))
    inbound.break(new ConnectionClosed({ peer, detail: "closed here" }))
    onClose()
  })
  return {
    peer,
    read: inbound.read,
    write: (bytes) => outbound.write(bytes),
    writeNow: directWrites ? (bytes) => outbound.writeNow(bytes) : undefined,
    close
  }
}

const positive = (n: number | undefined): number | undefined =>
  n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined

/**
 * A set of in-memory addresses: listeners registered by address text, and connections between them.
 *
 * @category models
 */
export class MemoryNetwork {
  private readonly listeners = new Map<string, AcceptQueue>()
  private connections = 0
  /** Both directions of every connection with an end still open, for the faults below. */
  private readonly pipes = new Set<{ readonly toServer: Pipe; readonly toClient: Pipe }>()
  private readonly stalled = { client: false, server: false }
  private readonly options: MemoryNetworkOptions
  private maxReadBytes: number
  private cut = 0
  readonly capacityBytes: number

  constructor(capacityBytes: number = DefaultPipeCapacityBytes, options: MemoryNetworkOptions = {}) {
    this.capacityBytes = capacityBytes
    this.options = options
    this.maxReadBytes = positive(options.maxReadBytes) ?? Number.POSITIVE_INFINITY
  }

  /** Reads that handed out less than was waiting (what split and coalesced reads did, for tests to measure). */
  get cutReads(): number {
    return this.cut
  }

  /** Connections with an end still open. */
  get openConnections(): number {
    return this.pipes.size
  }

  /**
   * Drops every connection, as a failing network does: what is in flight is lost, and reads and writes
   * at both ends fail from now on (each end still has to be closed by its owner).
   */
  drop(): void {
    for (const { toServer, toClient } of this.pipes) {
      toServer.break(new ConnectionClosed({ peer: "memory", detail: "the network dropped the connection" }))
      toClient.break(new ConnectionClosed({ peer: "memory", detail: "the network dropped the connection" }))
    }
  }

  /**
   * Stops (or restarts) the reading at every `end` of a connection, present and future: a peer that
   * does not read. Writers towards it fill the pipe and then wait (backpressure); a closed end still
   * fails its reads at once.
   */
  setStalled(end: ConnectionEnd, stalled: boolean): void {
    this.stalled[end] = stalled
    if (stalled) return
    for (const pipes of this.pipes) (end === "server" ? pipes.toServer : pipes.toClient).unstall()
  }

  /**
   * Cuts every read from now on, on every connection, to at most `bytes` (split and coalesced reads,
   * as `maxReadBytes` does from the start); `undefined` or 0 hands out what was written, as written.
   */
  setMaxReadBytes(bytes: number | undefined): void {
    this.maxReadBytes = positive(bytes) ?? Number.POSITIVE_INFINITY
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
          const queue = new AcceptQueue()
          this.listeners.set(text, queue)
          const listener: Listener = {
            address,
            accept: queue.accept,
            close: Effect.suspend(() => {
              if (queue.isClosed) return Effect.void
              // `listen` refuses the address while this listener holds it, so it still maps to this one.
              this.listeners.delete(text)
              const never = queue.close(new ConnectionClosed({ peer: text, detail: "the listener is closed" }))
              return Effect.forEach(never, (c) => c.close, { discard: true })
            })
          }
          return Effect.succeed(listener)
        }),
        (listener) => listener.close
      ),
    connect: (address) =>
      Effect.suspend(() => {
        const text = formatAddress(address)
        const queue = this.listeners.get(text)
        if (queue === undefined) {
          return Effect.fail(new ConnectFailed({ address: text, code: "ECONNREFUSED", detail: "nobody listens" }))
        }
        const n = ++this.connections
        const readBytes = () => this.maxReadBytes
        const onCut = () => {
          this.cut++
        }
        const toServer = new Pipe(this.capacityBytes, readBytes, () => this.stalled.server, onCut)
        const toClient = new Pipe(this.capacityBytes, readBytes, () => this.stalled.client, onCut)
        const pipes = { toServer, toClient }
        this.pipes.add(pipes)
        let open = 2
        const closed = (end: ConnectionEnd) => () => {
          if (--open === 0) this.pipes.delete(pipes)
          this.options.onClose?.(n, end)
        }
        const direct = this.options.directWrites !== false
        const serverEnd = endOf(`memory client #${n}`, toServer, toClient, closed("server"), direct)
        const clientEnd = endOf(text, toClient, toServer, closed("client"), direct)
        queue.arrived(serverEnd)
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
