/**
 * One readable line per event of the edge-node demo: time since start, the module, what it did.
 */
import { Clock, Console, Effect } from "effect"
import type { Message } from "../../src/index.ts"

// The child process is told the parent's start, so that both print offsets from the same instant.
let started: number | undefined =
  process.env.EDGE_NODE_STARTED === undefined ? undefined : Number(process.env.EDGE_NODE_STARTED)
const where = process.env.EDGE_NODE_STARTED === undefined ? "" : "(child) "

/** The instant offsets count from, once the first line is printed. */
export const startedAt = (): number | undefined => started

/** A message in a few words: operation, resource, content. */
export const brief = (m: Message.Message): string =>
  `${m.route.operation} ${m.route.resource}${m.content === null || m.content === "" ? "" : ` ${JSON.stringify(m.content)}`}`

/** Prints `  +12ms  module        text` (the child's modules marked "(child)"). */
export const say = (module: string, text: string): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    started ??= now
    return Console.log(`${`+${now - started}ms`.padStart(8)}  ${`${where}${module}`.padEnd(21)} ${text}`)
  })
