/**
 * The live clock's timer queue (R-SYNC-5) at scale and as a process meets it; its properties are in
 * test/properties/TimerQueue.test.ts.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { TimerQueue } from "../../src/effects/TimerQueue.ts"
import { ensureBuilt, root } from "../socket/child.ts"
import { makeTimerHost } from "../support/timerHost.ts"

describe("the live clock's timer queue", () => {
  it("R-SYNC-5 a million waits withdrawn in order leave nothing held but one timer per delay", () => {
    const { host } = makeTimerHost()
    const queue = new TimerQueue(host)
    for (let i = 0; i < 1_000_000; i++) queue.start(1000 + (i % 2), () => {}).withdraw()
    expect(queue.held).toEqual([
      { delay: 1000, live: 0, withdrawn: 0, passed: 0, timer: true },
      { delay: 1001, live: 0, withdrawn: 0, passed: 0, timer: true }
    ])
  })
})

/** Runs `body` (the Effect program of a `node -e` script, given `B`, the built package) and times it. */
const runScript = (body: string): Promise<{ readonly ms: number; readonly out: string }> => {
  ensureBuilt()
  const script = `
    const { Effect } = require("effect")
    import(${JSON.stringify(join(root, "dist/src/index.js"))}).then((B) =>
      Effect.runPromise(Effect.scoped(Effect.gen(function* () { ${body} }))).then(
        (out) => process.stdout.write(String(out)),
        (e) => process.stdout.write("failed: " + e)
      )
    )`
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { cwd: root })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.on("error", reject)
    child.on("exit", () => resolve({ ms: performance.now() - started, out }))
  })
}

describe("timers as a process meets them", () => {
  it("R-SYNC-5 a process whose calls were answered exits without waiting for their deadlines; one whose call waits stays until its SyncTimeout", async () => {
    const answered = await runScript(`
      const b = yield* B.Beehive.make()
      yield* b.addModule("echo")
      yield* Effect.forkChild(Effect.forever(Effect.gen(function* () {
        const request = yield* b.receive("echo")
        yield* b.sendResp(yield* B.Message.newResponse(request, "ok"), "echo")
      })))
      for (let i = 0; i < 100; i++) yield* b.sendSync("echo", yield* B.Message.newMessage(), 20000)
      return "answered"`)
    expect(answered.out).toBe("answered")
    // Well before the 20 s deadline (a start of the process takes about half a second here).
    expect(answered.ms).toBeLessThan(10_000)
    // Calls answered first, of the same timeout: the waiting call's timer is the one they left idle.
    const waiting = await runScript(`
      const b = yield* B.Beehive.make()
      yield* b.addModule("silent")
      yield* b.addModule("echo")
      yield* Effect.forkChild(Effect.forever(Effect.gen(function* () {
        const request = yield* b.receive("echo")
        yield* b.sendResp(yield* B.Message.newResponse(request, "ok"), "echo")
      })))
      for (let i = 0; i < 100; i++) yield* b.sendSync("echo", yield* B.Message.newMessage(), 1500)
      const started = Date.now()
      const failed = yield* Effect.flip(b.sendSync("silent", yield* B.Message.newMessage(), 1500))
      return failed._tag + " after " + (Date.now() - started >= 1500 ? "the deadline" : "less")`)
    expect(waiting.out).toBe("SyncTimeout after the deadline")
  }, 30_000)
})
