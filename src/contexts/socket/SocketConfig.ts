/**
 * The socket configuration, in Go beehive's format: a YAML list of entries with the keys `module`,
 * `server`, `address`, `sockettype`, `connmax`, `buffersize`, `ca`, `cert`, `key`, read from the file
 * named by `SOCKET_MODULE_CONFIG` (else `/etc/kubeedge/config/socket_module.yaml` if it exists), or
 * given in code. Two keys are this implementation's own: `framing` ("frame" or "ndjson") and
 * `maxframesize` (bytes). Any other key is an error here (Go ignores unknown keys, so a typo became a
 * silent default); YAML is read as 1.1, as Go's reader does (`yes`/`no`/`on`/`off` are booleans).
 *
 * Parsing is done with the `yaml` package and validated with a Schema; a missing or invalid
 * configuration is a `SocketConfigError` naming the entry and key, never an exception, and nothing
 * is read when this module is imported (Go panics at import without a config).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Effect, Result, Schema, SchemaIssue } from "effect"
import { parseDocument } from "yaml"
import { SocketConfigError } from "../../model/SocketErrors.ts"
import { unreadableFile } from "../UnreadableFile.ts"
import type { StreamFraming } from "./Framing.ts"
import { invalidAddress, parseAddress, type SocketAddress, type TlsOptions, tlsOverPackets } from "./SocketAddress.ts"

/** The environment variable naming the config file (Go's). @category constants */
export const SocketConfigEnv = "SOCKET_MODULE_CONFIG"

/** The file read when the variable is not set, if it exists (Go's). @category constants */
export const DefaultSocketConfigPath = "/etc/kubeedge/config/socket_module.yaml"

const OptionalString = Schema.optionalKey(Schema.NullOr(Schema.String))
const OptionalInt = Schema.optionalKey(Schema.NullOr(Schema.Int))

/**
 * One entry as written in the YAML (Go's JSON tags).
 *
 * @category schemas
 */
export const SocketConfigEntryWire = Schema.Struct({
  module: Schema.String,
  server: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  address: Schema.String,
  sockettype: OptionalString,
  connmax: OptionalInt,
  buffersize: OptionalInt,
  ca: OptionalString,
  cert: OptionalString,
  key: OptionalString,
  framing: Schema.optionalKey(Schema.NullOr(Schema.Literals(["frame", "ndjson"]))),
  maxframesize: OptionalInt
})

/** The document: a list of entries (an empty document is an empty list). @category schemas */
export const SocketConfigWire = Schema.NullOr(Schema.Array(SocketConfigEntryWire))

/**
 * A validated entry.
 *
 * - `connMax`: the server's connection limit (`undefined`: the default, 64).
 * - `bufferSize`: Go's raw read buffer size. Frames here are decoded whatever the read size, so it only
 *   sets the size of a write batch (`undefined`: the default).
 *
 * @category models
 */
export interface SocketConfigEntry {
  readonly module: string
  readonly server: boolean
  readonly address: SocketAddress
  readonly socketType: string
  readonly connMax: number | undefined
  readonly bufferSize: number | undefined
  readonly tls: TlsOptions | undefined
  readonly framing: StreamFraming | undefined
  readonly maxFrameBytes: number | undefined
}

/** A validated configuration. @category models */
export type SocketConfig = ReadonlyArray<SocketConfigEntry>

const decodeWire = Schema.decodeUnknownResult(SocketConfigWire)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

// The document is a list, so a path starts with an index: `[1].address`.
const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("")

/** The keys of an entry: Go's, then this implementation's own. @category constants */
export const SocketConfigKeys: ReadonlyArray<string> = [
  "module",
  "server",
  "address",
  "sockettype",
  "connmax",
  "buffersize",
  "ca",
  "cert",
  "key",
  "framing",
  "maxframesize"
]

