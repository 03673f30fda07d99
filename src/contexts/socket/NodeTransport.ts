/**
 * The transport over node:net (unix-domain sockets, TCP) and node:tls, and over SOCK_SEQPACKET unix
 * sockets (`unixPacket` addresses) through `SeqpacketTransport`. This file and `SeqpacketTransport`
 * (for node-unix-socket's events) are the places where callback and event APIs are wrapped (with
 * `Effect.callback`); everything above the transport is Effect.
 *
 * - Reads: incoming chunks are buffered and handed over in batches; past `readHighWaterMark` buffered
 *   bytes the socket is paused, so a slow reader pushes back on the sender (TCP flow control).
 * - Writes: `write` completes at once while Node's buffer is below its high-water mark, and otherwise
 *   waits for `drain`.
 * - Every socket always has an `error` listener: no socket error can crash the process.
 *
 * @since 0.1.0
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import { Duration, Effect, Layer, Result } from "effect"
import { ConnectFailed, ConnectionClosed, ListenFailed } from "../../model/SocketErrors.ts"
import { AcceptQueue } from "./AcceptQueue.ts"
import { connectSeqpacket, listenSeqpacket } from "./SeqpacketTransport.ts"
import { formatAddress, hasTls, type SocketAddress, type TlsOptions } from "./SocketAddress.ts"
import { type Connection, type Listener, Transport, type TransportShape } from "./Transport.ts"
import { errorCode, errorText, lockUnixPath, prepareUnixPath, withPrivateUmask } from "./UnixPath.ts"

/** Idle time before TCP keepalive probes start. @category constants */
export const keepAliveDelayMs = 10_000

/** Bytes read and not yet taken before the socket is paused. @category constants */
export const readHighWaterMark = 1 << 20

/**
 * Bytes Node buffers for a socket before `write` waits for `drain`: large enough to keep a batch in
 * flight while the next one is gathered.
 *
 * @category constants
 */
export const writeHighWaterMark = 1 << 20

/** How long `close` waits for written bytes to be flushed before it destroys the socket. @category constants */
export const closeFlushTimeout = Duration.seconds(2)

type Resume<A, E> = (effect: Effect.Effect<A, E>) => void

/** The names a verified client certificate carries: its subject's CN and its subjectAltName DNS names. */
const namesOf = (socket: net.Socket): ReadonlyArray<string> | undefined => {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return undefined
  // An authorized socket has its peer's certificate (Node gives `{}` only when there is none).
  const certificate = socket.getPeerCertificate()
  const common = certificate.subject?.CN
  const alternative = (certificate.subjectaltname ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice("DNS:".length))
  return [
    ...new Set([...(typeof common === "string" ? [common] : Array.isArray(common) ? common : []), ...alternative])
  ]
}

class NodeConnection implements Connection {
  readonly peer: string
  readonly certificateNames: ReadonlyArray<string> | undefined
  private readonly socket: net.Socket
  private chunks: Array<Uint8Array> = []
  private buffered = 0
  private ended: ConnectionClosed | undefined = undefined
  private reader: Resume<ReadonlyArray<Uint8Array>, ConnectionClosed> | undefined = undefined
  private readonly writers = new Set<Resume<void, ConnectionClosed>>()

