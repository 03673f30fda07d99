import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Result } from "effect"
import { describe, expect, it } from "vitest"
import { backoffDelayMillis } from "../../src/contexts/socket/Backoff.ts"
import { parseAddress } from "../../src/contexts/socket/SocketAddress.ts"
import {
  clientEntry,
  clientModules,
  decodeSocketConfig,
  loadSocketConfig,
  parseSocketConfig,
  serverEntries
} from "../../src/contexts/socket/SocketConfig.ts"

const caFile = join(mkdtempSync(join(tmpdir(), "bh-config-")), "ca.pem")
writeFileSync(caFile, "not checked for content, only for being readable")

const goConfig = `
- module: srv
  server: true
  address: /tmp/beehive.sock
  sockettype: unixpacket
  connmax: 2
  buffersize: 65536
  ca: ""
  cert: ""
  key: ""
- module: cli
  address: /tmp/beehive.sock
  sockettype: unixpacket
- module: tcpcli
  address: "127.0.0.1:7000"
  sockettype: tcp
  framing: ndjson
  maxframesize: 1024
  ca: ${caFile}
`

const errorOf = (r: Result.Result<unknown, { path: string; reason: string }>) =>
  Result.isFailure(r) ? { path: r.failure.path, reason: r.failure.reason } : undefined

