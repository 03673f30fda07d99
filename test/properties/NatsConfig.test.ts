/**
 * The NATS configuration as a property (R-NATS-10): configurations are generated from SPEC.md's list
 * of keys and their ranges, not from the parser. A YAML configuration of valid values reads back as
 * the options those values mean, with SPEC's defaults for the keys left out; one broken value (a key
 * of another program or one named like an object's own properties, a value out of its range or of
 * the wrong type, a pairing SPEC forbids) fails with `NatsConfigError` naming that key and saying
 * why, and never throws. A document that is no mapping, no YAML, or over 1 MiB fails naming no key.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { stringify } from "yaml"
import { parseNatsConfig, resolveNatsOptions } from "../../src/contexts/nats/NatsOptions.ts"
import { fcParams } from "../support/fc.ts"

const files = mkdtempSync(join(tmpdir(), "bh-nats-config-"))
const readable = (name: string) => {
  const file = join(files, name)
  writeFileSync(file, "only its being readable is checked")
  return file
}
const pem = { ca: readable("ca.pem"), cert: readable("cert.pem"), key: readable("key.pem") }

/** SPEC's numeric keys: YAML name, option name, default, largest value. */
const numeric = [
  ["heartbeatms", "heartbeatMs", 1000, 3_600_000],
  ["missedheartbeats", "missedHeartbeats", 3, 1000],
  ["maxinbound", "maxInbound", 1024, 1 << 24],
  ["maxpendingrequests", "maxPendingRequests", 65_536, 1 << 24],
  ["maxpendingrequestbytes", "maxPendingRequestBytes", 8 * 1024 * 1024, 2 ** 40],
  ["maxpeers", "maxPeers", 1024, 1 << 20],
  ["maxpeermodules", "maxPeerModules", 16_384, 1 << 24],
  ["flushevery", "flushEvery", 256, 1 << 20],
  ["sendwindow", "sendWindow", 256, 1 << 20],
  ["reconnecttimewaitms", "reconnectTimeWaitMs", 2000, 3_600_000],
  ["durablemaxmessages", "durableMaxMessages", 100_000, 1_000_000_000],
  ["durablemaxbytes", "durableMaxBytes", 64 * 1024 * 1024, 2 ** 50],
  ["durableackwaitms", "durableAckWaitMs", 30_000, 3_600_000]
] as const

const arbToken = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
const arbServer = fc
  .tuple(fc.constantFrom("nats://", "tls://", ""), fc.constantFrom("127.0.0.1", "nats-1", "[::1]"), fc.nat(65535))
  .map(([scheme, host, port]) => `${scheme}${host}:${port}`)

/** A valid configuration, as YAML data, and the options it means. */
const arbValid = fc
  .record(
    {
      servers: fc.oneof(arbServer, fc.array(arbServer, { minLength: 1, maxLength: 3 })),
      prefix: fc.array(arbToken, { minLength: 1, maxLength: 4 }).map((tokens) => tokens.join(".")),
      credentials: fc.oneof(
        fc.record({ user: arbToken }),
        fc.record({ user: arbToken, pass: arbToken }),
        fc.record({ token: arbToken })
      ),
      tls: fc.constantFrom<ReadonlyArray<keyof typeof pem>>(["ca"], ["cert", "key"], ["ca", "cert", "key"]),
      name: arbToken,
      numbers: fc.record(
        Object.fromEntries(numeric.map(([yaml, , , max]) => [yaml, fc.integer({ min: 1, max })])) as Record<
          string,
          fc.Arbitrary<number>
        >,
        { requiredKeys: [] }
      ),
      maxreconnectattempts: fc.integer({ min: -1, max: 1_000_000 }),
      durable: fc.uniqueArray(arbToken, { minLength: 1, maxLength: 3 }),
      // Keys left out given as YAML's empty value instead (`tls:`), which is null.
      empty: fc.subarray([
        "prefix",
        "user",
        "pass",
        "token",
        "tls",
        "name",
        ...numeric.map(([yaml]) => yaml),
        "maxreconnectattempts",
        "durable"
      ])
    },
    { requiredKeys: ["servers"] }
  )
  .map((drawn) => {
    const doc: Record<string, unknown> = { servers: drawn.servers }
    if (drawn.prefix !== undefined) doc.prefix = drawn.prefix
    if (drawn.credentials !== undefined) Object.assign(doc, drawn.credentials)
    if (drawn.tls !== undefined) doc.tls = Object.fromEntries(drawn.tls.map((key) => [key, pem[key]]))
    if (drawn.name !== undefined) doc.name = drawn.name
    Object.assign(doc, drawn.numbers ?? {})
    if (drawn.maxreconnectattempts !== undefined) doc.maxreconnectattempts = drawn.maxreconnectattempts
    // A durable module asks for an ack wait of at least two heartbeats (R-NATS-12); without one, none.
    const heartbeat = drawn.numbers?.heartbeatms ?? 1000
    const ackWait = drawn.numbers?.durableackwaitms ?? 30_000
    const durable = drawn.durable !== undefined && ackWait >= 2 * heartbeat ? drawn.durable : undefined
    if (durable !== undefined) doc.durable = durable
    for (const key of drawn.empty ?? []) if (!(key in doc)) doc[key] = null
    const credentials = (drawn.credentials ?? {}) as { user?: string; pass?: string; token?: string }
    const means = {
      servers: typeof drawn.servers === "string" ? [drawn.servers] : drawn.servers,
      prefix: drawn.prefix ?? "beehive",
      user: credentials.user,
      pass: credentials.pass,
      token: credentials.token,
      tls:
        drawn.tls === undefined
          ? undefined
          : {
              ca: drawn.tls.includes("ca") ? pem.ca : undefined,
              cert: drawn.tls.includes("cert") ? pem.cert : undefined,
              key: drawn.tls.includes("key") ? pem.key : undefined
            },
      name: drawn.name,
      ...Object.fromEntries(numeric.map(([yaml, option, fallback]) => [option, drawn.numbers?.[yaml] ?? fallback])),
      maxReconnectAttempts: drawn.maxreconnectattempts ?? 10,
      durable: durable ?? []
    }
    return { doc, means }
  })

