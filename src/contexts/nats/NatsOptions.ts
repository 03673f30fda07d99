/**
 * The NATS context's options, their validation and the YAML configuration (in the socket context's
 * style). The subject scheme is in `Subjects`.
 *
 * @since 0.3.0
 */
import { Result } from "effect"
import { parse as parseYaml } from "yaml"
import { NatsConfigError } from "../../model/NatsErrors.ts"
import { unreadableFile } from "../UnreadableFile.ts"
import { durableStreamName } from "./Subjects.ts"

/** The context type name of modules served over NATS. @category constants */
export const ContextTypeNats = "nats"

/** The subject prefix used when none is configured. @category constants */
export const DefaultNatsPrefix = "beehive"

/**
 * TLS files for the connection (paths, read by the client when it connects).
 *
 * @category models
 */
export interface NatsTlsOptions {
  readonly ca?: string | undefined
  readonly cert?: string | undefined
  readonly key?: string | undefined
}

/**
 * Events the NATS context reports (to `onEvent`): what it dropped or refused and why, and what it
 * learnt of the cluster.
 *
 * @category models
 */
export type NatsEvent =
  | { readonly _tag: "PeerUp"; readonly process: string; readonly modules: ReadonlyArray<string> }
  | { readonly _tag: "PeerGone"; readonly process: string; readonly reason: "Bye" | "Silent" | "Disconnected" }
  | { readonly _tag: "ModuleSkipped"; readonly module: string; readonly reason: string }
  | { readonly _tag: "NoResponders"; readonly module: string; readonly msgId: string }
  | { readonly _tag: "Undeliverable"; readonly module: string; readonly msgId: string; readonly reason: string }
  | { readonly _tag: "LateResponse"; readonly module: string; readonly parentId: string }
  | { readonly _tag: "RequestForgotten"; readonly msgId: string }
  | { readonly _tag: "BadPayload"; readonly subject: string; readonly reason: string }
  | { readonly _tag: "PublishFailed"; readonly module: string; readonly msgId: string; readonly reason: string }
  | { readonly _tag: "ConnectionClosed"; readonly reason: string }
  | { readonly _tag: "WindowReset"; readonly module: string; readonly unacked: number }
  | { readonly _tag: "DurableRefused"; readonly module: string; readonly msgId: string; readonly reason: string }
  /**
   * Announcements of other processes the registry ignored, as they would have taken it past `maxPeers`
   * or `maxPeerModules` (R-NATS-4): `count` since the last such event, this one included; the latest
   * one's process, module count and why. At most one event per `heartbeatMs` and one at each heartbeat.
   */
  | {
      readonly _tag: "AnnouncementsIgnored"
      readonly count: number
      readonly process: string
      readonly moduleCount: number
      readonly reason: string
    }
  /** This process's announcement (of `moduleCount` modules, `bytes` long) was refused by the client (R-NATS-4): said once until one goes out. */
  | {
      readonly _tag: "AnnouncementRefused"
      readonly moduleCount: number
      readonly bytes: number
      readonly reason: string
    }

/**
 * Options of `NatsContext.make`. Only `servers` is required.
 *
 * @category models
 */
