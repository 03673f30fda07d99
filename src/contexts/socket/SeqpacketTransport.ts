/**
 * The transport over SOCK_SEQPACKET unix sockets (Go beehive's `unixpacket`, R-SOCK-31), through the
 * optional package `node-unix-socket` (prebuilt binaries in its registry packages). It is loaded when
 * first used, never at import: without it (not installed, or no binary for this platform) listening
 * fails with `ListenFailed` `Unavailable` and connecting with `ConnectFailed` `ENOTSUP`, both naming
 * the package.
 *
 * - Each read hands over the packets that arrived, one chunk per packet; a packet larger than
 *   `MaxPacketBytes` arrives cut to `MaxPacketBytes + 1` bytes, so the decoder refuses it whole.
 * - Each write is one packet; it completes once the system took it.
 * - The peer's end ends this side too (the package keeps a connection half open otherwise), so a
 *   close at either end completes once the other has taken the end.
 * - The package has no way to pause reading, so a peer that writes faster than this process reads is
 *   not pushed back by the socket: a connection holds at most `MaxUnreadPacketBytes` bytes and
 *   `MaxUnreadPackets` packets that were not read, and past either it ends with `ConnectionClosed`,
 *   dropping what it held (R-SOCK-30), instead of growing with what the peer writes. Its reading does
 *   not yield while packets keep arriving, so packets arriving faster than it takes them off count as
 *   unread even while the connection is read; past the bound its reading is stopped at once.
 *
 * @since 0.3.0
 * @internal
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import { Deferred, Duration, Effect, Exit, Result } from "effect"
import { ConnectFailed, ConnectionClosed, ListenFailed } from "../../model/SocketErrors.ts"
import { AcceptQueue } from "./AcceptQueue.ts"
import type { Connection, Listener } from "./Transport.ts"
import { errorText, lockUnixPath, prepareUnixPath, withPrivateUmask } from "./UnixPath.ts"

/** The optional package this transport needs. @category constants */
export const SeqpacketPackage = "node-unix-socket"

/**
 * The largest packet written or read whole, in bytes: below what Linux takes in one SOCK_SEQPACKET
 * write with its default socket buffer (`net.core.wmem_default`, 212,992 bytes; larger writes fail
 * with EMSGSIZE).
 *
 * @category constants
 */
export const MaxPacketBytes = 192 * 1024

/**
 * The most bytes of packets a connection holds unread (the inbound backlog's default byte bound,
 * R-SOCK-17): past it the connection ends.
 *
 * @category constants
 */
export const MaxUnreadPacketBytes = 8 * 1024 * 1024

/**
 * The most packets a connection holds unread (the inbound backlog's default message bound, R-SOCK-17):
 * past it the connection ends.
 *
 * @category constants
 */
export const MaxUnreadPackets = 4096

/** How long `close` waits for written packets to be flushed before it destroys the socket. */
const closeFlushTimeout = Duration.seconds(2)

interface SeqpacketSocketApi {
  on(event: "data", listener: (data: Buffer) => void): void
  on(event: "end" | "close" | "connect", listener: () => void): void
  on(event: "error", listener: (error: Error) => void): void
  once(event: "close" | "connect", listener: () => void): void
  connect(path: string): void
  write(buffer: Buffer, offset?: number, length?: number, cb?: () => void): void
  end(cb?: () => void): void
  destroy(): void
  /** Set by the package once it has closed the descriptor (its own `destroy`, or both ends done). */
  readonly destroyed: boolean
  setInternalReadBufferSize(size: number): void
}

interface SeqpacketServerApi {
  on(event: "connection", listener: (socket: SeqpacketSocketApi) => void): void
  on(event: "error", listener: (error: Error) => void): void
  listen(path: string, backlog?: number): void
  close(): void
}

interface SeqpacketModule {
  readonly SeqpacketServer: new () => SeqpacketServerApi
  readonly SeqpacketSocket: new () => SeqpacketSocketApi
}

let loaded: Result.Result<SeqpacketModule, string> | undefined

/** The package, loaded once; the reason as text when it cannot be. */
const load = (): Result.Result<SeqpacketModule, string> => {
  if (loaded === undefined) {
    loaded = Result.try({
      try: () => createRequire(import.meta.url)(SeqpacketPackage) as SeqpacketModule,
      // Node's "Cannot find module" goes on with its require stack: its first line says what failed.
      catch: (error) =>
        `unixpacket needs the optional package ${SeqpacketPackage} (npm install ${SeqpacketPackage}): ${errorText(error).split("\n")[0]}`
    })
  }
  return loaded
}

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

