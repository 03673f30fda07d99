/**
 * Which module answered, on one connection (R-SOCK-9): which payloads read from the peer are
 * responses, to which request and from whom, and the responder named on the responses written to it.
 *
 * - A payload whose parent id names a request written here and not yet answered, or whose operation
 *   is "response" or "error", is a response (unless it is itself a sync request): it goes to `sendResp`
 *   (attributed to the module that answered), never to a mailbox.
 * - The module that answered is the `responder` the peer names when that is a module of this
 *   connection; a name that is not is no member of any call here. Without a responder (a Go peer, or a
 *   response unattributed in the peer), it is the one module the call's request was written to over
 *   this connection, if it went to one: the answers to a group call whose copies were written to
 *   several stay unattributed, counted from every copy written, answered or not (a copy may be
 *   answered before the next is written).
 * - A response written to the peer names the module that answered, so that the peer can count it for
 *   that module; one whose content cannot be written (or is too large) is replaced by an error response.
 *
 * @since 0.2.0
 * @internal
 */
import { Effect } from "effect"
import { ResponseErrorOperation, ResponseOperation } from "../../model/Constants.ts"
import { quote } from "../../model/GoJson.ts"
import * as Message from "../../model/Message.ts"
import { encodeJsonResult } from "../../model/MessageJson.ts"
import { oversizeBytes } from "./FrameCodec.ts"
import { controlJson } from "./Handshake.ts"
import type { RemoteEndpoint } from "./RemoteEndpoint.ts"
import type { SocketState } from "./SocketState.ts"

/** Sync requests remembered as written before those whose calls ended are first forgotten. */
const firstWrittenPrune = 1024

/**
 * The module a response is attributed to when the peer names a responder that is not one of the
 * connection's modules: a name no module here has (it holds a NUL), so no call counts it as a member.
 */
const foreignResponder = (name: string, peer: string): string => `${name}\u0000${peer}`

/**
 * A response's JSON naming its responder (undefined: none named), or an error response when it cannot
 * be written: its timestamp or content has no JSON Go reads, or it is larger than `maxFrameBytes`. So
 * the peer's call gets an answer instead of waiting for its deadline.
 *
 * @category encoding
 */
export const responseJson = (
  response: Message.Message,
  responder: string | undefined,
  maxFrameBytes: number
): string => {
  const encoded = encodeJsonResult(response)
  let reason: string
  if (encoded._tag === "Success") {
    const json =
      responder === undefined ? encoded.success : `${encoded.success.slice(0, -1)},"responder":${quote(responder)}}`
    const oversize = oversizeBytes(json, maxFrameBytes)
    if (oversize === undefined) return json
    reason = `response of ${oversize} bytes exceeds the frame limit of ${maxFrameBytes}`
  } else {
    reason = encoded.failure.message
  }
  // What it copies of the response may be what could not be written (a timestamp JSON cannot carry, a
  // field not of its type): then Go's zero value stands for it.
  const { timestamp } = response.header
  const { resource } = response.route
  return controlJson(
    Message.make({
      header: {
        id: `${response.header.id}-error`,
        parentId: response.header.parentId,
        timestamp: typeof timestamp === "number" && Number.isSafeInteger(Math.trunc(timestamp)) ? timestamp : 0
      },
      route: { operation: ResponseErrorOperation, resource: typeof resource === "string" ? resource : "" },
      content: reason
    })
  )
}

/**
 * The attribution of the responses read on one connection; see the module documentation.
 *
 * @category models
 */
export class ResponseAttribution {
  private readonly state: SocketState
  private readonly peer: string
  /** The remote modules bound to the connection, by name: the requests in flight are theirs. */
  private readonly endpoints: ReadonlyMap<string, RemoteEndpoint>
  /**
   * Per request id, the request of the latest call with that id written over this connection, the
   * module its first copy was written to, and whether copies went to several modules (a group call),
   * answered or not: kept while the call may wait.
   */
  private readonly written = new Map<
    string,
    { readonly request: Message.Message; readonly module: string; several: boolean }
  >()
  private writtenPruneAt = firstWrittenPrune

