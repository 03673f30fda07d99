/**
 * The benchmark programs as a user runs them (built, in a child process), at a tiny scale: what they
 * print, their exit codes with `--check`, and what they leave behind. The figures themselves are not
 * checked here (speed targets live in the benchmarks, never in timed tests).
 */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")
const node = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  spawnSync(process.execPath, [...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env }
  })

// Skipped in mutation runs (vitest.mutation.config.ts): they run the built dist/.
describe.skipIf(process.env.BEEHIVE_MUTATION === "1")("the benchmarks", () => {
  it("beehive bench --check exits 1 exactly when a target is missed; Go's figures are references, not baselines", () => {
    const result = node(["dist/cli/main.js", "bench", "--check"], { BENCH_SCALE: "0.001" })
    const missed = /(\d+) target\(s\) MISSED/.exec(result.stdout)
    expect(result.stdout).toMatch(/every target met|\d+ target\(s\) MISSED/)
    expect(result.status).toBe(missed === null ? 0 : 1)
    const [measured, references] = result.stdout.split("reference figures (") as [string, string]
    expect(measured).not.toContain("Go ")
    expect(references).toMatch(/^from issue 2 of this project \(2026-11-25\).*not measured in this run/)
    expect(references).toContain("Go beehive SendSync round trips")
    // The Go anchor, measured in the run where a Go toolchain is, or the reason it was not.
    expect(references).toMatch(/\nGo anchor(: not measured \(.+\)|, measured in this run \(bench\/go)/)
    if (references.includes("measured in this run (bench/go"))
      expect(references).toMatch(
        /\n {2}sendSync \(Effect\.forever\), 0 dropped +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ [^\n]*\n {2}sendSync \(disableYield\), 0 dropped +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ /
      )
    // send→receive next to the least a send and a receive that run through Effect's run loop can cost:
    // one step each, or two (an operation that can fail or wait); where measured, the same against Go.
    expect(measured).toMatch(
      /\n {2}send→receive, run-loop ceiling ratio +[\d.]+ [kM]\/s +1 step [\d.]+ [kM]\/s +[\d.]+ +\(run-loop ceiling\) *\n {2}same, as ops that can fail or wait +[\d.]+ [kM]\/s +2 steps [\d.]+ [kM]\/s +[\d.]+ +\(run-loop ceiling\)/
    )
    if (references.includes("measured in this run (bench/go"))
      expect(references).toMatch(
        /\n {2}run-loop ceiling, 1 step per op +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ +\(any in run loop\) *\n {2}run-loop ceiling, 2 steps per op +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ +\(can fail, wait\)/
      )
    // send→receive in a process of its own with one context: alone, after another was made and used, and
    // after that one was closed.
    expect(measured).toMatch(
      /\n {2}same, a process with one context +[\d.]+ [kM]\/s +here [\d.]+ [kM]\/s +[\d.]+ +\(no target\) *\n {2}then after another was made, used +[\d.]+ [kM]\/s +here [\d.]+ [kM]\/s +[\d.]+ +\(no target\) *\n {2}then after that one was closed +[\d.]+ [kM]\/s +here [\d.]+ [kM]\/s +[\d.]+ +\(no target\)/
    )
    // A module's mailbox as a Stream with a handler per message, next to Queue and, where measured, Go.
    expect(measured).toMatch(
      /\nsend→receiveStream, runForEach msgs\/s +[\d.]+ [kM]\/s +Queue [\d.]+ [kM]\/s +[\d.]+ +\(no target\)/
    )
    if (references.includes("measured in this run (bench/go"))
      expect(references).toMatch(
        /\n {2}send→receiveStream, runForEach +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ +\(no target\)/
      )
    // sendSync next to the same request/response on raw Effect, with each kind of responder (a while
    // loop, Effect.forever, Effect.forever without its yield), and the event-loop turn rate that bounds
    // the yielding one.
    expect(measured).toMatch(
      /\nsendSync round trips\/s \(1 caller\) +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +>= 200k\/s +(met|MISSED)/
    )
    expect(measured).toMatch(
      /\n {2}same, responder with Effect\.forever +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +>= 200k\/s +(met|MISSED)/
    )
    expect(measured).toMatch(
      /\n {2}same, Effect\.forever, disableYield +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +>= 200k\/s +(met|MISSED)/
    )
    // What building a request and its response costs per call: the user's way, less the same calls with
    // the messages built once.
    expect(measured).toMatch(
      /\n {2}same, messages built once +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +\(building: -?[\d.]+ us\/call\)/
    )
    // The user's way under Effect.forever next to a bare hand-off on Effect building the same two messages
    // per call; where measured, the hand-off against Go's answered calls.
    expect(measured).toMatch(
      /\n {2}same, bare hand-off, messages built +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +\(least known\)/
    )
    // And next to the same hand-off with what no sendSync may go without: an id table, a deadline, a
    // release on every end (the run checks that its calls time out and leave the table when interrupted).
    expect(measured).toMatch(
      /\n {2}same, hand-off with its guarantees +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +\(least, guarded\)/
    )
    // And ours with the responder written as the hand-offs' are (Effect.flatMap, no generator), next to
    // the guarded one: the two then differ in the call only.
    expect(measured).toMatch(
      /\n {2}same, responder with Effect\.flatMap +[\d.]+ [kM]\/s +Effect [\d.]+ [kM]\/s +[\d.]+ +\(as the hand-offs'\)/
    )
    if (references.includes("measured in this run (bench/go"))
      expect(references).toMatch(
        /\n {2}sendSync \(disableYield\), 0 dropped [^\n]*\n {2}bare hand-off, Effect\.forever +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ +\(messages built\) *\n {2}same, with sendSync's guarantees +[\d.]+ [kM]\/s +Go [\d.]+ [kM]\/s +[\d.]+ +\(id, deadline\)/
      )
    expect(measured).toMatch(/\n {2}event-loop turns\/s \(1 per such call\) +[\d.]+ [kM]\/s +\(its ceiling\)/)
    // Bytes allocated per message and per call (garbage included), next to raw Effect's in the same run.
    expect(measured).toMatch(/\nbytes allocated per send→receive +\d+ B +Queue \d+ B +[\d.]+ +\(no target\)/)
    expect(measured).toMatch(/\n {2}same, next to the run-loop ceiling +\d+ B +2 steps \d+ B +[\d.]+ +\(no target\)/)
    expect(measured).toMatch(/\n {2}per sendSync, user's, Effect\.forever +\d+ B +Effect \d+ B +[\d.]+ +\(no target\)/)
    expect(measured).toMatch(/\n {2}same, next to the guarded hand-off +\d+ B +guarded \d+ B +[\d.]+ +\(no target\)/)
    // The memory figures, each next to its baseline from the same run (shape only, no figures checked).
    expect(measured).toMatch(/bytes per idle module \(1e\+2\) +-?[\d.]+ KiB +Queue\(1024\) [\d.-]+ KiB +\S+ /)
    expect(measured).toMatch(/bytes per pending sendSync \(1e\+2\) +-?[\d.]+ KiB +Deferred [\d.-]+ KiB +\S+ /)
    expect(measured).toMatch(/\n {2}same, each request in at once +-?[\d.]+ KiB +Deferred [\d.-]+ KiB +\S+ /)
    expect(measured).toMatch(/then interrupted: pending before, after +100, 0 +all, 0 +met/)
    expect(measured).toContain("after 1e+3 sendSync: pending, heap")
    // The checker's schedules per second, each strategy next to the scenario run on Effect's runtime.
    expect(measured).toContain("checker schedules/s, 3 fibers (2 sendSync callers, 1 sendResp responder):")
    for (const strategy of ["random", "random, <= 8 fitted preemptions", "dfs(bound=2, preemptionBound=2)"])
      expect(measured).toMatch(
        new RegExp(
          `\\n  ${strategy.replace(/[(),=<]/g, "\\$&")} +[\\d.]+ [kM]/s +plain [\\d.]+ [kM]/s +[\\d.]+ +>= 5k/s +(met|MISSED)`
        )
      )
    const without = node(["dist/cli/main.js", "bench"], { BENCH_SCALE: "0.001" })
    expect(without.status).toBe(0)
  }, 120_000)

  it("bench:socket shows its progress and removes its temporary files", () => {
    const before = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith("bh-bench-")))
    const result = node(["--expose-gc", "dist/bench/socket.js", "--check"], {
      BENCH_RUNS: "1",
      BENCH_ONE_WAY: "2000",
      BENCH_ROUND_TRIPS: "200"
    })
    expect(result.stderr).toContain("measuring: socket context over a unix socket, 2 processes…")
    // The socket context's own cost, both ends in one process over the memory transport.
    expect(result.stdout).toMatch(
      /\nsocket, memory transport \(1 process\) +[\d.]+ [kM]\/s +[\d.]+ [kM]\/s +[\d.]+ [kM]\/s\n/
    )
    // Issue 13's targets, each next to its bare node:net baseline measured in the same run.
    expect(result.stdout).toMatch(/\nbare node:net JSON one-way \(unix\) +[\d.]+ [kM]\/s\n/)
    expect(result.stdout).toMatch(/\nbare node:net JSON echo \(unix\) +[\d.]+ [kM]\/s\n/)
    expect(result.stdout).toMatch(
      /\ntarget: >= 300 k msgs\/s one-way over a unix socket: [\d.]+ [kM]\/s \(bare JSON one-way [\d.]+ [kM]\/s, ratio [\d.]+\): (met|MISSED)\n/
    )
    expect(result.stdout).toMatch(
      /\ntarget: >= 50 k\/s sendSync, 1 caller, over a unix socket: [\d.]+ [kM]\/s \(bare echo [\d.]+ [kM]\/s, ratio [\d.]+; bare JSON echo [\d.]+ [kM]\/s, ratio [\d.]+\): (met|MISSED)\n/
    )
    expect(result.status).toBe(result.stdout.includes("MISSED") ? 1 : 0)
    const left = readdirSync(tmpdir()).filter((f) => f.startsWith("bh-bench-") && !before.has(f))
    expect(left).toEqual([])
  }, 120_000)

  it("bench:nats --check exits 1 exactly when issue 12's 0.8 of plain nats.js is missed on a path; without it, 0", () => {
    const tiny = { BENCH_RUNS: "1", BENCH_ONE_WAY: "2000", BENCH_ROUND_TRIPS: "200" }
    const result = node(["dist/bench/nats.js", "--check"], tiny)
    // Each path's target, next to the plain baseline doing the same work, measured in the same run.
    expect(result.stdout).toMatch(
      /\ntarget: >= 0\.8 of plain publish with JSON \+ consumer, one-way send: ratio [\d.]+ \(\d+ \/s against \d+ \/s\): (met|MISSED)\n/
    )
    expect(result.stdout).toMatch(
      /\ntarget: >= 0\.8 of plain request with JSON \+ consumer, sendSync: ratio [\d.]+ \(\d+ \/s against \d+ \/s\): (met|MISSED)\n/
    )
    expect(result.status, result.stderr).toBe(result.stdout.includes("MISSED") ? 1 : 0)
    // One side alone measures no ratio: no target missed.
    const plainOnly = node(["dist/bench/nats.js", "--check"], { ...tiny, BENCH_SIDE: "plain", BENCH_ONLY: "sync" })
    expect(plainOnly.stdout).toContain("target: >= 0.8 of plain request with JSON + consumer, sendSync: not measured")
    expect(plainOnly.status, plainOnly.stderr).toBe(0)
    const without = node(["dist/bench/nats.js"], tiny)
    expect(without.status, without.stderr).toBe(0)
  }, 120_000)
})
