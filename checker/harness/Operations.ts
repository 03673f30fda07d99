/**
 * What the implementation side of a state machine shares: the messages a command sends, and the
 * outcomes of the operations it started, in the model's form.
 */
import { Exit, type Fiber } from "effect"
import * as Message from "../../src/model/Message.ts"
import { type OpKind, summarizeExit } from "./Summaries.ts"

/** The request a command sends: its id, and the source when the command names one. */
export const request = (id: string, source: string | undefined): Message.Message =>
  Message.make({ header: { id, timestamp: 1 }, route: { source: source ?? "" } })

/** The response a `sendResp` command answers with. */
export const response = (id: string, parentId: string): Message.Message =>
  Message.make({ header: { id, parentId, timestamp: 1 }, route: { operation: "response" } })

/** Operations started by a run, by name. */
export type Started = ReadonlyMap<string, { readonly kind: OpKind; readonly fiber: Fiber.Fiber<unknown, unknown> }>

/** The outcomes of the operations that have ended; a success's value is seen through `view` first. */
export const endedOutcomes = (
  ops: Started,
  view: (kind: OpKind, value: unknown) => unknown = (_, value) => value
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [op, { kind, fiber }] of ops) {
    const exit = fiber.pollUnsafe()
    if (exit !== undefined)
      out[op] = summarizeExit(kind, Exit.isSuccess(exit) ? Exit.succeed(view(kind, exit.value)) : exit)
  }
  return out
}