/** The smallest and largest `maxframesize` accepted: a frame must hold a handshake and a message. @category constants */
export const MinFrameBytes = 1024
export const MaxFrameBytesLimit = 256 * 1024 * 1024

const editDistance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length] as number
}

/** Why an entry has a key Go's format does not have, with the key it probably meant. */
const unknownKey = (key: string): string => {
  const near = SocketConfigKeys.find((known) => editDistance(key.toLowerCase(), known) <= 2)
  return `unknown key${near === undefined ? "" : ` (did you mean "${near}"?)`}; the keys are ${SocketConfigKeys.join(", ")}`
}

/**
 * Validates a configuration given as data (the YAML's value, or objects with Go's keys written in
 * code). Fails with `SocketConfigError`. Never throws.
 *
 * @category decoding
 */
export const decodeSocketConfig = (value: unknown, source = "code"): Result.Result<SocketConfig, SocketConfigError> => {
  // Unknown keys first: Go ignores them, which turns a typo (`conmax`) into a silent default.
  if (Array.isArray(value)) {
    for (const [i, entry] of value.entries()) {
      if (typeof entry !== "object" || entry === null) continue
      for (const key of Object.keys(entry)) {
        if (!SocketConfigKeys.includes(key))
          return Result.fail(new SocketConfigError({ source, path: `[${i}].${key}`, reason: unknownKey(key) }))
      }
    }
  }
  const decoded = decodeWire(value)
  if (Result.isFailure(decoded)) {
    const first = formatIssue(decoded.failure.issue).issues[0]
    return Result.fail(
      new SocketConfigError({
        source,
        path: formatPath((first?.path ?? []) as ReadonlyArray<PropertyKey>),
        reason: first?.message ?? "invalid"
      })
    )
  }
  const entries: Array<SocketConfigEntry> = []
  const seen = new Set<string>()
  for (const [i, wire] of (decoded.success ?? []).entries()) {
    const fail = (key: string, reason: string) =>
      Result.fail(new SocketConfigError({ source, path: `[${i}].${key}`, reason }))
    if (wire.module === "") return fail("module", "is empty")
    const server = wire.server ?? false
    const role = `${server ? "server" : "client"}:${wire.module}`
    if (seen.has(role)) return fail("module", `"${wire.module}" has two ${server ? "server" : "client"} entries`)
    seen.add(role)
    const socketType = wire.sockettype ?? (wire.address.includes("/") ? "unix" : "tcp")
    const address = parseAddress(socketType, wire.address)
    // An empty address is the address's fault whatever the type; one that does not fit a type given may
    // be either's, and the type is named.
    if (Result.isFailure(address))
      return fail(wire.sockettype === undefined || wire.address === "" ? "address" : "sockettype", address.failure)
    const badAddress = invalidAddress(address.success, server ? "listen" : "connect")
    if (badAddress !== undefined) return fail("address", badAddress)
    if (wire.connmax !== undefined && wire.connmax !== null && wire.connmax <= 0)
      return fail("connmax", "must be positive (leave it out for the default, 64)")
    if (wire.buffersize !== undefined && wire.buffersize !== null && wire.buffersize <= 0)
      return fail("buffersize", "must be positive (leave it out for the default)")
    if (
      wire.maxframesize !== undefined &&
      wire.maxframesize !== null &&
      (wire.maxframesize < MinFrameBytes || wire.maxframesize > MaxFrameBytesLimit)
    )
      return fail("maxframesize", `must be from ${MinFrameBytes} to ${MaxFrameBytesLimit} bytes`)
    if (Boolean(wire.cert) !== Boolean(wire.key)) return fail(wire.cert ? "key" : "cert", "cert and key go together")
    for (const key of ["ca", "cert", "key"] as const) {
      const file = wire[key]
      const problem = file ? unreadableFile(file) : undefined
      if (problem !== undefined) return fail(key, problem)
    }
    // A key comes with its cert here (checked above): the first of ca and cert given names the fault.
    const tlsKey = wire.ca ? "ca" : wire.cert ? "cert" : undefined
    if (address.success._tag === "UnixPacket" && tlsKey !== undefined) return fail(tlsKey, tlsOverPackets)
    const tls =
      wire.ca || wire.cert
        ? { ca: wire.ca ?? undefined, cert: wire.cert ?? undefined, key: wire.key ?? undefined }
        : undefined
    entries.push({
      module: wire.module,
      server,
      address: address.success,
      socketType,
      connMax: wire.connmax ?? undefined,
      bufferSize: wire.buffersize ?? undefined,
      tls,
      framing: wire.framing ?? undefined,
      maxFrameBytes: wire.maxframesize ?? undefined
    })
  }
  return Result.succeed(entries)
}

