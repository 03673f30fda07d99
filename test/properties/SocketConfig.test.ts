/**
 * The socket configuration as a property (R-SOCK-16, R-SOCK-18): configurations are generated from
 * SPEC.md's rules, not from the parser. A configuration written only of valid values decodes to
 * exactly the entries those values mean, whether given as data or as YAML text (YAML 1.1 booleans
 * included); one broken value anywhere makes it fail with `SocketConfigError` naming that entry and
 * key, and never throws. An empty address, an unknown socket type or an address that is not host:port
 * is refused with a reason that says so (the type given and the types taken; the address given). The
 * file `SOCKET_MODULE_CONFIG` names is read; one that cannot be read fails naming the file and the
 * system's reason.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { SocketTypes } from "../../src/contexts/socket/SocketAddress.ts"
import {
  clientEntry,
  decodeSocketConfig,
  loadSocketConfig,
  parseSocketConfig,
  type SocketConfig,
  SocketConfigEnv
} from "../../src/contexts/socket/SocketConfig.ts"
import { fcParams } from "../support/fc.ts"

const files = mkdtempSync(join(tmpdir(), "bh-config-property-"))
const readable = (name: string) => {
  const file = join(files, name)
  writeFileSync(file, "only its being readable is checked")
  return file
}
const pem = { ca: readable("ca.pem"), cert: readable("cert.pem"), key: readable("key.pem") }
const directory = join(files, "a-directory")
let configFiles = 0
mkdirSync(directory)

/** What an entry means, by SPEC.md: the oracle's own reading of each key. */
interface Meaning {
  readonly module: string
  readonly server: boolean
  readonly address:
    | { readonly _tag: "Unix" | "UnixPacket"; readonly path: string }
    | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }
  readonly socketType: string
  readonly connMax: number | undefined
  readonly bufferSize: number | undefined
  readonly tls:
    | { readonly ca: string | undefined; readonly cert: string | undefined; readonly key: string | undefined }
    | undefined
  readonly framing: "frame" | "ndjson" | undefined
  readonly maxFrameBytes: number | undefined
}

/** An entry as written (the keys of Go's format), with what it should mean. */
interface Written {
  readonly wire: Record<string, unknown>
  readonly meaning: Meaning
}

const optional = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })
const put = (wire: Record<string, unknown>, key: string, value: unknown) => {
  if (value !== undefined) wire[key] = value
}

// A unix path of a given length in bytes, some of its characters two bytes long (R-SOCK-18 counts bytes).
const unixPath = (bytes: number, wide: boolean) => {
  const rest = bytes - "/tmp/".length
  return wide ? `/tmp/${"é".repeat(Math.floor(rest / 2))}${rest % 2 === 1 ? "s" : ""}` : `/tmp/${"s".repeat(rest)}`
}

const arbAddress = (server: boolean) =>
  fc.oneof(
    fc
      .record({
        bytes: fc.integer({ min: 8, max: 107 }),
        wide: fc.boolean(),
        explicit: fc.constantFrom(undefined, "unix", "unixpacket")
      })
      .map(({ bytes, wide, explicit }) => ({
        text: unixPath(bytes, wide),
        socketType: explicit,
        // unixpacket is a SOCK_SEQPACKET socket (R-SOCK-30).
        means: {
          _tag: explicit === "unixpacket" ? ("UnixPacket" as const) : ("Unix" as const),
          path: unixPath(bytes, wide)
        },
        inferred: "unix"
      })),
    fc
      .record({
        host: fc.constantFrom("127.0.0.1", "localhost", "", "::1", "10.1.2.3"),
        port: fc.integer({ min: server ? 0 : 1, max: 65535 }),
        explicit: fc.constantFrom(undefined, "tcp", "tcp4", "tcp6")
      })
      .map(({ host, port, explicit }) => ({
        text: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
        socketType: explicit,
        // An empty host is the loopback host.
        means: { _tag: "Tcp" as const, host: host === "" ? "127.0.0.1" : host, port },
        inferred: "tcp"
      }))
  )

const arbTls = fc.constantFrom<ReadonlyArray<keyof typeof pem>>([], ["ca"], ["cert", "key"], ["ca", "cert", "key"])