class SeqpacketConnection implements Connection {
  readonly peer: string
  private readonly socket: SeqpacketSocketApi
  private packets: Array<Uint8Array> = []
  private unreadBytes = 0
  private ended: ConnectionClosed | undefined = undefined
  private reader: Resume<ReadonlyArray<Uint8Array>, ConnectionClosed> | undefined = undefined
  private readonly writers = new Set<Resume<void, ConnectionClosed>>()
  private destroyed = false
  private readonly overran = Deferred.makeUnsafe<ConnectionClosed>()

  constructor(socket: SeqpacketSocketApi, peer: string) {
    this.socket = socket
    this.peer = peer
    socket.setInternalReadBufferSize(MaxPacketBytes + 1)
    socket.on("data", (packet) => {
      if (this.ended !== undefined) return
      this.packets.push(packet)
      this.unreadBytes += packet.length
      if (this.unreadBytes > MaxUnreadPacketBytes || this.packets.length > MaxUnreadPackets) return this.overflow()
      const reader = this.reader
      if (reader !== undefined) {
        this.reader = undefined
        reader(Effect.succeed(this.takePackets()))
      }
    })
    // The peer's end is this end's too (as a stream socket that does not allow half-open connections):
    // nothing more is written, and the close on both sides completes without waiting for this side's.
    socket.on("end", () => {
      this.end("the peer closed the connection")
      // The package closes the descriptor itself once both ends are done; its `end` after that would shut
      // down whatever socket now has that descriptor number (another connection's: "Broken pipe").
      if (!socket.destroyed) Result.try(() => socket.end())
    })
    socket.on("error", (error) => this.end(errorText(error)))
    socket.on("close", () => {
      this.destroyed = true
      this.end("closed")
    })
  }

  readonly overrun: Effect.Effect<ConnectionClosed> = Deferred.await(this.overran)

  readonly read: Effect.Effect<ReadonlyArray<Uint8Array>, ConnectionClosed> = Effect.callback((resume) => {
    if (this.packets.length > 0) return resume(Effect.succeed(this.takePackets()))
    if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    this.reader = resume
    return Effect.sync(() => {
      if (this.reader === resume) this.reader = undefined
    })
  })

  readonly write = (bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> =>
    Effect.callback<void, ConnectionClosed>((resume) => {
      if (this.ended !== undefined) return resume(Effect.fail(this.ended))
      this.writers.add(resume)
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      try {
        this.socket.write(buffer, 0, buffer.length, () => {
          if (this.writers.delete(resume)) resume(Effect.void)
        })
      } catch (error) {
        this.writers.delete(resume)
        return resume(Effect.fail(this.end(errorText(error))))
      }
      return Effect.sync(() => {
        this.writers.delete(resume)
      })
    })

  // The `ensuring` is in place before anything is done: an interrupted close still destroys the socket.
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.end("closed here")
    if (this.destroyed || this.socket.destroyed) return Effect.void
    return Effect.callback<void>((resume) => {
      this.socket.once("close", () => resume(Effect.void))
      try {
        this.socket.end()
      } catch {
        resume(Effect.void)
      }
    }).pipe(Effect.timeoutOrElse({ duration: closeFlushTimeout, orElse: () => Effect.void }))
  }).pipe(
    Effect.ensuring(
      Effect.sync(() => {
        if (this.destroyed) return
        this.destroyed = true
        this.socket.destroy()
      })
    )
  )

  private takePackets(): ReadonlyArray<Uint8Array> {
    const packets = this.packets
    this.packets = []
    this.unreadBytes = 0
    return packets
  }

  // What was held is dropped as a connection ended from this side drops what it read (R-SOCK-11), and
  // the socket is destroyed: nothing more is read into memory. Not from inside its `data` event: the
  // package's receive loop emits the next packet on the destroyed socket and aborts the process. That
  // loop reads until the socket is empty, so a peer writing as fast as it reads would hold this
  // process in it (and go on writing) for as long as it liked; a zero-byte read is the loop's end of
  // stream, so reading zero bytes next ends it at once.
  private overflow(): void {
    this.socket.setInternalReadBufferSize(0)
    const bound =
      this.packets.length > MaxUnreadPackets ? `${MaxUnreadPackets} packets` : `${MaxUnreadPacketBytes} bytes`
    const detail = `the peer wrote more than ${bound} that this process had not read`
    this.packets = []
    this.unreadBytes = 0
    Deferred.doneUnsafe(this.overran, Exit.succeed(this.end(detail)))
    setImmediate(() => {
      if (this.destroyed) return
      this.destroyed = true
      this.socket.destroy()
    })
  }

  /** Ends the connection (once; the first reason stays) and fails what waits; returns why it ended. */
  private end(detail: string): ConnectionClosed {
    const ended = this.ended ?? new ConnectionClosed({ peer: this.peer, detail })
    this.ended = ended
    const reader = this.reader
    if (reader !== undefined && this.packets.length === 0) {
      this.reader = undefined
      reader(Effect.fail(ended))
    }
    const writers = [...this.writers]
    this.writers.clear()
    for (const resume of writers) resume(Effect.fail(ended))
    return ended
  }
}