/**
 * Parses YAML text in Go's format. Fails with `SocketConfigError` (YAML errors name the line). Never throws.
 *
 * @category decoding
 */
export const parseSocketConfig = (text: string, source = "code"): Result.Result<SocketConfig, SocketConfigError> => {
  let value: unknown
  try {
    // YAML 1.1, as Go's reader (go-yaml v2) reads it: `yes`, `no`, `on`, `off` are booleans.
    const document = parseDocument(text, { version: "1.1" })
    const error = document.errors[0]
    if (error !== undefined) {
      return Result.fail(new SocketConfigError({ source, path: "", reason: `invalid YAML: ${error.message}` }))
    }
    value = document.toJS()
  } catch (e) {
    return Result.fail(new SocketConfigError({ source, path: "", reason: `invalid YAML: ${(e as Error).message}` }))
  }
  return decodeSocketConfig(value, source)
}

/**
 * Reads the configuration: the file named by `SOCKET_MODULE_CONFIG` in `env`, else the default path if
 * that file exists. Fails with `SocketConfigError` when there is none, it cannot be read, or it is
 * invalid. Blocks only for the file read.
 *
 * @category constructors
 */
export const loadSocketConfig = (
  env: Readonly<Record<string, string | undefined>> = process.env,
  defaultPath: string = DefaultSocketConfigPath
): Effect.Effect<SocketConfig, SocketConfigError> =>
  Effect.suspend(() => {
    const named = env[SocketConfigEnv]
    const path = named !== undefined && named !== "" ? named : fs.existsSync(defaultPath) ? defaultPath : undefined
    if (path === undefined) {
      return Effect.fail(
        new SocketConfigError({
          source: SocketConfigEnv,
          path: "",
          reason: `no socket config: set ${SocketConfigEnv} to a YAML file (or create ${defaultPath})`
        })
      )
    }
    let text: string
    try {
      text = fs.readFileSync(path, "utf8")
    } catch (e) {
      return Effect.fail(new SocketConfigError({ source: path, path: "", reason: (e as Error).message }))
    }
    return Effect.fromResult(parseSocketConfig(text, path))
  })

/**
 * The server entries (Go's `GetServerSocketConfig`).
 *
 * @category getters
 */
export const serverEntries = (config: SocketConfig): ReadonlyArray<SocketConfigEntry> => config.filter((e) => e.server)

/**
 * The client module names: those a server accepts in handshakes (Go's `IsModuleEnabled`).
 *
 * @category getters
 */
export const clientModules = (config: SocketConfig): ReadonlyArray<string> =>
  config.filter((e) => !e.server).map((e) => e.module)

/**
 * The client entry of a module (Go's `GetClientSocketConfig`). Fails with `SocketConfigError` when
 * there is none.
 *
 * @category getters
 */
export const clientEntry = (
  config: SocketConfig,
  module: string
): Result.Result<SocketConfigEntry, SocketConfigError> => {
  const entry = config.find((e) => !e.server && e.module === module)
  return entry === undefined
    ? Result.fail(
        new SocketConfigError({ source: "config", path: "", reason: `no client entry for module "${module}"` })
      )
    : Result.succeed(entry)
}
