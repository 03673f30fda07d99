/**
 * Where message ids come from. Go beehive uses random UUIDv4 ids; so do we by default.
 * The deterministic runtime replaces the generator so that a run is a pure function of its
 * scheduling choices.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import { randomUuid } from "./RandomUuid.ts"

/**
 * A source of fresh message ids.
 *
 * @category models
 */
export interface MessageIdGenerator {
  /** Returns a new id; never returns the same id twice within one generator. */
  readonly next: () => string
}

/**
 * The generator `newMessage`, `newResponse`, `clone` and `updateId` read. Defaults to random UUIDv4
 * ids (lowercase, 36 characters, from the platform's cryptographic random source), as Go's
 * `uuid.New().String()`.
 *
 * @category references
 */
export const MessageIds = Context.Reference<MessageIdGenerator>("beehive-effect/MessageIds", {
  defaultValue: () => ({ next: randomUuid })
})

/**
 * A generator of readable, reproducible ids: `${prefix}1`, `${prefix}2`, ...
 *
 * @category constructors
 */
export const sequentialIds = (prefix = "msg-"): MessageIdGenerator => {
  let counter = 0
  return { next: () => `${prefix}${++counter}` }
}