/** One broken value: the change it makes, and the keys it may be reported under. */
interface Fault {
  readonly name: string
  readonly set?: Record<string, unknown>
  readonly remove?: ReadonlyArray<string>
  readonly keys: ReadonlyArray<string>
  /** What the reason says, for a value of the wrong type: what it must be (R-NATS-10). */
  readonly why?: RegExp
}

const faults: ReadonlyArray<Fault> = [
  ...["colour", "retries", "toString", "constructor", "hasOwnProperty", "valueOf", "heartbeatMs"].map((key) => ({
    name: `an unknown key ${key}`,
    set: { [key]: 1 },
    keys: [key]
  })),
  { name: "no servers", remove: ["servers"], keys: ["servers"] },
  { name: "an empty server list", set: { servers: [] }, keys: ["servers"] },
  { name: "65 servers", set: { servers: Array.from({ length: 65 }, (_, i) => `nats://h:${i}`) }, keys: ["servers"] },
  { name: "a server with a space", set: { servers: ["nats://h:1", "nats://a b:2"] }, keys: ["servers[1]"] },
  { name: "an empty server", set: { servers: [""] }, keys: ["servers[0]"] },
  { name: "a server that is a number", set: { servers: 4222 }, keys: ["servers"] },
  ...["", "a..b", "a b", ".a", "a.", "x".repeat(129), "a*", ">"].map((prefix) => ({
    name: `prefix ${JSON.stringify(prefix)}`,
    set: { prefix },
    keys: ["prefix"]
  })),
  { name: "a user that is a number", set: { user: 7 }, keys: ["user"], why: /^must be a string$/ },
  { name: "a password without a user", set: { pass: "p" }, remove: ["user", "token"], keys: ["pass"] },
  { name: "a token with a user", set: { token: "t", user: "u" }, remove: ["pass"], keys: ["token"] },
  { name: "tls that is no mapping", set: { tls: 3 }, keys: ["tls"], why: /^must be a mapping$/ },
  { name: "a tls ca that is a number", set: { tls: { ca: 3 } }, keys: ["tls.ca"], why: /^must be a string$/ },
  {
    name: "a tls cert that is a number, with its key",
    set: { tls: { cert: 3, key: pem.key } },
    keys: ["tls.cert"],
    why: /^must be a string$/
  },
  {
    name: "a tls key that is a list",
    set: { tls: { cert: pem.cert, key: [] } },
    keys: ["tls.key"],
    why: /^must be a string$/
  },
  { name: "a cert without its key", set: { tls: { cert: pem.cert } }, keys: ["tls.key"] },
  { name: "a key without its cert", set: { tls: { key: pem.key } }, keys: ["tls.cert"] },
  { name: "a ca that does not exist", set: { tls: { ca: join(files, "missing.pem") } }, keys: ["tls.ca"] },
  { name: "a ca that is a directory", set: { tls: { ca: files } }, keys: ["tls.ca"] },
  ...numeric.flatMap(([yaml, option, , max]) =>
    [0, -1, 1.5, max + 1, "ten"].map((value) => ({
      name: `${yaml} ${String(value)}`,
      set: { [yaml]: value },
      keys: [option],
      why: new RegExp(`^must be an integer from 1 to ${max}, got `)
    }))
  ),
  { name: "durable that is no list", set: { durable: "m" }, keys: ["durable"] },
  {
    name: "10001 durable modules",
    set: { durable: Array.from({ length: 10_001 }, (_, i) => `m${i}`) },
    keys: ["durable"]
  },
  { name: "an empty durable module", set: { durable: ["m", ""] }, keys: ["durable[1]"] },
  { name: "a durable module twice", set: { durable: ["m", "m"] }, keys: ["durable[1]"] },
  {
    name: "a durable module whose stream name is too long",
    set: { durable: ["m", "x".repeat(254)] },
    keys: ["durable[1]"],
    why: /^its stream name would exceed 255 characters$/
  },
  {
    name: "an ack wait under two heartbeats with a durable module",
    set: { durable: ["m"], heartbeatms: 1000, durableackwaitms: 1999 },
    keys: ["durableAckWaitMs"]
  },
  ...[-2, 1.5, 1_000_001, "many"].map((value) => ({
    name: `maxreconnectattempts ${String(value)}`,
    set: { maxreconnectattempts: value },
    keys: ["maxReconnectAttempts"]
  }))
]

