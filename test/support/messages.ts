import { Effect } from "effect"
import * as Message from "../../src/model/Message.ts"

/** A message with a readable id, route and content, for tests. */
export const msg = (id: string, content: unknown = id, init: Message.MessageInit = {}): Message.Message =>
  Message.make({ ...init, header: { id, timestamp: 1, ...init.header }, content })

/** Lets every runnable fiber run (several scheduler turns), without moving the clock. */
export const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})
