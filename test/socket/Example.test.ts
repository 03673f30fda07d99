import { execFile, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ensureBuilt, root } from "./child.ts"

beforeAll(() => ensureBuilt(), 120_000)

describe("socket example", () => {
  it("R-SOCK-16 R-SOCK-9 the server and client example processes run as documented, with a config from SOCKET_MODULE_CONFIG", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bh-example-"))
    const config = join(dir, "socket_module.yaml")
    const path = join(dir, "example.sock")
    writeFileSync(
      config,
      `- module: metaserver\n  server: true\n  address: ${path}\n  sockettype: unix\n- module: edged\n  address: ${path}\n`
    )
    const env = { ...process.env, SOCKET_MODULE_CONFIG: config }
    const server = spawn(process.execPath, [join(root, "dist/examples/socket/server.js")], { env })
    let serverOut = ""
    server.stdout.on("data", (d) => {
      serverOut += d
    })
    const exited = new Promise<number | null>((resolve) => server.once("exit", resolve))
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout.on("data", () => serverOut.includes("serving metamanager") && resolve())
        server.once("exit", () => reject(new Error(`server exited: ${serverOut}`)))
      })
      const clientOut = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [join(root, "dist/examples/socket/client.js")],
          { env, timeout: 20_000 },
          (e, out) => (e ? reject(e) : resolve(out))
        )
      )
      expect(clientOut).toContain("connected; remote modules: metamanager, devicetwin")
      expect(clientOut).toContain('sendSync  -> metamanager: {"asked":"all pods","pods":["nginx","mosquitto"]}')
      expect(clientOut).toContain('group     <- devicetwin: {"asked":"status","twins":3}')
      expect(serverOut).toContain('[metamanager] insert pod from edged: {"name":"nginx"}')
    } finally {
      server.kill("SIGTERM")
      expect(await exited).toBe(0)
    }
    expect(serverOut).toContain("SIGTERM: shutting down")
  }, 60_000)

  it("R-SOCK-16 a process without a socket config fails with a clear error", async () => {
    const env = { ...process.env, SOCKET_MODULE_CONFIG: join(tmpdir(), "no-such-socket-config.yaml") }
    const result = await new Promise<{ code: number | null; err: string }>((resolve) =>
      execFile(process.execPath, [join(root, "dist/examples/socket/client.js")], { env }, (e, _out, err) =>
        resolve({ code: e === null ? 0 : (e.code as number), err })
      )
    )
    expect(result.code).toBe(1)
    expect(result.err).toContain("SocketConfigError")
    expect(result.err).toContain("no-such-socket-config.yaml")
  }, 30_000)
})
