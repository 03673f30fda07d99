/**
 * The reference model's state: everything SPEC.md's rules talk about, as plain data. Messages are
 * named by id; a sync copy (what `sendSync` and `sendToGroupSync` deliver) is the id with `!`.
 * Operations in flight are named by the handle the test gave them (`op7`). Outcomes are canonical
 * strings, so that comparing the model with the implementation is comparing strings.
 */

/** A completed operation's result: `ok:<value>` or `err:<error>`. */
export type Outcome = string

/** An offer waiting for room in a mailbox. */
export interface Offer {
  readonly op: string
  readonly entry: string
  readonly kind: "send" | "sync" | "copy" | "groupCopy"
}

export interface ModuleState {
  readonly capacity: number
  /** Mailbox contents, oldest first. */
  queue: Array<string>
  /** Groups joined, in join order. */
  groups: Array<string>
  /** Receive operations waiting, oldest first. */
  receivers: Array<string>
  /** Offers waiting for room, oldest first. */
  senders: Array<Offer>
}

export interface SyncCall {
  readonly kind: "sync"
  readonly op: string
  readonly id: string
  readonly module: string
  readonly deadline: number
  readonly timeoutMs: number
  phase: "enqueue" | "response"
}

/**
 * What reached an open group call, in order: a response with its attribution (`from` absent when
 * unattributed, R-RESP-3), or the cleanup of a member.
 */
export type GroupEvent =
  | { readonly kind: "response"; readonly response: string; readonly from: string | undefined }
  | { readonly kind: "gone"; readonly member: string }

/** A pending `sendToGroupSync`. */
export interface GroupCall {
  readonly kind: "group"
  readonly op: string
  readonly id: string
  readonly group: string
  readonly deadline: number
  /** Fixed when the call starts, in join order (R-GSYNC-1). */
  readonly members: Array<string>
  /**
   * Everything that reached the call while it was open, in arrival order. Nothing else is kept:
   * counts, the gone members and the decision are read off it by the rules (spec/model/Calls.ts).
   */
  history: Array<GroupEvent>
}

export type Call = SyncCall | GroupCall

/** A `sendToGroup` whose copies are not all accepted yet. */
export interface GroupSend {
  readonly op: string
  readonly members: Array<string>
  waiting: Array<string>
  gone: Array<string>
}

export interface State {
  now: number
  shutdown: boolean
  /** Shutdown's report, once it ran. */
  shutdownReport: string | undefined
  /** Modules in registration order. */
  modules: Array<[string, ModuleState]>
  /** Groups in creation order, members in join order. */
  groups: Array<[string, Array<string>]>
  /** Pending synchronous calls by request id, in registration order. */
  calls: Array<Call>
  groupSends: Array<GroupSend>
  /** Outcomes of completed operations. */
  outcomes: Record<string, Outcome>
}

export const initialState = (): State => ({
  now: 0,
  shutdown: false,
  shutdownReport: undefined,
  modules: [],
  groups: [],
  calls: [],
  groupSends: [],
  outcomes: {}
})

export const cloneState = (state: State): State => structuredClone(state)

export const moduleOf = (state: State, name: string): ModuleState | undefined =>
  state.modules.find(([n]) => n === name)?.[1]

export const membersOf = (state: State, group: string): Array<string> | undefined =>
  state.groups.find(([g]) => g === group)?.[1]

export const callOf = (state: State, id: string): Call | undefined => state.calls.find((c) => c.id === id)

export const removeCall = (state: State, call: Call): void => {
  state.calls = state.calls.filter((c) => c !== call)
}

export const complete = (state: State, op: string, outcome: Outcome): void => {
  state.outcomes[op] = outcome
}