const apply = (doc: Record<string, unknown>, fault: Fault): Record<string, unknown> => {
  const broken = { ...doc }
  for (const key of fault.remove ?? []) delete broken[key]
  return { ...broken, ...fault.set }
}

describe("R-NATS-10 the NATS configuration", () => {
  it("R-NATS-10 a YAML configuration of valid values reads back as the options it means, SPEC's defaults for the keys left out or given no value", () =>
    fc.assert(
      fc.property(arbValid, ({ doc, means }) => {
        const parsed = parseNatsConfig(stringify(doc))
        if (Result.isFailure(parsed)) throw new Error(`refused: ${parsed.failure.key}: ${parsed.failure.reason}`)
        const resolved = resolveNatsOptions(parsed.success)
        if (Result.isFailure(resolved)) throw new Error(`refused: ${resolved.failure.key}`)
        const { onEvent: _, ...options } = resolved.success
        expect(options).toEqual(means)
      }),
      fcParams(300)
    ))

  it("R-NATS-10 one broken value fails with NatsConfigError naming its key and saying why; nothing throws", () =>
    fc.assert(
      fc.property(arbValid, fc.nat(), ({ doc }, pick) => {
        const fault = faults[pick % faults.length] as Fault
        const parsed = parseNatsConfig(stringify(apply(doc, fault)))
        if (Result.isSuccess(parsed)) throw new Error(`${fault.name} was accepted`)
        expect(parsed.failure._tag).toBe("NatsConfigError")
        expect(fault.keys, fault.name).toContain(parsed.failure.key)
        expect(parsed.failure.reason.length, fault.name).toBeGreaterThan(0)
        if (fault.why !== undefined) expect(parsed.failure.reason, fault.name).toMatch(fault.why)
      }),
      fcParams(500)
    ))

  it("R-NATS-10 a document that is no mapping, no YAML, or over 1 MiB fails naming no key, saying why", () => {
    const texts = ["- a\n- b\n", "3\n", "", "servers: [\n", `servers: nats://h:1\nname: ${"n".repeat(1 << 20)}\n`]
    for (const text of texts) {
      const parsed = parseNatsConfig(text)
      if (Result.isSuccess(parsed)) throw new Error(`${JSON.stringify(text.slice(0, 40))} was accepted`)
      expect(parsed.failure.key).toBe("")
      expect(parsed.failure.reason.length).toBeGreaterThan(0)
    }
    expect(Result.isFailure(parseNatsConfig(42 as unknown as string))).toBe(true)
  })

  it("R-NATS-10 anything but a string (null, undefined, a number, an object with a length, a list) fails naming no key, saying it must be a string; nothing throws", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          // Things with a length, as a string has: a list of lines, an object claiming one.
          fc.array(fc.string(), { maxLength: 3 }),
          fc.record({ length: fc.integer({ min: 0, max: 1 << 21 }) })
        ),
        (value) => {
          fc.pre(typeof value !== "string")
          const parsed = parseNatsConfig(value as string)
          if (Result.isSuccess(parsed)) throw new Error(`${String(value)} was accepted`)
          expect([parsed.failure.key, parsed.failure.reason]).toEqual([
            "",
            "the configuration must be a string of at most 1 MiB"
          ])
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-10 options that are no object (nothing, null, a number, a string, a list, a function) or an object without servers fail with NatsConfigError naming servers; nothing throws", () =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(undefined, null, () => ({ servers: "nats://x:1" })),
          fc.integer(),
          fc.string(),
          fc.array(fc.string(), { maxLength: 2 }),
          fc.dictionary(
            fc.string().filter((key) => key !== "servers"),
            fc.anything(),
            { maxKeys: 3 }
          )
        ),
        (options) => {
          const resolved = resolveNatsOptions(options as never)
          if (Result.isSuccess(resolved)) throw new Error(`${String(options)} was accepted`)
          expect([resolved.failure._tag, resolved.failure.key]).toEqual(["NatsConfigError", "servers"])
        }
      ),
      fcParams(200)
    ))

  it("R-NATS-10 an onEvent option that is no function fails with NatsConfigError naming onEvent, saying it must be a function; nothing throws", () =>
    fc.assert(
      fc.property(arbValid, fc.anything(), ({ means }, onEvent) => {
        fc.pre(onEvent !== undefined && typeof onEvent !== "function")
        const resolved = resolveNatsOptions({ ...means, onEvent } as never)
        if (Result.isSuccess(resolved)) throw new Error(`onEvent ${String(onEvent)} was accepted`)
        expect([resolved.failure._tag, resolved.failure.key, resolved.failure.reason]).toEqual([
          "NatsConfigError",
          "onEvent",
          "must be a function"
        ])
      }),
      fcParams(100)
    ))
})