const arbEntry = (module: string): fc.Arbitrary<Written> =>
  fc.boolean().chain((server) =>
    fc
      .record({
        serverKey: fc.constantFrom("absent", "written"),
        address: arbAddress(server),
        connmax: optional(fc.integer({ min: 1, max: 10_000 })),
        buffersize: optional(fc.integer({ min: 1, max: 1 << 20 })),
        framing: optional(fc.constantFrom("frame" as const, "ndjson" as const)),
        maxframesize: optional(
          fc.oneof(fc.constantFrom(1024, 256 * 1024 * 1024), fc.integer({ min: 1024, max: 256 * 1024 * 1024 }))
        ),
        tls: arbTls,
        nulls: fc.boolean()
      })
      .map(({ serverKey, address, connmax, buffersize, framing, maxframesize, tls: wanted, nulls }) => {
        // No TLS over packets (R-SOCK-30): such an entry is a fault, below.
        const tls = address.means._tag === "UnixPacket" ? [] : wanted
        const wire: Record<string, unknown> = { module, address: address.text }
        // A client may leave `server` out; a server must say so.
        if (server || serverKey === "written") wire.server = server
        put(wire, "sockettype", address.socketType)
        // A key written as null means the same as a key left out.
        put(wire, "connmax", connmax ?? (nulls ? null : undefined))
        put(wire, "buffersize", buffersize ?? (nulls ? null : undefined))
        put(wire, "framing", framing ?? (nulls ? null : undefined))
        put(wire, "maxframesize", maxframesize ?? (nulls ? null : undefined))
        for (const key of tls) wire[key] = pem[key]
        if (nulls && tls.length === 0) wire.ca = ""
        const meaning: Meaning = {
          module,
          server,
          address: address.means,
          socketType: address.socketType ?? address.inferred,
          connMax: connmax,
          bufferSize: buffersize,
          tls:
            tls.length === 0
              ? undefined
              : {
                  ca: tls.includes("ca") ? pem.ca : undefined,
                  cert: tls.includes("cert") ? pem.cert : undefined,
                  key: tls.includes("key") ? pem.key : undefined
                },
          framing,
          maxFrameBytes: maxframesize
        }
        return { wire, meaning }
      })
  )

const arbValid = fc
  .array(fc.constantFrom("edged", "edgehub", "metamanager", "devicetwin"), { minLength: 0, maxLength: 4 })
  .chain((names) => fc.tuple(...names.map((name, i) => arbEntry(`${name}${i}`))))

/** One broken value: the change it makes to an entry, and the keys it may be reported under. */
interface Fault {
  readonly name: string
  readonly set?: Record<string, unknown>
  readonly remove?: ReadonlyArray<string>
  readonly keys: ReadonlyArray<string>
}

const faults = (wire: Record<string, unknown>): ReadonlyArray<Fault> => {
  const server = wire.server === true
  const tcp = typeof wire.address === "string" && !wire.address.includes("/")
  const all: Array<Fault | undefined> = [
    { name: "a typo of connmax", set: { conmax: 10 }, keys: ["conmax"] },
    { name: "a key of another program", set: { retries: 3 }, keys: ["retries"] },
    // Keys every object or string has are keys like any other here: unknown.
    { name: "a key named toString", set: { toString: 3 }, keys: ["toString"] },
    { name: "a key named constructor", set: { constructor: "x" }, keys: ["constructor"] },
    { name: "an empty module", set: { module: "" }, keys: ["module"] },
    { name: "no module", remove: ["module"], keys: ["module"] },
    { name: "no address", remove: ["address"], keys: ["address"] },
    { name: "an empty address", set: { address: "" }, keys: ["address"] },
    { name: "an unknown socket type", set: { sockettype: "udp" }, keys: ["address", "sockettype"] },
    { name: "a number as module", set: { module: 7 }, keys: ["module"] },
    { name: "server neither true nor false", set: { server: "maybe" }, keys: ["server"] },
    { name: "connmax 0", set: { connmax: 0 }, keys: ["connmax"] },
    { name: "connmax negative", set: { connmax: -5 }, keys: ["connmax"] },
    { name: "connmax not an integer", set: { connmax: 2.5 }, keys: ["connmax"] },
    { name: "connmax a string", set: { connmax: "ten" }, keys: ["connmax"] },
    { name: "buffersize 0", set: { buffersize: 0 }, keys: ["buffersize"] },
    { name: "buffersize negative", set: { buffersize: -1 }, keys: ["buffersize"] },
    { name: "maxframesize below 1024", set: { maxframesize: 1023 }, keys: ["maxframesize"] },
    {
      name: "maxframesize above 256 MiB",
      set: { maxframesize: 256 * 1024 * 1024 + 1 },
      keys: ["maxframesize"]
    },
    { name: "an unknown framing", set: { framing: "lines" }, keys: ["framing"] },
    {
      name: "a unix path over 107 bytes",
      set: { address: unixPath(108, true) },
      remove: ["sockettype"],
      keys: ["address"]
    },
    {
      name: "a cert without its key",
      set: { cert: pem.cert },
      remove: ["key"],
      keys: ["key"]
    },
    {
      name: "a key without its cert",
      set: { key: pem.key },
      remove: ["cert"],
      keys: ["cert"]
    },
    { name: "a ca that does not exist", set: { ca: join(files, "missing.pem") }, keys: ["ca"] },
    {
      name: "a ca over unixpacket",
      set: { address: unixPath(40, false), sockettype: "unixpacket", ca: pem.ca },
      keys: ["ca"]
    },
    {
      name: "a cert and its key over unixpacket",
      set: { address: unixPath(40, false), sockettype: "unixpacket", cert: pem.cert, key: pem.key },
      remove: ["ca"],
      keys: ["cert"]
    },
    { name: "a ca that is a directory", set: { ca: directory }, keys: ["ca"] },
    tcp
      ? {
          name: "a tcp address without a port",
          set: { address: "localhost" },
          keys: ["address", "sockettype"]
        }
      : undefined,
    tcp
      ? {
          name: "a port over 65535",
          set: { address: "127.0.0.1:65536" },
          keys: ["address", "sockettype"]
        }
      : undefined,
    tcp && !server ? { name: "a client's port 0", set: { address: "127.0.0.1:0" }, keys: ["address"] } : undefined
  ]
  return all.filter((f): f is Fault => f !== undefined)
}

