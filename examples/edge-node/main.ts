/**
 * The edge-node demo (edgecore.ts): edged, edgehub, devicetwin and eventbus in this process, metamanager
 * in another one (metamanager.ts), reached over a unix socket or through NATS.
 *
 *   npm start                                   metamanager in a child process, over a unix socket
 *   npm start -- --nats                         the same through a nats-server started for the run
 *   npm start -- --nats-url nats://HOST:4222    the same through a running NATS server
 *   npm start -- --role meta --nats-url URL     metamanager alone, served on NATS until Ctrl-C
 *   npm start -- --role edge --nats-url URL     edgecore alone, with the metamanager another process serves
 *
 * Bad usage exits 2.
 */
import { Command, CommanderError, Option } from "commander"
import { Effect } from "effect"
import { type EdgeLink, runEdgecore } from "./edgecore.ts"
import { type MetaLink, runMetamanager } from "./metamanager.ts"

/** Exit code: bad usage. */
const ExitUsage = 2

interface Options {
  readonly nats?: true
  readonly natsUrl?: string
  readonly role: "both" | "edge" | "meta"
  readonly socket?: string
}

const command = new Command("npm start --")
  .description("the edge-node demo: edgecore's modules here, metamanager in another process")
  .option("--nats", "reach metamanager through NATS (a nats-server started for the run) instead of a unix socket")
  .option("--nats-url <url>", "reach metamanager through the NATS server at <url> (implies --nats)")
  .addOption(
    new Option(
      "--role <role>",
      "both halves here, or one: edge (edgecore's modules) or meta (metamanager); edge and meta need --nats-url"
    )
      .choices(["both", "edge", "meta"])
      .default("both")
  )
  // How edgecore tells the metamanager child it spawns where its socket is; not for people.
  .addOption(new Option("--socket <path>").hideHelp())
  .exitOverride()
  .showHelpAfterError()

/** What to run, or a usage error (thrown by `command.error`) for combinations that make no sense. */
const plan = (options: Options): { readonly edge: EdgeLink } | { readonly meta: MetaLink } => {
  if (options.socket !== undefined) {
    if (options.role !== "meta" || options.nats !== undefined || options.natsUrl !== undefined)
      return command.error("error: --socket goes with --role meta alone", { exitCode: ExitUsage })
    return { meta: { _tag: "socket", path: options.socket } }
  }
  if (options.role !== "both" && options.natsUrl === undefined)
    return command.error(`error: --role ${options.role} needs --nats-url <url>`, { exitCode: ExitUsage })
  if (options.role === "meta" && options.natsUrl !== undefined) return { meta: { _tag: "nats", url: options.natsUrl } }
  if (options.nats === undefined && options.natsUrl === undefined) return { edge: { _tag: "socket" } }
  return { edge: { _tag: "nats", url: options.natsUrl, spawnChild: options.role === "both" } }
}

type Plan = ReturnType<typeof plan>

/** The plan the command line asks for; help exits 0, bad usage 2 (commander has printed why). */
const parseArgs = (): Plan => {
  try {
    return plan(command.parse(process.argv).opts<Options>())
  } catch (error) {
    const help =
      error instanceof CommanderError && (error.code === "commander.helpDisplayed" || error.code === "commander.help")
    return process.exit(help ? 0 : ExitUsage)
  }
}

const todo = parseArgs()
const [name, main] = "edge" in todo ? ["edgecore", runEdgecore(todo.edge)] : ["metamanager", runMetamanager(todo.meta)]
Effect.runPromise(main).then(
  () => process.exit(0),
  (error) => {
    console.error(`${name}: ${String(error)}`)
    process.exit(1)
  }
)