  constructor(state: SocketState, peer: string, endpoints: ReadonlyMap<string, RemoteEndpoint>) {
    this.state = state
    this.peer = peer
    this.endpoints = endpoints
  }

  /** How many written requests it remembers (white-box tests check R-SOCK-11's bound on it). */
  get rememberedRequests(): number {
    return this.written.size
  }

  /** Whether a message read from the peer is a response (to hand to `claim`) rather than one to deliver. */
  isResponse(message: Message.Message): boolean {
    const { header, route } = message
    return (
      !header.sync &&
      header.parentId !== "" &&
      (route.operation === ResponseOperation ||
        route.operation === ResponseErrorOperation ||
        this.isInflight(header.parentId))
    )
  }

  /** Hands a response to `sendResp`, attributed to the module that answered; reports it when no call takes it. */
  claim(response: Message.Message, responder: string | undefined): Effect.Effect<void> {
    const id = response.header.parentId
    let from: string | undefined
    let answering: RemoteEndpoint | undefined
    if (responder !== undefined) {
      answering = this.endpoints.get(responder)
      // A name that is not a module of this connection is no member of any call here: its answer is
      // uninvited, as a non-member's is in one process, and it cannot pass for another module.
      from = answering?.module ?? foreignResponder(responder, this.peer)
    } else {
      // Without a responder, the answer is attributed only when the call's request went to one module
      // over this connection; copies to several stay unattributed, however many are left.
      answering = [...this.endpoints.values()].find((e) => e.inflight.has(id))
      const call = this.written.get(id)
      from = call === undefined ? answering?.module : call.several ? undefined : call.module
    }
    // A decoded response is a message and `from` a module's name: the arguments cannot be invalid.
    return Effect.flatMap(Effect.orDie(this.state.beehive.sendResp(response, from)), (taken) => {
      // Out of flight once handed over, not before: a link that ends in between (its reading stopped
      // there) leaves the request in flight, and its call is dropped with the module's cleanup
      // (R-SOCK-11). Until an exploration found it, it was out of flight first, and the call waited
      // for its deadline.
      answering?.answered(id)
      // A call this answer ended is forgotten now, not at the next pruning: the requests of ended
      // calls would otherwise pile up (1024 of them) and outlive the young generation, and pruning
      // them cost a sendSync about a microsecond.
      if (this.written.has(id) && !this.state.isPending(id)) this.written.delete(id)
      return taken
        ? Effect.void
        : this.state.report({ _tag: "UnclaimedResponse", peer: this.peer, msgId: response.header.id, parentId: id })
    })
  }

  /**
   * Notes a sync request as it is written for `endpoint`: whether copies of it went to several modules
   * of this connection (a group call), whose answers without a responder then stay unattributed.
   */
  requestWritten(message: Message.Message, endpoint: RemoteEndpoint): void {
    const id = message.header.id
    // Pending calls have distinct ids: another request with this id belongs to a call that ended,
    // and must not make this call's answers look like answers to several modules.
    for (const other of this.endpoints.values()) {
      const copy = other === endpoint ? undefined : other.inflight.get(id)
      if (copy !== undefined && copy !== message) other.inflight.delete(id)
    }
    const known = this.written.get(id)
    if (known?.request === message) {
      if (known.module !== endpoint.module) known.several = true
    } else {
      this.written.delete(id)
      this.written.set(id, { request: message, module: endpoint.module, several: false })
    }
    // Calls that ended leave their requests here; forget those, amortized by doubling the threshold.
    if (this.written.size > this.writtenPruneAt) {
      for (const known of this.written.keys()) if (!this.state.isPending(known)) this.written.delete(known)
      this.writtenPruneAt = Math.max(firstWrittenPrune, this.written.size * 2)
    }
  }

  /** Whether a request with this id was written to one of the connection's modules and not answered. */
  private isInflight(id: string): boolean {
    for (const endpoint of this.endpoints.values()) if (endpoint.inflight.has(id)) return true
    return false
  }
}