// Scoped for the lock of the path only: the listener itself lives until its `close`.
const openListener = (path: string): Effect.Effect<Listener, ListenFailed> =>
  Effect.scoped(
    Effect.gen(function* () {
      const api = load()
      if (Result.isFailure(api))
        return yield* new ListenFailed({ address: path, reason: "Unavailable", detail: api.failure })
      // The lock is held from the probe to the bind (its scope ends when the listener is up).
      yield* lockUnixPath(path)
      yield* prepareUnixPath(path)
      const server = new api.success.SeqpacketServer()
      const queue = new AcceptQueue()
      server.on("error", () => {})
      server.on("connection", (socket) => {
        const connection = new SeqpacketConnection(socket, `${path} (client)`)
        if (!queue.arrived(connection)) Effect.runFork(connection.close)
      })
      const bound = Result.try(() => withPrivateUmask(() => server.listen(path)))
      if (Result.isFailure(bound)) {
        // The package opened the descriptor when the server was made; nothing else would close it.
        Result.try(() => server.close())
        return yield* new ListenFailed({ address: path, reason: "Failed", detail: errorText(bound.failure) })
      }
      const chmod = Result.try(() => fs.chmodSync(path, 0o600))
      if (Result.isFailure(chmod)) {
        // The package's close leaves the file: the path is left as it was before the listen.
        server.close()
        Result.try(() => fs.unlinkSync(path))
        return yield* new ListenFailed({ address: path, reason: "Failed", detail: errorText(chmod.failure) })
      }
      const close = Effect.sync(() => {
        if (queue.isClosed) return
        server.close()
        Result.try(() => fs.unlinkSync(path))
        const never = queue.close(new ConnectionClosed({ peer: path, detail: "the listener is closed" }))
        for (const connection of never) Effect.runFork(connection.close)
      })
      const listener: Listener = { address: { _tag: "UnixPacket", path }, accept: queue.accept, close }
      return listener
    })
  )

/**
 * Listens on a SOCK_SEQPACKET unix socket path (mode 0600; a stale socket file is replaced, a live
 * one of any type is `InUse`, R-SOCK-14). Fails with `ListenFailed` (`Unavailable` without the
 * package). The listener is closed (and its file removed) with the scope.
 *
 * @category constructors
 */
export const listenSeqpacket = (path: string) => Effect.acquireRelease(openListener(path), (listener) => listener.close)

/**
 * Connects to a SOCK_SEQPACKET unix socket path; suspends until connected. Fails with
 * `ConnectFailed`: `ENOTSUP` without the package, `ECONNREFUSED` when nothing of that type listens
 * there (the package cannot tell a missing path from a stream socket).
 *
 * @category constructors
 */
export const connectSeqpacket = (path: string): Effect.Effect<Connection, ConnectFailed> =>
  Effect.callback<Connection, ConnectFailed>((resume) => {
    const api = load()
    if (Result.isFailure(api)) {
      resume(Effect.fail(new ConnectFailed({ address: path, code: "ENOTSUP", detail: api.failure })))
      return
    }
    const socket = new api.success.SeqpacketSocket()
    const failed = (error: unknown) => {
      socket.destroy()
      resume(Effect.fail(new ConnectFailed({ address: path, code: "ECONNREFUSED", detail: errorText(error) })))
    }
    let connected = false
    socket.on("error", (error) => {
      if (!connected) failed(error)
    })
    socket.once("connect", () => {
      connected = true
      resume(Effect.succeed(new SeqpacketConnection(socket, path)))
    })
    try {
      socket.connect(path)
    } catch (error) {
      failed(error)
      return
    }
    return Effect.sync(() => {
      if (!connected) socket.destroy()
    })
  })