export interface NatsContextOptions {
  /** NATS server URLs (`nats://127.0.0.1:4222`, or `host:port`); at least one. */
  readonly servers: string | ReadonlyArray<string>
  /**
   * The first token(s) of every subject (R-NATS-1), so several beehives can share one cluster:
   * dot-separated tokens of letters, digits, `_` and `-`. Default "beehive".
   */
  readonly prefix?: string | undefined
  /** Credentials: a user and password, or a token. */
  readonly user?: string | undefined
  readonly pass?: string | undefined
  readonly token?: string | undefined
  readonly tls?: NatsTlsOptions | undefined
  /** The connection's name as the server shows it. */
  readonly name?: string | undefined
  /**
   * How often this process announces the modules it serves, in ms (default 1000). A process not
   * heard for `missedHeartbeats` periods is gone: its modules are cleaned up here (R-NATS-4).
   */
  readonly heartbeatMs?: number | undefined
  /** Default 3. */
  readonly missedHeartbeats?: number | undefined
  /**
   * Messages received for one served module and not yet delivered to its mailbox; past it a message
   * is dropped and reported (R-NATS-8). Default 1024.
   */
  readonly maxInbound?: number | undefined
  /**
   * Copies of sync requests from other processes still owed an answer, remembered at most (another copy
   * of one id counts too; default 65536).
   */
  readonly maxPendingRequests?: number | undefined
  /**
   * Their ids and reply subjects, in UTF-16 units added up, remembered at most (default 8 MiB). Past
   * either bound, the sender owed the most forgets its oldest request (R-NATS-6).
   */
  readonly maxPendingRequestBytes?: number | undefined
  /**
   * Other processes the registry knows at most (default 1024); an announcement from one more is
   * ignored and reported (R-NATS-4).
   */
  readonly maxPeers?: number | undefined
  /**
   * Module listings the registry holds at most, the other processes' lists added up (default 16384):
   * an announcement that would take it past is ignored and reported (R-NATS-4).
   */
  readonly maxPeerModules?: number | undefined
  /**
   * Messages this process publishes to one remote module before the serving process acknowledges
   * handling them (R-NATS-8): the sender's window (default 256). Keep the number of sending processes
   * times this within the serving side's `maxInbound`, or the serving side drops what exceeds it.
   */
  readonly sendWindow?: number | undefined
  /**
   * Messages the publisher writes that the server has not confirmed, at most (default 256): it asks for
   * a flush every half this, and waits for the previous one first (R-NATS-8).
   */
  readonly flushEvery?: number | undefined
  /** Reconnection attempts before the connection closes for good (default 10; -1: forever). */
  readonly maxReconnectAttempts?: number | undefined
  /** Wait between reconnection attempts, ms (default 2000). */
  readonly reconnectTimeWaitMs?: number | undefined
  /**
   * Modules whose one-way messages are kept in JetStream (R-NATS-12): every process of the prefix that
   * sends to or serves one lists it. The server must run JetStream. Default none.
   */
  readonly durable?: ReadonlyArray<string> | undefined
  /** The message limit of a durable module's stream this process creates (default 100000). */
  readonly durableMaxMessages?: number | undefined
  /** The byte limit of a durable module's stream this process creates (default 64 MiB). */
  readonly durableMaxBytes?: number | undefined
  /**
   * How long JetStream waits for the acknowledgement of a message handed to a serving process before
   * it redelivers it, ms (default 30000, at least 2 × `heartbeatMs`): how long the messages a killed
   * process held wait for the next one.
   */
  readonly durableAckWaitMs?: number | undefined
  /** Receives every event; default none. */
  readonly onEvent?: ((event: NatsEvent) => void) | undefined
}

/**
 * Options after validation, with defaults.
 *
 * @category models
 */
export interface ResolvedNatsOptions {
  readonly servers: ReadonlyArray<string>
  readonly prefix: string
  readonly user: string | undefined
  readonly pass: string | undefined
  readonly token: string | undefined
  readonly tls: NatsTlsOptions | undefined
  readonly name: string | undefined
  readonly heartbeatMs: number
  readonly missedHeartbeats: number
  readonly maxInbound: number
  readonly maxPendingRequests: number
  readonly maxPendingRequestBytes: number
  readonly maxPeers: number
  readonly maxPeerModules: number
  readonly flushEvery: number
  readonly sendWindow: number
  readonly maxReconnectAttempts: number
  readonly reconnectTimeWaitMs: number
  readonly durable: ReadonlyArray<string>
  readonly durableMaxMessages: number
  readonly durableMaxBytes: number
  readonly durableAckWaitMs: number
  readonly onEvent: (event: NatsEvent) => void
}

const prefixPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

// A key given no value (YAML's empty value, null) is as if left out, as for every other optional key
// (until a property found it, a number key given none was refused).
const positiveInt = (key: string, value: unknown, fallback: number, max: number): number | NatsConfigError => {
  if (value === undefined || value === null) return fallback
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0 || value > max) {
    return new NatsConfigError({ key, reason: `must be an integer from 1 to ${max}, got ${String(value)}` })
  }
  return value
}

const optionalString = (key: string, value: unknown): string | undefined | NatsConfigError => {
  if (value === undefined || value === null) return undefined
  if (typeof value !== "string") return new NatsConfigError({ key, reason: "must be a string" })
  return value
}

/**
 * Validates options and applies the defaults. Fails with `NatsConfigError` naming the first bad key,
 * among them a TLS file that cannot be read. Never throws.
 *
 * @category constructors
 */