  constructor(socket: net.Socket, peer: string) {
    this.socket = socket
    this.peer = peer
    this.certificateNames = namesOf(socket)
    if (typeof socket.setNoDelay === "function") socket.setNoDelay(true)
    // A host that vanishes (powered off, cable pulled) is noticed by TCP itself (R-SOCK-20).
    if (typeof socket.setKeepAlive === "function") socket.setKeepAlive(true, keepAliveDelayMs)
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.buffered += chunk.length
      if (this.buffered >= readHighWaterMark) socket.pause()
      const reader = this.reader
      if (reader !== undefined) {
        this.reader = undefined
        reader(Effect.succeed(this.takeChunks()))
      }
    })
    socket.on("drain", () => this.wakeWriters(undefined))
    socket.on("end", () => this.end("the peer closed the connection"))
    socket.on("error", (error) => this.end(`${errorCode(error)}: ${errorText(error)}`))
    socket.on("close", () => this.end("closed"))
  }

  // Checks happen where the wait is registered: a fiber can yield between two Effect operations,
  // and data (or the end) can arrive in between.
  readonly read: Effect.Effect<ReadonlyArray<Uint8Array>, ConnectionClosed> = Effect.callback((resume) => {
    if (this.chunks.length > 0) return resume(Effect.succeed(this.takeChunks()))
    if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    this.reader = resume
    return Effect.sync(() => {
      if (this.reader === resume) this.reader = undefined
    })
  })

  readonly write = (bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> =>
    Effect.suspend(() => this.writeNow(bytes) ?? Effect.void)

  readonly writeNow = (bytes: Uint8Array): Effect.Effect<void, ConnectionClosed> | undefined => {
    if (this.ended !== undefined) return Effect.fail(this.ended)
    return this.socket.write(bytes) ? undefined : this.awaitDrain
  }

  // Registered in a later step than the write: a `drain` that came in between has emptied the buffer,
  // which is what it waits for, so it is not waited for again.
  private readonly awaitDrain: Effect.Effect<void, ConnectionClosed> = Effect.callback((resume) => {
    if (this.ended !== undefined) return resume(Effect.fail(this.ended))
    if (!this.socket.writableNeedDrain) return resume(Effect.void)
    this.writers.add(resume)
    return Effect.sync(() => {
      this.writers.delete(resume)
    })
  })

  // The `ensuring` is in place before anything is done: an interrupted close still destroys the socket.
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    const socket = this.socket
    this.end("closed here")
    if (socket.destroyed) return Effect.void
    return Effect.callback<void>((resume) => {
      socket.once("close", () => resume(Effect.void))
      socket.end()
    }).pipe(Effect.timeoutOrElse({ duration: closeFlushTimeout, orElse: () => Effect.void }))
  }).pipe(Effect.ensuring(Effect.sync(() => this.socket.destroy())))

  private takeChunks(): ReadonlyArray<Uint8Array> {
    const chunks = this.chunks
    this.chunks = []
    this.buffered = 0
    if (this.socket.isPaused()) this.socket.resume()
    return chunks
  }

  private end(detail: string): void {
    if (this.ended === undefined) this.ended = new ConnectionClosed({ peer: this.peer, detail })
    const reader = this.reader
    if (reader !== undefined && this.chunks.length === 0) {
      this.reader = undefined
      reader(Effect.fail(this.ended))
    }
    this.wakeWriters(this.ended)
  }

  private wakeWriters(error: ConnectionClosed | undefined): void {
    if (this.writers.size === 0) return
    const writers = [...this.writers]
    this.writers.clear()
    for (const resume of writers) resume(error === undefined ? Effect.void : Effect.fail(error))
  }
}

const readPem = (path: string | undefined): Buffer | undefined => (path ? fs.readFileSync(path) : undefined)

// Everything a server's TLS needs is checked before it listens (R-SOCK-15): Node would take a CA that
// holds no certificate, and serve handshakes that all fail.
const serverTls = (options: TlsOptions): tls.TlsOptions => {
  if (!options.cert || !options.key) throw new Error("a server needs both cert and key")
  const ca = readPem(options.ca)
  if (ca !== undefined) new crypto.X509Certificate(ca)
  const secure = {
    cert: readPem(options.cert),
    key: readPem(options.key),
    ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true })
  }
  // Throws on material that is no PEM and on a key that is not the certificate's.
  tls.createSecureContext(secure)
  return secure
}

const clientTls = (address: SocketAddress, options: TlsOptions): tls.ConnectionOptions => ({
  ca: readPem(options.ca),
  cert: readPem(options.cert),
  key: readPem(options.key),
  rejectUnauthorized: true,
  ...(address._tag === "Tcp"
    ? net.isIP(address.host) === 0
      ? { servername: address.host }
      : {}
    : // A unix socket has no host name to check: the CA alone vouches for the server.
      { checkServerIdentity: () => undefined })
})

const boundAddress = (server: net.Server, requested: SocketAddress): SocketAddress => {
  const bound = server.address()
  return requested._tag === "Tcp" && bound !== null && typeof bound === "object"
    ? { _tag: "Tcp", host: requested.host, port: bound.port }
    : requested
}

