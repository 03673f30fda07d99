/**
 * The package as a user meets it: `npm pack`, installed from the tarball into a new TypeScript
 * project (offline, from npm's cache), its CLI run through the installed bin, and every code block of
 * the README compiled as that project's code (strict, `moduleResolution: nodenext`) and run.
 */
import { type ChildProcess, execFileSync, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { writeConsumerProject } from "./support/consumerProject.ts"

const root = join(import.meta.dirname, "..")
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
const blocks = [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map(
  (m) => m[1] as string
)

/** The README's code block that contains `marker`. */
const block = (marker: string): string => {
  const found = blocks.filter((b) => b.includes(marker))
  if (found.length !== 1) throw new Error(`${found.length} README blocks contain ${marker}`)
  return found[0] as string
}

/** Every README block, by the name of the file it becomes in the consumer project. */
const readmePrograms = {
  "effect-tour": "Effect.runPromise(program.pipe(Effect.provide(Beehive.layer)))",
  registry: "registry.run",
  "promise-tour": "createBeehive",
  socket: "socket.serve",
  nats: "nats.serve",
  "nats-durable": "durablePrograms",
  testing: "who-arrives-first",
  observability: "class PrintedSpan"
} as const

/** A registry program that does not use NodeRuntime: only `registry.run` keeps it alive. */
const plainRegistry = `import { Console, Effect, Layer } from "effect"
import { Beehive, Registry } from "beehive-effect"

const idle = (name: string) =>
  Effect.gen(function* () {
    const beehive = yield* Beehive
    while (true) yield* beehive.receive(name)
  }).pipe(Effect.ensuring(Console.log(\`\${name}: finalizer ran\`)))

const main = Effect.gen(function* () {
  const registry = yield* Registry
  yield* registry.register({ name: "edged", group: "edged", start: idle("edged") })
  yield* Console.log("running")
  const report = yield* registry.run
  yield* Console.log(\`stopped: \${report.reason}; \${report.modules.map((m) => \`\${m.name} \${m.ended}\`).join(", ")}\`)
})

Effect.runPromise(main.pipe(Effect.provide(Registry.layer.pipe(Layer.provideMerge(Beehive.layer)))))
`

/** unixpacket where the optional package is not installed: typed errors, and the import works (R-SOCK-31). */
const unixpacketWithoutPackage = `import { Effect } from "effect"
import { nodeTransport, unixPacket } from "beehive-effect"

const path = process.argv[2] ?? "/tmp/none.sock"
const program = Effect.gen(function* () {
  const listened = yield* Effect.flip(Effect.scoped(nodeTransport.listen(unixPacket(path))))
  console.log(\`listen: \${listened._tag} \${"reason" in listened ? listened.reason : ""} \${listened.message}\`)
  const connected = yield* Effect.flip(nodeTransport.connect(unixPacket(path)))
  console.log(\`connect: \${connected._tag} \${"code" in connected ? connected.code : ""} \${connected.message}\`)
})
Effect.runPromise(program)
`

let project = ""
let tarball = ""
let compiled: Pick<SpawnSyncReturns<string>, "stdout" | "stderr" | "status"> = {
  stdout: "",
  stderr: "not compiled",
  status: null
}
const children: Array<ChildProcess> = []

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  execFileSync("npm", [...args], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 })

const run = (file: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(project, "out", `${file}.js`), ...args], {
    cwd: project,
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, ...env }
  })

const beehive = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawnSync(join(project, "node_modules", ".bin", "beehive"), [...args], {
    cwd: project,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env }
  })

/** Starts a program of the consumer project and resolves once its output contains `ready`. */
const start = (file: string, ready: string, args: ReadonlyArray<string> = [], env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [join(project, "out", `${file}.js`), ...args], {
    cwd: project,
    env: { ...process.env, ...env }
  })
  children.push(child)
  let output = ""
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  const started = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(ready)) resolve()
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    void exited.then(() => reject(new Error(`${file} exited before "${ready}":\n${output}`)))
  })
  return { child, started, exited, output: () => output }
}

