/**
 * The values beehive operations return when they succeed: normal outcomes are data, not errors.
 *
 * @since 0.1.0
 */
import type { Message } from "./Message.ts"

/**
 * What `cleanup` did: the groups the module left, and every message that was still in its mailbox,
 * oldest first. Those messages were never received and never will be; they are handed back so that
 * nothing disappears silently.
 *
 * @category models
 */
export interface CleanupReport {
  readonly module: string
  readonly groups: ReadonlyArray<string>
  readonly undelivered: ReadonlyArray<Message>
}

/**
 * What `sendToGroup` did: the members whose mailbox accepted a copy, in the group's join order, and
 * the members that were cleaned up before they could accept theirs.
 *
 * @category models
 */
export interface GroupSendResult {
  readonly delivered: ReadonlyArray<string>
  readonly gone: ReadonlyArray<string>
}

/**
 * What a successful `sendToGroupSync` collected: one response per member, by member name, in the
 * order the responses arrived, plus the responses that came without attribution (they stand for
 * members whose names are not in `responses`).
 *
 * @category models
 */
export interface GroupSyncResult {
  readonly responses: ReadonlyMap<string, Message>
  readonly anonymous: ReadonlyArray<Message>
}

/**
 * What `shutdown` did: the cleanup report of every module that was still registered.
 *
 * @category models
 */
export interface ShutdownReport {
  readonly cleanups: ReadonlyArray<CleanupReport>
  readonly cancelledCalls: number
}