export const resolveNatsOptions = (
  options: NatsContextOptions
): Result.Result<ResolvedNatsOptions, NatsConfigError> => {
  const fail = (error: NatsConfigError) => Result.fail(error)
  const raw = options?.servers
  const servers = typeof raw === "string" ? [raw] : Array.isArray(raw) ? (raw as ReadonlyArray<unknown>) : undefined
  if (servers === undefined || servers.length === 0) {
    return fail(new NatsConfigError({ key: "servers", reason: "at least one server URL is required" }))
  }
  if (servers.length > 64) return fail(new NatsConfigError({ key: "servers", reason: "at most 64 servers" }))
  for (let i = 0; i < servers.length; i++) {
    const s = servers[i]
    if (typeof s !== "string" || s.trim() === "" || /\s/.test(s) || s.length > 1024) {
      return fail(new NatsConfigError({ key: `servers[${i}]`, reason: "must be a URL like nats://host:port" }))
    }
  }
  const prefix = options.prefix ?? DefaultNatsPrefix
  if (typeof prefix !== "string" || prefix.length > 128 || !prefixPattern.test(prefix)) {
    return fail(
      new NatsConfigError({
        key: "prefix",
        reason: "must be dot-separated tokens of letters, digits, '_' and '-' (at most 128 characters)"
      })
    )
  }
  const strings: Record<string, string | undefined> = {}
  for (const key of ["user", "pass", "token", "name"] as const) {
    const value = optionalString(key, options[key])
    if (value instanceof NatsConfigError) return fail(value)
    strings[key] = value
  }
  if (strings.pass !== undefined && strings.user === undefined) {
    return fail(new NatsConfigError({ key: "pass", reason: "a password needs a user" }))
  }
  if (strings.token !== undefined && strings.user !== undefined) {
    return fail(new NatsConfigError({ key: "token", reason: "give either a token or a user, not both" }))
  }
  let tls: NatsTlsOptions | undefined
  if (options.tls !== undefined && options.tls !== null) {
    if (typeof options.tls !== "object") return fail(new NatsConfigError({ key: "tls", reason: "must be a mapping" }))
    const t: Record<string, string | undefined> = {}
    for (const key of ["ca", "cert", "key"] as const) {
      const value = optionalString(`tls.${key}`, (options.tls as Record<string, unknown>)[key])
      if (value instanceof NatsConfigError) return fail(value)
      t[key] = value === "" ? undefined : value
    }
    if ((t.cert === undefined) !== (t.key === undefined)) {
      return fail(
        new NatsConfigError({ key: t.cert === undefined ? "tls.cert" : "tls.key", reason: "cert and key go together" })
      )
    }
    // Found here rather than by the client, which reads the files only once a server offers TLS.
    for (const key of ["ca", "cert", "key"] as const) {
      const file = t[key]
      const problem = file === undefined ? undefined : unreadableFile(file)
      if (problem !== undefined) return fail(new NatsConfigError({ key: `tls.${key}`, reason: problem }))
    }
    tls = { ca: t.ca, cert: t.cert, key: t.key }
  }
  const numbers: Record<string, number> = {}
  for (const [key, fallback, max] of [
    ["heartbeatMs", 1000, 3_600_000],
    ["missedHeartbeats", 3, 1000],
    ["maxInbound", 1024, 1 << 24],
    ["maxPendingRequests", 65_536, 1 << 24],
    ["maxPendingRequestBytes", 8 * 1024 * 1024, 2 ** 40],
    ["maxPeers", 1024, 1 << 20],
    ["maxPeerModules", 16_384, 1 << 24],
    ["flushEvery", 256, 1 << 20],
    ["sendWindow", 256, 1 << 20],
    ["reconnectTimeWaitMs", 2000, 3_600_000],
    ["durableMaxMessages", 100_000, 1_000_000_000],
    ["durableMaxBytes", 64 * 1024 * 1024, 2 ** 50],
    ["durableAckWaitMs", 30_000, 3_600_000]
  ] as const) {
    const value = positiveInt(key, options[key], fallback, max)
    if (value instanceof NatsConfigError) return fail(value)
    numbers[key] = value
  }
  const attempts = options.maxReconnectAttempts ?? 10
  if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < -1 || attempts > 1_000_000) {
    return fail(new NatsConfigError({ key: "maxReconnectAttempts", reason: "must be an integer ≥ -1" }))
  }
  const durable = durableModules(options.durable, prefix)
  if (durable instanceof NatsConfigError) return fail(durable)
  // Only a durable module is acknowledged late: without one a long heartbeat is as valid as before.
  if (durable.length > 0 && (numbers.durableAckWaitMs as number) < 2 * (numbers.heartbeatMs as number)) {
    return fail(new NatsConfigError({ key: "durableAckWaitMs", reason: "must be at least 2 × heartbeatMs" }))
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== "function") {
    return fail(new NatsConfigError({ key: "onEvent", reason: "must be a function" }))
  }
  return Result.succeed({
    servers: servers as ReadonlyArray<string>,
    prefix,
    user: strings.user,
    pass: strings.pass,
    token: strings.token,
    tls,
    name: strings.name,
    heartbeatMs: numbers.heartbeatMs as number,
    missedHeartbeats: numbers.missedHeartbeats as number,
    maxInbound: numbers.maxInbound as number,
    maxPendingRequests: numbers.maxPendingRequests as number,
    maxPendingRequestBytes: numbers.maxPendingRequestBytes as number,
    maxPeers: numbers.maxPeers as number,
    maxPeerModules: numbers.maxPeerModules as number,
    flushEvery: numbers.flushEvery as number,
    sendWindow: numbers.sendWindow as number,
    maxReconnectAttempts: attempts,
    reconnectTimeWaitMs: numbers.reconnectTimeWaitMs as number,
    durable,
    durableMaxMessages: numbers.durableMaxMessages as number,
    durableMaxBytes: numbers.durableMaxBytes as number,
    durableAckWaitMs: numbers.durableAckWaitMs as number,
    onEvent: options.onEvent ?? (() => {})
  })
}

