/**
 * Where a socket server listens and a client connects: a unix-domain socket path or a TCP host and
 * port, with optional TLS material (PEM file paths, as in Go's config).
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/**
 * A unix-domain socket path (a stream socket, or `UnixPacket`: a SOCK_SEQPACKET socket, Go beehive's
 * `unixpacket`, one message per packet) or a TCP host and port (port 0 asks the system for a free one).
 *
 * @category models
 */
export type SocketAddress =
  | { readonly _tag: "Unix"; readonly path: string }
  | { readonly _tag: "UnixPacket"; readonly path: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }

/**
 * TLS material, as PEM file paths. A server with `cert` and `key` speaks TLS; with `ca` too it requires
 * client certificates signed by it. A client with `ca` speaks TLS and verifies the server against it;
 * with `cert` and `key` it presents a client certificate.
 *
 * @category models
 */
export interface TlsOptions {
  readonly ca?: string | undefined
  readonly cert?: string | undefined
  readonly key?: string | undefined
}

/**
 * Whether TLS material is configured at all.
 *
 * @category getters
 */
export const hasTls = (tls: TlsOptions | undefined): tls is TlsOptions =>
  tls !== undefined && Boolean(tls.ca || tls.cert || tls.key)

/**
 * Why TLS cannot be used over packets (R-SOCK-30): Node's TLS runs over streams only.
 *
 * @category constants
 */
export const tlsOverPackets = "TLS is not available over unixpacket (SOCK_SEQPACKET) sockets"

/**
 * A unix-domain socket address.
 *
 * @category constructors
 */
export const unix = (path: string): SocketAddress => ({ _tag: "Unix", path })

/**
 * A unix-domain SOCK_SEQPACKET socket address: Go beehive's `unixpacket`, spoken in its raw mode (one
 * message per packet, R-SOCK-30). Needs the optional package `node-unix-socket` (R-SOCK-31).
 *
 * @category constructors
 */
export const unixPacket = (path: string): SocketAddress => ({ _tag: "UnixPacket", path })

/**
 * A TCP address.
 *
 * @category constructors
 */
export const tcp = (host: string, port: number): SocketAddress => ({ _tag: "Tcp", host, port })

/** The longest unix socket path Linux binds (108 bytes of `sun_path`, with the closing NUL). @category constants */
export const MaxUnixPathBytes = 107

/**
 * Why `address` cannot be listened on or connected to, or undefined if it can: a unix path that is
 * empty or longer than `MaxUnixPathBytes` (Node would bind a truncated path), a TCP host that is not a
 * non-empty string, a port that is not an integer from 0 to 65535 (0 only to listen, for a free port).
 *
 * @category validation
 */
export const invalidAddress = (address: unknown, use: "listen" | "connect"): string | undefined => {
  if (typeof address !== "object" || address === null) return "not an address (use unix(path) or tcp(host, port))"
  const a = address as { _tag?: unknown; path?: unknown; host?: unknown; port?: unknown }
  if (a._tag === "Unix" || a._tag === "UnixPacket") {
    if (typeof a.path !== "string" || a.path === "") return "the unix socket path is empty"
    const bytes = Buffer.byteLength(a.path)
    if (bytes > MaxUnixPathBytes)
      return `the unix socket path is ${bytes} bytes, longer than the ${MaxUnixPathBytes} the system allows`
    return undefined
  }
  if (a._tag === "Tcp") {
    if (typeof a.host !== "string" || a.host === "") return "the host is empty"
    const lowest = use === "listen" ? 0 : 1
    if (typeof a.port !== "number" || !Number.isInteger(a.port) || a.port < lowest || a.port > 65535)
      return `port ${String(a.port)} is not an integer from ${lowest} to 65535`
    return undefined
  }
  return "not an address (use unix(path) or tcp(host, port))"
}

/**
 * Whatever was passed as an address, as text for an error message (`formatAddress` needs a valid one).
 *
 * @category getters
 */
export const describeAddress = (address: unknown): string => {
  const a = address as { _tag?: unknown; path?: unknown; host?: unknown; port?: unknown } | null | undefined
  if (a?._tag === "Unix" || a?._tag === "UnixPacket") return String(a.path)
  if (a?._tag === "Tcp") return `${String(a.host)}:${String(a.port)}`
  return String(JSON.stringify(address) ?? address)
}

/**
 * The address as text: the path, or `host:port` (`[v6]:port` for IPv6 hosts).
 *
 * @category getters
 */
export const formatAddress = (address: SocketAddress): string =>
  address._tag !== "Tcp"
    ? address.path
    : address.host.includes(":")
      ? `[${address.host}]:${address.port}`
      : `${address.host}:${address.port}`

/** The socket types of Go's config this implementation serves. @category constants */
export const SocketTypes: ReadonlyArray<string> = ["unix", "unixpacket", "tcp", "tcp4", "tcp6"]

/**
 * Parses Go's `sockettype` and `address` config values. `unix` takes a path (a stream socket),
 * `unixpacket` a path (a SOCK_SEQPACKET socket, as Go's); `tcp`, `tcp4`, `tcp6` take `host:port` or
 * `[v6]:port`. Fails with the reason as text.
 *
 * @category constructors
 */
export const parseAddress = (socketType: string, address: string): Result.Result<SocketAddress, string> => {
  if (address === "") return Result.fail("address is empty")
  if (socketType === "unix") return Result.succeed(unix(address))
  if (socketType === "unixpacket") return Result.succeed(unixPacket(address))
  if (!socketType.startsWith("tcp") || !SocketTypes.includes(socketType)) {
    return Result.fail(`unsupported socket type "${socketType}" (expected one of ${SocketTypes.join(", ")})`)
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address)
  const port = match === null ? Number.NaN : Number(match[3])
  if (match === null || port > 65535) return Result.fail(`"${address}" is not host:port`)
  return Result.succeed(tcp(match[1] ?? (match[2] || "127.0.0.1"), port))
}