// YAML text of entries, with booleans written the ways YAML 1.1 allows (as Go's reader reads them).
const toYaml = (entries: ReadonlyArray<Record<string, unknown>>, spelling: number): string => {
  const trues = ["true", "yes", "on", "True", "YES"]
  const falses = ["false", "no", "off", "False", "NO"]
  const value = (v: unknown) =>
    v === true
      ? (trues[spelling % trues.length] as string)
      : v === false
        ? (falses[spelling % falses.length] as string)
        : JSON.stringify(v)
  if (entries.length === 0) return spelling % 2 === 0 ? "" : "[]\n"
  return entries
    .map((entry) =>
      Object.entries(entry)
        .map(([key, v], i) => `${i === 0 ? "- " : "  "}${key}: ${value(v)}`)
        .join("\n")
    )
    .join("\n")
}

/** The keys of an entry, by SPEC.md (R-SOCK-16). */
const specKeys = [
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

/** Levenshtein distance, by recursion over suffixes with a memo (the oracle's own way of counting edits). */
const edits = (a: string, b: string): number => {
  const memo = new Map<string, number>()
  const go = (i: number, j: number): number => {
    if (i === a.length) return b.length - j
    if (j === b.length) return a.length - i
    const key = `${i},${j}`
    const known = memo.get(key)
    if (known !== undefined) return known
    const value = a[i] === b[j] ? go(i + 1, j + 1) : 1 + Math.min(go(i + 1, j), go(i, j + 1), go(i + 1, j + 1))
    memo.set(key, value)
    return value
  }
  return go(0, 0)
}

/** A misspelling of a known key: up to three edits (insert, delete, replace), in any case. */
const arbMisspelt = fc
  .tuple(
    fc.constantFrom(...specKeys),
    fc.array(fc.tuple(fc.constantFrom("insert", "delete", "replace"), fc.nat(), fc.constantFrom(..."abcdekmnrx_")), {
      minLength: 1,
      maxLength: 3
    }),
    fc.boolean()
  )
  .map(([key, changes, upper]) => {
    let word = key
    for (const [change, at, letter] of changes) {
      const i = at % (word.length + 1)
      if (change === "insert") word = word.slice(0, i) + letter + word.slice(i)
      else if (change === "delete" && word.length > 1) word = word.slice(0, i) + word.slice(i + 1)
      else if (change === "replace") word = word.slice(0, i) + letter + word.slice(i + 1)
    }
    return upper ? word.toUpperCase() : word
  })
  .filter((word) => !specKeys.includes(word))

const decodedAs = (result: Result.Result<unknown, unknown>) =>
  Result.isSuccess(result) ? { ok: result.success } : { error: result.failure }

describe("the socket configuration, generated from SPEC.md", () => {
  it("R-SOCK-16 R-SOCK-18 valid values decode to what they mean, as data and as YAML 1.1 text", () =>
    fc.assert(
      fc.property(arbValid, fc.nat(9), (entries, spelling) => {
        const expected = entries.map((e) => e.meaning)
        const wires = entries.map((e) => e.wire)
        expect(decodedAs(decodeSocketConfig(wires))).toEqual({ ok: expected })
        expect(decodedAs(parseSocketConfig(toYaml(wires, spelling)))).toEqual({ ok: expected })
      }),
      fcParams(300)
    ))

  it("R-SOCK-16 R-SOCK-18 one broken value fails with SocketConfigError naming its entry and key, never throwing", () =>
    fc.assert(
      fc.property(
        arbValid.filter((entries) => entries.length > 0),
        fc.nat(),
        fc.nat(),
        fc.constantFrom("code", "/etc/beehive.yaml"),
        (entries, which, pick, source) => {
          const wires = entries.map((e) => structuredClone(e.wire))
          const at = which % wires.length
          const wire = wires[at] as Record<string, unknown>
          const candidates = faults(wire)
          const fault = candidates[pick % candidates.length] as Fault
          Object.assign(wire, fault.set)
          for (const key of fault.remove ?? []) delete wire[key]
          const result = decodeSocketConfig(wires, source)
          if (!Result.isFailure(result)) throw new Error(`${fault.name} was accepted: ${JSON.stringify(wires)}`)
          expect(result.failure._tag, fault.name).toBe("SocketConfigError")
          expect(result.failure.source, fault.name).toBe(source)
          expect(
            fault.keys.map((key) => `[${at}].${key}`),
            fault.name
          ).toContain(result.failure.path)
          expect(result.failure.reason.length, fault.name).toBeGreaterThan(0)
        }
      ),
      fcParams(500)
    ))

  it("R-SOCK-16 a module named twice in one role fails at its second entry; in the other role it is a different entry", () =>
    fc.assert(
      fc.property(
        arbValid.filter((entries) => entries.length > 0),
        fc.nat(),
        fc.boolean(),
        (entries, which, sameRole) => {
          const wires = entries.map((e) => e.wire)
          const copied = wires[which % wires.length] as Record<string, unknown>
          const server = copied.server === true
          const second: Record<string, unknown> = { ...copied, server: sameRole ? server : !server }
          // A client entry may not bind port 0; a server's copy of a client's address is fine.
          if (!sameRole && server && typeof second.address === "string" && second.address.endsWith(":0"))
            second.address = second.address.replace(/:0$/, ":1")
          const result = decodeSocketConfig([...wires, second])
          if (sameRole) expect(decodedAs(result)).toMatchObject({ error: { path: `[${wires.length}].module` } })
          else expect(Result.isSuccess(result)).toBe(true)
        }
      ),
      fcParams(200)
    ))

  it("R-SOCK-16 an unknown key fails naming the key it probably meant (within two edits, case aside), or none when no key is that near", () =>
    fc.assert(
      fc.property(
        arbValid.filter((entries) => entries.length > 0),
        arbMisspelt,
        (entries, misspelt) => {
          const wires = entries.map((e) => ({ ...e.wire }))
          ;(wires[0] as Record<string, unknown>)[misspelt] = 1
          const result = decodeSocketConfig(wires)
          if (!Result.isFailure(result)) throw new Error(`${misspelt} was accepted`)
          expect(result.failure.path).toBe(`[0].${misspelt}`)
          const near = specKeys.filter((key) => edits(misspelt.toLowerCase(), key) <= 2)
          const named = /did you mean "([^"]+)"/.exec(result.failure.reason)?.[1]
          if (near.length === 0) expect(named, misspelt).toBeUndefined()
          else expect(near, misspelt).toContain(named)
        }
      ),
      fcParams(500)
    ))

  it("R-SOCK-16 what is not a list of entries fails with SocketConfigError, never throws", () =>
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 3 }), fc.string({ maxLength: 200 })),
        (value) => {
          const decoded = decodeSocketConfig(value)
          if (Result.isFailure(decoded)) expect(decoded.failure._tag).toBe("SocketConfigError")
          const parsed = parseSocketConfig(typeof value === "string" ? value : (JSON.stringify(value) ?? ""))
          if (Result.isFailure(parsed)) expect(parsed.failure._tag).toBe("SocketConfigError")
        }
      ),
      fcParams(500)
    ))

  it("R-SOCK-16 a valid document with a YAML defect after it (an unclosed quote or flow, a tab as indentation, a key twice, a misaligned item) fails as invalid YAML, naming the defect's line, never decoding what came before it", () =>
    fc.assert(
      fc.property(
        arbValid,
        fc.nat(9),
        fc.constantFrom(
          '- module: "unclosed\n',
          "- module: [a, b\n",
          "- module: x\n\t  server: true\n",
          "- module: x\n  module: y\n",
          "- module: x\n - address: /a\n",
          "{module: x\n"
        ),
        (entries, spelling, defect) => {
          const text = toYaml(
            entries.map((e) => e.wire),
            spelling
          )
          // No entries is the text `[]`, which nothing can follow: then the defect alone.
          const valid = entries.length === 0 ? "" : text.endsWith("\n") ? text : `${text}\n`
          // The defect's line: the first line after the valid document, or the one after that.
          const first = valid.split("\n").length
          const parsed = parseSocketConfig(`${valid}${defect}`)
          if (Result.isSuccess(parsed)) throw new Error(`accepted: ${JSON.stringify(defect)}`)
          expect(parsed.failure).toMatchObject({ _tag: "SocketConfigError", path: "" })
          expect(parsed.failure.reason).toMatch(/^invalid YAML: /)
          const line = Number(/at line (\d+)/.exec(parsed.failure.reason)?.[1])
          expect([first, first + 1]).toContain(line)
        }
      ),
      fcParams(200)
    ))

  it("R-SOCK-16 R-SOCK-18 an empty address, an unknown socket type or a TCP address that is not host:port fails with a reason saying what is wrong", () =>
    fc.assert(
      fc.property(
        arbValid.filter((entries) => entries.length > 0),
        fc.nat(),
        fc.oneof(
          fc.constant({ _tag: "empty" as const }),
          fc
            .stringMatching(/^[a-z][a-z0-9]{0,7}$/)
            .filter((type) => !SocketTypes.includes(type))
            .map((type) => ({ _tag: "unknown type" as const, type })),
          fc
            .tuple(fc.constantFrom("tcp", "tcp4", "tcp6", undefined), fc.stringMatching(/^[a-z][a-z0-9.]{0,9}$/))
            .map(([type, address]) => ({ _tag: "no port" as const, type, address }))
        ),
        (entries, which, fault) => {
          const wires = entries.map((e) => ({ ...e.wire }))
          const wire = wires[which % wires.length] as Record<string, unknown>
          if (fault._tag === "empty") wire.address = ""
          else if (fault._tag === "unknown type") wire.sockettype = fault.type
          else {
            wire.address = fault.address
            if (fault.type === undefined) delete wire.sockettype
            else wire.sockettype = fault.type
          }
          const result = decodeSocketConfig(wires)
          if (!Result.isFailure(result)) throw new Error(`${JSON.stringify(fault)} was accepted`)
          const { path, reason } = result.failure
          const at = `[${which % wires.length}]`
          if (fault._tag === "empty") {
            // An empty address is the address's fault, whatever the socket type says.
            expect(path).toBe(`${at}.address`)
            expect(reason).toMatch(/empty/)
          } else if (fault._tag === "unknown type") {
            // It names the type given and every type it takes.
            expect(path).toBe(`${at}.sockettype`)
            expect(reason).toContain(`"${fault.type}"`)
            for (const type of SocketTypes) expect(reason).toContain(type)
          } else {
            // An address that does not fit the type given: either key may be the one mistaken.
            expect([`${at}.address`, `${at}.sockettype`]).toContain(path)
            expect(reason).toContain(`"${fault.address}"`)
          }
        }
      ),
      fcParams(300)
    ))

  it("R-SOCK-16 the file SOCKET_MODULE_CONFIG names is read and parsed; one that cannot be read fails with SocketConfigError naming the file and the system's reason", () =>
    fc.assert(
      fc.asyncProperty(
        arbValid,
        fc.nat(9),
        fc.constantFrom("readable", "missing", "a directory"),
        async (entries, spelling, state) => {
          const file = join(files, `config-${++configFiles}.yaml`)
          if (state === "readable")
            writeFileSync(
              file,
              toYaml(
                entries.map((e) => e.wire),
                spelling
              )
            )
          if (state === "a directory") mkdirSync(file)
          const env = { [SocketConfigEnv]: file }
          const exit = await Effect.runPromiseExit(loadSocketConfig(env, join(files, "no-default.yaml")))
          if (state === "readable") {
            expect(exit).toEqual(Exit.succeed(entries.map((e) => e.meaning)))
            return
          }
          if (!Exit.isFailure(exit)) throw new Error(`${state} ${file} was read`)
          const error = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
          expect(error?._tag).toBe("SocketConfigError")
          expect(error?.source).toBe(file)
          // The file failed, not an entry or a key in it.
          expect(error?.path).toBe("")
          // The system's reason: no such file, or a directory where a file was named.
          expect(error?.reason).toContain(state === "missing" ? "ENOENT" : "EISDIR")
        }
      ),
      fcParams(60)
    ))

  it("R-SOCK-16 the file is the one SOCKET_MODULE_CONFIG names when it is set and not empty, else the default path when it exists; with neither, SocketConfigError names the variable", () =>
    fc.assert(
      fc.asyncProperty(
        arbValid,
        arbValid,
        fc.constantFrom<string | undefined>(undefined, "", "a file"),
        fc.boolean(),
        async (named, fallback, variable, defaultExists) => {
          const file = join(files, `named-${++configFiles}.yaml`)
          const defaultPath = join(files, `default-${configFiles}.yaml`)
          writeFileSync(
            file,
            toYaml(
              named.map((e) => e.wire),
              0
            )
          )
          if (defaultExists)
            writeFileSync(
              defaultPath,
              toYaml(
                fallback.map((e) => e.wire),
                0
              )
            )
          const env = { [SocketConfigEnv]: variable === "a file" ? file : variable }
          const exit = await Effect.runPromiseExit(loadSocketConfig(env, defaultPath))
          if (variable === "a file") expect(exit).toEqual(Exit.succeed(named.map((e) => e.meaning)))
          else if (defaultExists) expect(exit).toEqual(Exit.succeed(fallback.map((e) => e.meaning)))
          else {
            if (!Exit.isFailure(exit))
              throw new Error(`read with ${SocketConfigEnv}=${String(variable)} and no default`)
            const error = exit.cause.reasons.find((r) => r._tag === "Fail")?.error
            // No file, so no entry or key in one: the variable is what failed.
            expect(error).toMatchObject({ _tag: "SocketConfigError", source: SocketConfigEnv, path: "" })
            expect(error?.reason).toContain(defaultPath)
          }
        }
      ),
      fcParams(40)
    ))
})

