/**
 * The response counter of one `sendToGroupSync`. It counts responders, not messages: each member
 * may answer once; a second answer from a member, or an answer from a non-member, is uninvited and
 * never counted (Go counts buffered messages, so one member answering twice passes for two).
 *
 * Unattributed answers (no `from`, outside a registry module) count only while members are still
 * missing. A member cleaned up before answering is gone; the call ends as soon as every other member
 * has answered. The collector completes in the step of the answer that completes it: no polling.
 *
 * @since 0.1.0
 * @internal
 */
import { Exit } from "effect"
import { type BeehiveShutdown, GroupSyncError, type GroupSyncFailure } from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { GroupSyncResult } from "../model/Reports.ts"
import type { Arm, Settle } from "./Arm.ts"
import { type Wakeups, wakeNowOr } from "./Wakeups.ts"

/** How a group sync call can fail. @category models */
export type GroupCollectorError = GroupSyncError | BeehiveShutdown

/**
 * Collects one response per member for request `id` sent to `group`.
 *
 * @category models
 */
export class GroupCollector {
  readonly id: string
  readonly group: string
  readonly members: ReadonlyArray<string>
  private readonly memberSet: ReadonlySet<string>
  private readonly answered = new Map<string, Message>()
  private readonly anonymous: Array<Message> = []
  private readonly gone = new Set<string>()
  private uninvited = 0
  private outcome: Exit.Exit<GroupSyncResult, GroupCollectorError> | undefined = undefined
  private listener: Settle<GroupSyncResult, GroupCollectorError> | undefined = undefined

  constructor(id: string, group: string, members: ReadonlyArray<string>) {
    this.id = id
    this.group = group
    this.members = members
    this.memberSet = new Set(members)
  }

  /** Whether the call still waits for answers. */
  get isOpen(): boolean {
    return this.outcome === undefined
  }

  /** Members that have not answered, in join order. */
  get missing(): Array<string> {
    return this.members.filter((m) => !this.answered.has(m))
  }

  /**
   * Takes an answer. True when it counted; false when the call is over or the answer is uninvited
   * (then it is recorded and the call will fail with "Uninvited").
   */
  deliver(response: Message, from: string | undefined): boolean {
    if (!this.isOpen) return false
    let counted: boolean
    if (from === undefined) {
      counted = this.answered.size + this.anonymous.length < this.needed()
      if (counted) this.anonymous.push(response)
    } else {
      counted = this.memberSet.has(from) && !this.answered.has(from)
      if (counted) {
        this.gone.delete(from)
        this.answered.set(from, response)
      }
    }
    if (!counted) this.uninvited++
    this.check()
    return counted
  }

  /**
   * A member was cleaned up; if it had not answered it is no longer waited for. A caller the call's
   * end wakes is woken at once, or through `wakeups`.
   */
  memberGone(module: string, wakeups?: Wakeups): void {
    if (!this.isOpen || !this.memberSet.has(module) || this.answered.has(module)) return
    this.gone.add(module)
    this.check(wakeups)
  }

  /** Ends the call at its deadline, with "Timeout" listing the members that did not answer. */
  expire(): Exit.Exit<GroupSyncResult, GroupCollectorError> {
    if (this.outcome === undefined) this.outcome = Exit.fail(this.error("Timeout", this.missing))
    return this.outcome
  }

  /** Ends the call with a failure decided outside (the context shut down); the caller is woken as by `memberGone`. */
  abort(outcome: Exit.Exit<GroupSyncResult, GroupCollectorError>, wakeups?: Wakeups): boolean {
    if (!this.isOpen) return false
    this.finish(outcome, wakeups)
    return true
  }

  /** Waits for the outcome; completes at once if it is already there. */
  readonly arm: Arm<GroupSyncResult, GroupCollectorError> = (settle) => {
    if (this.outcome !== undefined) return this.outcome
    this.listener = settle
    return () => {
      this.listener = undefined
    }
  }

  private needed(): number {
    return this.members.length - this.gone.size
  }

  private check(wakeups?: Wakeups): void {
    if (this.answered.size + this.anonymous.length < this.needed()) return
    // Join order, as every member list (R-GSYNC-5), not the order in which they left.
    const gone = this.members.filter((m) => this.gone.has(m))
    if (this.uninvited > 0) this.finish(Exit.fail(this.error("Uninvited", this.missing)), wakeups)
    else if (gone.length > 0) this.finish(Exit.fail(this.error("MemberGone", gone)), wakeups)
    else this.finish(Exit.succeed({ responses: new Map(this.answered), anonymous: [...this.anonymous] }), wakeups)
  }

  private error(reason: GroupSyncFailure, missing: ReadonlyArray<string>): GroupSyncError {
    return new GroupSyncError({
      reason,
      group: this.group,
      msgId: this.id,
      missing,
      responded: [...this.answered.keys()],
      uninvited: this.uninvited
    })
  }

  private finish(outcome: Exit.Exit<GroupSyncResult, GroupCollectorError>, wakeups?: Wakeups): void {
    this.outcome = outcome
    const listener = this.listener
    this.listener = undefined
    if (listener !== undefined) wakeNowOr(wakeups, () => listener(outcome))
  }
}