describe("socket config", () => {
  it("R-SOCK-16 Go's YAML list format is read into validated entries", () => {
    const config = Result.getOrThrow(parseSocketConfig(goConfig))
    expect(serverEntries(config)).toEqual([
      {
        module: "srv",
        server: true,
        address: { _tag: "UnixPacket", path: "/tmp/beehive.sock" },
        socketType: "unixpacket",
        connMax: 2,
        bufferSize: 65536,
        tls: undefined,
        framing: undefined,
        maxFrameBytes: undefined
      }
    ])
    expect(clientModules(config)).toEqual(["cli", "tcpcli"])
    expect(Result.getOrThrow(clientEntry(config, "tcpcli"))).toMatchObject({
      address: { _tag: "Tcp", host: "127.0.0.1", port: 7000 },
      framing: "ndjson",
      maxFrameBytes: 1024,
      tls: { ca: caFile, cert: undefined, key: undefined }
    })
    expect(errorOf(clientEntry(config, "srv"))?.reason).toBe('no client entry for module "srv"')
    expect(Result.getOrThrow(parseSocketConfig(""))).toEqual([])
    expect(Result.getOrThrow(decodeSocketConfig([{ module: "m", address: "localhost:1" }]))[0]?.socketType).toBe("tcp")
  })

  it("R-SOCK-16 invalid configurations fail with SocketConfigError naming the entry and the key", () => {
    const cases: Array<[string, string, string]> = [
      ["- module: [", "", "invalid YAML"],
      ["module: x", "", "Expected array"],
      ["- address: /x", "[0].module", "Missing key"],
      ["- module: m\n  address: 5", "[0].address", "Expected string"],
      ["- module: m\n  address: /x\n  connmax: many", "[0].connmax", "Expected"],
      ["- module: ''\n  address: /x", "[0].module", "is empty"],
      ["- module: m\n  address: /x\n  sockettype: udp", "[0].sockettype", 'unsupported socket type "udp"'],
      ["- module: m\n  address: nohostport\n  sockettype: tcp", "[0].sockettype", "is not host:port"],
      ["- module: m\n  address: 'h:99999'", "[0].address", "is not host:port"],
      ["- module: m\n  address: ''", "[0].address", "address is empty"],
      ["- module: m\n  address: /x\n  connmax: -1", "[0].connmax", "must be positive"],
      [
        "- module: m\n  address: /x\n  connmax: 0",
        "[0].connmax",
        "must be positive (leave it out for the default, 64)"
      ],
      ["- module: m\n  address: /x\n  buffersize: -1", "[0].buffersize", "must be positive"],
      ["- module: m\n  address: /x\n  maxframesize: 0", "[0].maxframesize", "must be from 1024 to"],
      ["- module: m\n  address: /x\n  maxframesize: 1", "[0].maxframesize", "must be from 1024 to"],
      ["- module: m\n  address: /x\n  conmax: 10", "[0].conmax", 'unknown key (did you mean "connmax"?)'],
      ["- module: m\n  address: /x\n  tls: true", "[0].tls", "unknown key; the keys are module, server"],
      ["- module: m\n  address: /x\n  ca: /nonexistent/ca.pem", "[0].ca", "cannot read /nonexistent/ca.pem: ENOENT"],
      [
        "- module: m\n  address: /x\n  cert: /nonexistent/c.pem\n  key: /nonexistent/k.pem",
        "[0].cert",
        "cannot read /nonexistent/c.pem"
      ],
      [`- module: m\n  address: /tmp/${"d".repeat(110)}.sock`, "[0].address", "longer than the 107 the system allows"],
      ["- module: m\n  server: maybe\n  address: /x", "[0].server", "Expected"],
      ["- module: m\n  address: /x\n  cert: c.pem", "[0].key", "cert and key go together"],
      ["- module: m\n  address: /x\n  key: k.pem", "[0].cert", "cert and key go together"],
      ["- module: m\n  address: /x\n- module: m\n  address: /y", "[1].module", "two client entries"],
      ["- module: m\n  address: /x\n  framing: xml", "[0].framing", "Expected"]
    ]
    for (const [yaml, path, reason] of cases) {
      const error = errorOf(parseSocketConfig(yaml, "test.yaml"))
      expect(error, yaml).toBeDefined()
      expect(error?.path, yaml).toBe(path)
      expect(error?.reason, yaml).toContain(reason)
    }
    // Booleans as Go's YAML reader takes them.
    for (const [word, value] of [
      ["yes", true],
      ["on", true],
      ["true", true],
      ["no", false],
      ["off", false]
    ] as const) {
      const config = Result.getOrThrow(parseSocketConfig(`- module: m\n  server: ${word}\n  address: /x`))
      expect(config[0]?.server, word).toBe(value)
    }
    const failure = parseSocketConfig("- {}", "file.yaml")
    expect(Result.isFailure(failure) && failure.failure.message).toContain("socket config file.yaml at [0].module")
  })

  it("R-SOCK-16 the config is read from SOCKET_MODULE_CONFIG; a missing one is an error, not a crash", () => {
    const dir = mkdtempSync(join(tmpdir(), "sockcfg-"))
    const file = join(dir, "socket.yaml")
    writeFileSync(file, goConfig)
    const loaded = Effect.runSyncExit(loadSocketConfig({ SOCKET_MODULE_CONFIG: file }, join(dir, "absent.yaml")))
    expect(Exit.isSuccess(loaded) && loaded.value.length).toBe(3)
    const fallback = Effect.runSyncExit(loadSocketConfig({}, file))
    expect(Exit.isSuccess(fallback)).toBe(true)
    const missing = Effect.runSyncExit(loadSocketConfig({}, join(dir, "absent.yaml")))
    expect(
      Exit.isFailure(missing) && String(missing.cause.reasons[0] && (missing.cause.reasons[0] as any).error.message)
    ).toContain("no socket config: set SOCKET_MODULE_CONFIG")
    const unreadable = Effect.runSyncExit(loadSocketConfig({ SOCKET_MODULE_CONFIG: dir }))
    expect(Exit.isFailure(unreadable) && (unreadable.cause.reasons[0] as any).error._tag).toBe("SocketConfigError")
    writeFileSync(file, "- module: x\n  address: [")
    const bad = Effect.runSyncExit(loadSocketConfig({ SOCKET_MODULE_CONFIG: file }))
    expect(Exit.isFailure(bad) && (bad.cause.reasons[0] as any).error.source).toBe(file)
  })

  it("R-SOCK-16 addresses: unix paths, host:port and [v6]:port", () => {
    expect(Result.getOrThrow(parseAddress("tcp6", "[::1]:80"))).toEqual({ _tag: "Tcp", host: "::1", port: 80 })
    expect(Result.getOrThrow(parseAddress("tcp", ":80"))).toEqual({ _tag: "Tcp", host: "127.0.0.1", port: 80 })
    expect(Result.getOrThrow(parseAddress("unix", "rel.sock"))).toEqual({ _tag: "Unix", path: "rel.sock" })
  })
})

describe("backoff", () => {
  it("R-SOCK-12 delays double up to the maximum, the last half random, never zero", () => {
    const options = { initial: 100, max: 5000 }
    expect([0, 1, 2, 3, 5, 6, 10, 1000].map((n) => backoffDelayMillis(n, options, 1))).toEqual([
      100, 200, 400, 800, 3200, 5000, 5000, 5000
    ])
    expect([0, 1, 6].map((n) => backoffDelayMillis(n, options, 0))).toEqual([50, 100, 2500])
    expect(backoffDelayMillis(0, {}, 0.5)).toBe(75)
    expect(backoffDelayMillis(3, { initial: "1 second", max: "2 seconds", factor: 3, jitter: 0 }, 0.9)).toBe(2000)
    // Nonsense parameters fall back to the defaults instead of spinning.
    expect(backoffDelayMillis(0, { initial: 0, max: -1, factor: 0.5, jitter: 2 }, 0)).toBe(50)
    expect(backoffDelayMillis(0, { initial: 100 }, -3)).toBe(50)
  })
})