describe("R-SOCK-16 a module's client entry", () => {
  it("R-SOCK-16 the client entry of a module is the entry with its name that is not a server; the servers and the other modules' entries are never taken, and a module without one fails naming it", () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ module: fc.constantFrom("edged", "twin", "hub", "meta"), server: fc.boolean() }), {
          selector: (e) => `${e.module}/${e.server}`,
          maxLength: 8
        }),
        fc.constantFrom("edged", "twin", "hub", "meta"),
        (shapes, module) => {
          const config: SocketConfig = shapes.map((shape, i) => ({
            ...shape,
            address: { _tag: "Unix", path: `/run/${i}.sock` },
            socketType: "unix",
            connMax: undefined,
            bufferSize: undefined,
            tls: undefined,
            framing: undefined,
            maxFrameBytes: undefined
          }))
          const clients = new Map(config.flatMap((e) => (e.server ? [] : [[e.module, e] as const])))
          const found = clientEntry(config, module)
          const expected = clients.get(module)
          if (expected === undefined) {
            expect(Result.isFailure(found)).toBe(true)
            if (Result.isFailure(found))
              expect(found.failure).toMatchObject({
                _tag: "SocketConfigError",
                source: "config",
                path: "",
                reason: `no client entry for module "${module}"`
              })
          } else {
            expect(found).toEqual(Result.succeed(expected))
          }
        }
      ),
      fcParams(200)
    ))
})

describe("R-SOCK-16 hostile YAML", () => {
  it("R-SOCK-16 a document whose aliases would expand past what a configuration needs (a 'billion laughs') is refused as invalid YAML, at once, whatever its depth and width", () =>
    fc.assert(
      fc.property(fc.integer({ min: 6, max: 12 }), fc.integer({ min: 6, max: 10 }), (depth, width) => {
        const lines = [`l0: &l0 [${Array(width).fill('"laugh"').join(", ")}]`]
        for (let level = 1; level <= depth; level++)
          lines.push(
            `l${level}: &l${level} [${Array(width)
              .fill(`*l${level - 1}`)
              .join(", ")}]`
          )
        const parsed = parseSocketConfig(lines.join("\n"))
        expect(Result.isFailure(parsed)).toBe(true)
        if (Result.isFailure(parsed)) expect(parsed.failure.reason).toMatch(/^invalid YAML: \w+/)
      }),
      fcParams(20)
    ))
})