// Skipped in mutation runs (vitest.mutation.config.ts): the installed package is built from src/ before
// any mutant exists.
describe.skipIf(process.env.BEEHIVE_MUTATION === "1")("the packed package, installed", () => {
  beforeAll(() => {
    if (!existsSync(join(root, "dist/cli/main.js"))) npm(["run", "build"], root)
    project = mkdtempSync(join(tmpdir(), "beehive-consumer-"))
    // The suite has just built dist/ (npm test builds first); prepack's clean rebuild would pull it from
    // under the tests running beside this one.
    const packed = JSON.parse(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", project], root))
    tarball = join(project, packed[0].filename)
    writeConsumerProject(root, project, packed[0].filename, ["effect", "@effect/platform-node", "@types/node"])
    npm(["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], project)
    mkdirSync(join(project, "src"))
    for (const [file, marker] of Object.entries(readmePrograms)) {
      writeFileSync(join(project, "src", `${file}.ts`), block(marker))
    }
    if (Object.keys(readmePrograms).length !== blocks.length) throw new Error("a README block is not compiled here")
    writeFileSync(join(project, "src", "plain-registry.ts"), plainRegistry)
    writeFileSync(join(project, "src", "unixpacket-without-package.ts"), unixpacketWithoutPackage)
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          types: ["node"],
          outDir: "out",
          rootDir: "src"
        },
        include: ["src"]
      })
    )
    // tsc emits even when it reports errors; the programs run either way, and one test shows the errors.
    compiled = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], {
      encoding: "utf8",
      timeout: 120_000
    })
  }, 240_000)

  afterAll(() => {
    if (process.env.KEEP_CONSUMER === "1") return
    for (const child of children) child.kill("SIGKILL")
    if (project !== "") rmSync(project, { recursive: true, force: true })
  })

  it("ships the library, the CLI and its licence, without source maps or tests beyond Go's counterexamples", () => {
    const listed = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n")
    for (const file of [
      "package/LICENSE",
      "package/dist/src/index.js",
      "package/dist/src/index.d.ts",
      "package/dist/cli/main.js",
      "package/dist/checker/campaign.js",
      "package/dist/bench/main.js",
      "package/test/regressions/go-lost-response.json"
    ]) {
      expect(listed).toContain(file)
    }
    expect(listed.filter((f) => f.endsWith(".map"))).toEqual([])
    expect(listed.filter((f) => f.endsWith(".test.js") || f.startsWith("package/src/"))).toEqual([])
    const licence = readFileSync(join(project, "node_modules/beehive-effect/LICENSE"), "utf8")
    expect(licence).toContain("Apache License")
    expect(licence).toContain("Version 2.0, January 2004")
    const installed = JSON.parse(readFileSync(join(project, "node_modules/beehive-effect/package.json"), "utf8"))
    expect(installed.peerDependencies.effect).toBeDefined()
    expect(installed.dependencies.effect).toBeUndefined()
    expect(installed.scripts.prepare).toBeUndefined()
    // One copy of effect: the application's.
    expect(existsSync(join(project, "node_modules/beehive-effect/node_modules/effect"))).toBe(false)
    expect(statSync(tarball).size).toBeLessThan(1_000_000)
  })

  it("R-API-1 R-API-2 the README's code compiles as a strict nodenext TypeScript project", () => {
    expect(compiled.stdout + compiled.stderr).toBe("")
    expect(compiled.status).toBe(0)
  })

  it("R-SOCK-31 without the optional node-unix-socket the library imports, and unixpacket fails with typed errors naming the package", () => {
    expect(existsSync(join(project, "node_modules/node-unix-socket"))).toBe(false)
    const result = run("unixpacket-without-package", [join(project, "none.sock")])
    expect(result.stderr).toBe("")
    // One line each: a reason is a sentence, not a stack.
    const [listen, connect, ...more] = result.stdout.trim().split("\n")
    expect(more).toEqual([])
    expect(listen).toMatch(/^listen: ListenFailed Unavailable .*node-unix-socket/)
    expect(connect).toMatch(/^connect: ConnectFailed ENOTSUP .*node-unix-socket/)
  })

  it("R-API-1 the Effect tour runs as written", () => {
    const result = run("effect-tour")
    expect(result.stderr).toBe("")
    expect(result.stdout).toBe("ok\n")
  })

  it("R-API-2 the Promise tour runs as written", () => {
    const result = run("promise-tour")
    expect(result.stderr).toBe("")
    expect(result.stdout).toBe("ok\nresponse\n")
  })

  it("R-OBS-1 R-OBS-2 the observability example prints the spans and metrics the README says", () => {
    const result = run("observability")
    expect(result.stderr).toBe("")
    expect(result.stdout).toBe(
      [
        "span beehive.addModule module=edged",
        "span beehive.send module=edged",
        "span beehive.receive module=edged",
        "metric beehive_messages_sent_total 1",
        "metric beehive_messages_received_total 1",
        ""
      ].join("\n")
    )
  })

  it("R-DET-5 the checking example finds the counterexample the README shows", () => {
    const output = run("testing").stdout
    expect(output).toContain("scenario who-arrives-first under dfs(bound=2)")
    expect(output).toContain("main  ‼ check: A's message arrives first — VIOLATED")
    expect(output).toContain("FAILED: CheckFailed: A's message arrives first")
  })

  it("R-SOCK-1 the socket program: one process serves metamanager, another asks it", async () => {
    const socketPath = join(project, "beehive.sock")
    const server = start("socket", "serving metamanager", ["serve"], { BEEHIVE_SOCKET: socketPath })
    await server.started
    const client = run("socket", [], { BEEHIVE_SOCKET: socketPath })
    expect(client.stderr).toBe("")
    expect(client.stdout).toBe("metamanager answered: nginx\n")
    server.child.kill("SIGTERM")
    expect(await server.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(socketPath)).toBe(false)
  }, 30_000)

  it("R-REG-7 the README's registry program stays up with idle modules and shuts down gracefully on SIGTERM", async () => {
    const program = start("registry", "running; press Ctrl-C")
    await program.started
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(program.child.exitCode).toBeNull()
    program.child.kill("SIGTERM")
    const exit = await program.exited
    expect(program.output()).toContain("edged: finalizer ran")
    expect(program.output()).toContain("metamanager: finalizer ran")
    expect(program.output()).toContain("beehive-effect: shut down (SIGTERM; edged finished, metamanager finished)")
    // NodeRuntime.runMain's exit code for a program interrupted by a signal.
    expect(exit).toEqual({ code: 130, signal: null })
  }, 30_000)

  it("R-REG-7 without NodeRuntime, registry.run alone keeps the process up and returns the report on SIGINT", async () => {
    const program = start("plain-registry", "running")
    await program.started
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(program.child.exitCode).toBeNull()
    program.child.kill("SIGINT")
    const exit = await program.exited
    expect(program.output()).toContain("edged: finalizer ran")
    expect(program.output()).toContain("stopped: SIGINT; edged finished")
    expect(exit).toEqual({ code: 0, signal: null })
  }, 30_000)

  it("R-DET-5 the installed CLI: --version, --help, check, replay of a shipped counterexample, and bench", () => {
    const version = beehive(["--version"])
    expect(version.stdout.trim()).toBe(manifest.version)
    expect(version.status).toBe(0)
    const help = beehive(["--help"])
    expect(help.stdout).toContain("check")
    expect(help.stdout).toContain("replay")
    expect(help.status).toBe(0)
    const checked = beehive(["check", "--runs", "5", "--out", join(project, "counterexamples")])
    expect(checked.stderr).toBe("")
    expect(checked.stdout).toMatch(/total: \d+ schedules in [\d.]+ s .*, 0 failure\(s\)/)
    expect(checked.status).toBe(0)
    const replayed = beehive(["replay", "node_modules/beehive-effect/test/regressions/go-lost-response.json"])
    expect(replayed.stdout).toContain("recorded (seed 20261125, run 6): failed: CheckFailed:")
    expect(replayed.stdout.trimEnd().endsWith("fixed: the property holds on this code")).toBe(true)
    expect(replayed.status).toBe(0)
    // The Go anchor's program is in the repository, not the package: the installed bench says so.
    const benched = beehive(["bench"], { BENCH_SCALE: "0.001" })
    expect(benched.stderr).toBe("")
    expect(benched.stdout).toContain("Go anchor: not measured (bench/go is not here")
    // The program that measures send→receive in a process of its own ships with the bench.
    expect(benched.stdout).toMatch(/\n {2}same, a process with one context +[\d.]+ [kM]\/s/)
    expect(benched.stdout).toMatch(/\n(every target met|\d+ target\(s\) MISSED)\n$/)
    expect(benched.status).toBe(0)
  }, 180_000)
})