/** The durable modules of `raw` (R-NATS-12), or the error naming the first bad one. */
const durableModules = (raw: unknown, prefix: string): ReadonlyArray<string> | NatsConfigError => {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) return new NatsConfigError({ key: "durable", reason: "must be a list of module names" })
  if (raw.length > 10_000) return new NatsConfigError({ key: "durable", reason: "at most 10000 modules" })
  const seen = new Set<string>()
  for (let i = 0; i < raw.length; i++) {
    const m: unknown = raw[i]
    const key = `durable[${i}]`
    if (typeof m !== "string" || m === "") return new NatsConfigError({ key, reason: "must be a module name" })
    if (seen.has(m)) return new NatsConfigError({ key, reason: `"${m}" is listed twice` })
    if (durableStreamName(prefix, m).length > 255)
      return new NatsConfigError({ key, reason: "its stream name would exceed 255 characters" })
    seen.add(m)
  }
  return [...seen]
}

const yamlKeys: Record<string, keyof NatsContextOptions> = {
  servers: "servers",
  prefix: "prefix",
  user: "user",
  pass: "pass",
  token: "token",
  tls: "tls",
  name: "name",
  heartbeatms: "heartbeatMs",
  missedheartbeats: "missedHeartbeats",
  maxinbound: "maxInbound",
  maxpendingrequests: "maxPendingRequests",
  maxpendingrequestbytes: "maxPendingRequestBytes",
  maxpeers: "maxPeers",
  maxpeermodules: "maxPeerModules",
  flushevery: "flushEvery",
  sendwindow: "sendWindow",
  maxreconnectattempts: "maxReconnectAttempts",
  reconnecttimewaitms: "reconnectTimeWaitMs",
  durable: "durable",
  durablemaxmessages: "durableMaxMessages",
  durablemaxbytes: "durableMaxBytes",
  durableackwaitms: "durableAckWaitMs"
}

/**
 * Reads a NATS configuration in YAML (lower-case keys, as the socket context's file):
 *
 * ```yaml
 * servers: [nats://10.0.0.1:4222, nats://10.0.0.2:4222]
 * prefix: site1.beehive
 * user: edge
 * pass: secret
 * tls: { ca: /etc/beehive/ca.pem, cert: /etc/beehive/cert.pem, key: /etc/beehive/key.pem }
 * heartbeatms: 1000
 * durable: [edged]          # R-NATS-12: kept in JetStream
 * durablemaxmessages: 10000
 * ```
 *
 * and validates it as `resolveNatsOptions` does. Fails with `NatsConfigError` naming the key (an unknown
 * key is refused). The text is bounded to 1 MiB.
 *
 * @category constructors
 */
export const parseNatsConfig = (text: string): Result.Result<NatsContextOptions, NatsConfigError> => {
  if (typeof text !== "string" || text.length > 1 << 20) {
    return Result.fail(new NatsConfigError({ key: "", reason: "the configuration must be a string of at most 1 MiB" }))
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (error) {
    return Result.fail(new NatsConfigError({ key: "", reason: `not YAML: ${(error as Error).message}` }))
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return Result.fail(new NatsConfigError({ key: "", reason: "must be a mapping" }))
  }
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(doc)) {
    // Own keys only: a key named "toString" is unknown, not Object's.
    const name = Object.hasOwn(yamlKeys, key) ? yamlKeys[key] : undefined
    if (name === undefined) return Result.fail(new NatsConfigError({ key, reason: "unknown key" }))
    options[name] = value
  }
  const checked = resolveNatsOptions(options as unknown as NatsContextOptions)
  return Result.isFailure(checked)
    ? Result.fail(checked.failure)
    : Result.succeed(options as unknown as NatsContextOptions)
}
