/**
 * Where a socket server listens and a client connects: a unix-domain socket path or a TCP host and
 * port, with optional TLS material (PEM file paths, as in Go's config).
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/**
 * A unix-domain socket path or a TCP host and port (port 0 asks the system for a free one).
 *
 * @category models
 */
export type SocketAddress =
  | { readonly _tag: "Unix"; readonly path: string }
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
 * A unix-domain socket address.
 *
 * @category constructors
 */
export const unix = (path: string): SocketAddress => ({ _tag: "Unix", path })

/**
 * A TCP address.
 *
 * @category constructors
 */
export const tcp = (host: string, port: number): SocketAddress => ({ _tag: "Tcp", host, port })

/**
 * The address as text: the path, or `host:port` (`[v6]:port` for IPv6 hosts).
 *
 * @category getters
 */
export const formatAddress = (address: SocketAddress): string =>
  address._tag === "Unix"
    ? address.path
    : address.host.includes(":")
      ? `[${address.host}]:${address.port}`
      : `${address.host}:${address.port}`

/** The socket types of Go's config this implementation serves. @category constants */
export const SocketTypes: ReadonlyArray<string> = ["unix", "unixpacket", "tcp", "tcp4", "tcp6"]

/**
 * Parses Go's `sockettype` and `address` config values. `unix` and `unixpacket` take a path (Node has
 * no SOCK_SEQPACKET: `unixpacket` is served as a stream socket, and the framing keeps message
 * boundaries); `tcp`, `tcp4`, `tcp6` take `host:port` or `[v6]:port`. Fails with the reason as text.
 *
 * @category constructors
 */
export const parseAddress = (socketType: string, address: string): Result.Result<SocketAddress, string> => {
  if (address === "") return Result.fail("address is empty")
  if (socketType === "unix" || socketType === "unixpacket") return Result.succeed(unix(address))
  if (!socketType.startsWith("tcp") || !SocketTypes.includes(socketType)) {
    return Result.fail(`unsupported socket type "${socketType}" (expected one of ${SocketTypes.join(", ")})`)
  }
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address)
  const port = match === null ? Number.NaN : Number(match[3])
  if (match === null || port > 65535) return Result.fail(`"${address}" is not host:port`)
  return Result.succeed(tcp(match[1] ?? (match[2] || "127.0.0.1"), port))
}