// Scoped for the lock of a unix path only: the listener itself lives until its `close`.
const openListener = (address: Exclude<SocketAddress, { _tag: "UnixPacket" }>, tlsOptions: TlsOptions | undefined) =>
  Effect.scoped(
    Effect.gen(function* () {
      const text = formatAddress(address)
      // The lock is held from the probe to the bind (its scope ends when the listener is up).
      if (address._tag === "Unix") {
        yield* lockUnixPath(address.path)
        yield* prepareUnixPath(address.path)
      }
      const secure = hasTls(tlsOptions)
      const options = secure ? Result.try(() => serverTls(tlsOptions)) : Result.succeed(undefined)
      if (Result.isFailure(options)) {
        return yield* new ListenFailed({
          address: text,
          reason: "Failed",
          detail: `TLS: ${errorText(options.failure)}`
        })
      }
      const server: net.Server = secure
        ? tls.createServer({ ...(options.success as tls.TlsOptions), highWaterMark: writeHighWaterMark })
        : net.createServer({ highWaterMark: writeHighWaterMark })
      const queue = new AcceptQueue()
      server.on(secure ? "secureConnection" : "connection", (socket: net.Socket) => {
        const peer =
          socket.remoteAddress === undefined ? `${text} (client)` : `${socket.remoteAddress}:${socket.remotePort}`
        if (!queue.arrived(new NodeConnection(socket, peer))) socket.destroy()
      })
      // A failed TLS handshake destroys its socket; the listener keeps serving.
      server.on("tlsClientError", () => {})
      yield* Effect.callback<void, ListenFailed>((resume) => {
        const onError = (error: Error) =>
          resume(
            Effect.fail(
              new ListenFailed({
                address: text,
                reason: errorCode(error) === "EADDRINUSE" ? "InUse" : "Failed",
                detail: `${errorCode(error)}: ${errorText(error)}`
              })
            )
          )
        server.once("error", onError)
        withPrivateUmask(() =>
          server.listen(
            address._tag === "Unix" ? { path: address.path } : { host: address.host, port: address.port },
            () => {
              server.off("error", onError)
              server.on("error", () => {})
              resume(Effect.void)
            }
          )
        )
      })
      if (address._tag === "Unix") {
        const chmod = Result.try(() => fs.chmodSync(address.path, 0o600))
        if (Result.isFailure(chmod)) {
          server.close()
          return yield* new ListenFailed({ address: text, reason: "Failed", detail: errorText(chmod.failure) })
        }
      }
      const close = Effect.sync(() => {
        if (queue.isClosed) return
        server.close()
        const never = queue.close(new ConnectionClosed({ peer: text, detail: "the listener is closed" }))
        for (const connection of never) Effect.runFork(connection.close)
      })
      const listener: Listener = { address: boundAddress(server, address), accept: queue.accept, close }
      return listener
    })
  )

const connect = (
  address: Exclude<SocketAddress, { _tag: "UnixPacket" }>,
  tlsOptions?: TlsOptions
): Effect.Effect<Connection, ConnectFailed> =>
  Effect.callback<Connection, ConnectFailed>((resume) => {
    const text = formatAddress(address)
    const target =
      address._tag === "Unix"
        ? { path: address.path, writableHighWaterMark: writeHighWaterMark }
        : { host: address.host, port: address.port, writableHighWaterMark: writeHighWaterMark }
    let socket: net.Socket
    try {
      socket = hasTls(tlsOptions) ? tls.connect({ ...target, ...clientTls(address, tlsOptions) }) : net.connect(target)
    } catch (error) {
      resume(Effect.fail(new ConnectFailed({ address: text, code: errorCode(error), detail: errorText(error) })))
      return
    }
    const onError = (error: Error) => {
      socket.destroy()
      resume(Effect.fail(new ConnectFailed({ address: text, code: errorCode(error), detail: errorText(error) })))
    }
    socket.once("error", onError)
    socket.once(hasTls(tlsOptions) ? "secureConnect" : "connect", () => {
      socket.off("error", onError)
      resume(Effect.succeed(new NodeConnection(socket, text)))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * The Node transport's operations.
 *
 * @category constructors
 */
export const nodeTransport: TransportShape = {
  listen: (address, tlsOptions) =>
    address._tag === "UnixPacket"
      ? listenSeqpacket(address.path)
      : Effect.acquireRelease(openListener(address, tlsOptions), (listener) => listener.close),
  connect: (address, tlsOptions) =>
    address._tag === "UnixPacket" ? connectSeqpacket(address.path) : connect(address, tlsOptions)
}

/**
 * The Node transport as a layer.
 *
 * @category layers
 */
export const NodeTransport: Layer.Layer<Transport> = Layer.succeed(Transport, nodeTransport)
