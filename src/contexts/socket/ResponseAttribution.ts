/**
 * Which module answered, on one connection (R-SOCK-9): which payloads read from the peer are
 * responses, to which request and from whom, and the responder named on the responses written to it.
 *
 * - A payload whose parent id names a request written here and not yet answered, or whose operation
 *   is "response" or "error", is a response (unless it is itself a sync request): it goes to `sendResp`
 *   (attributed to the module that answered), never to a mailbox.
 * - The module that answered is the `responder` the peer names when that is a module of this
 *   connection; a name that is not is no member of any call here. Without a responder (a Go peer), it
 *   is the one module the call's request was written to over this connection, if it went to one: the
 *   copies of a group call written to several stay unattributed.
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

/** Multicast request ids remembered before those no longer in flight are first forgotten. */
const firstMulticastPrune = 1024

/**
 * The module a response is attributed to when the peer names a responder that is not one of the
 * connection's modules: a name no module here has (it holds a NUL), so no call counts it as a member.
 */
const foreignResponder = (name: string, peer: string): string => `${name}\u0000${peer}`

/**
 * A response's JSON naming its responder (undefined: none named), or an error response when it cannot
 * be written: its content has no JSON, or it is larger than `maxFrameBytes`. So the peer's call gets an
 * answer instead of waiting for its deadline.
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
  return controlJson(
    Message.make({
      header: {
        id: `${response.header.id}-error`,
        parentId: response.header.parentId,
        timestamp: response.header.timestamp
      },
      route: { operation: ResponseErrorOperation, resource: response.route.resource },
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
  /** Sync requests written to several modules over this connection (group copies), while in flight. */
  private readonly multicast = new Set<string>()
  private multicastPruneAt = firstMulticastPrune

  constructor(state: SocketState, peer: string, endpoints: ReadonlyMap<string, RemoteEndpoint>) {
    this.state = state
    this.peer = peer
    this.endpoints = endpoints
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
    if (responder !== undefined) {
      const named = this.endpoints.get(responder)
      named?.answered(id)
      // A name that is not a module of this connection is no member of any call here: its answer is
      // uninvited, as a non-member's is in one process, and it cannot pass for another module.
      from = named?.module ?? foreignResponder(responder, this.peer)
    } else {
      // Without a responder (a Go peer), the answer is attributed only when the call's request went
      // to one module over this connection; copies to several stay unattributed, however many are left.
      const waiting = [...this.endpoints.values()].find((e) => e.inflight.has(id))
      waiting?.answered(id)
      if (!this.multicast.has(id)) from = waiting?.module
      else if (!this.isInflight(id)) this.multicast.delete(id)
    }
    // A decoded response is a message and `from` a module's name: the arguments cannot be invalid.
    return Effect.flatMap(Effect.orDie(this.state.beehive.sendResp(response, from)), (taken) =>
      taken
        ? Effect.void
        : this.state.report({ _tag: "UnclaimedResponse", peer: this.peer, msgId: response.header.id, parentId: id })
    )
  }

  /**
   * Notes a sync request as it is written for `endpoint`: whether copies of it went to several modules
   * of this connection (a group call), whose answers without a responder then stay unattributed.
   */
  requestWritten(message: Message.Message, endpoint: RemoteEndpoint): void {
    const id = message.header.id
    let shared = false
    for (const other of this.endpoints.values()) {
      const copy = other === endpoint ? undefined : other.inflight.get(id)
      if (copy === undefined) continue
      // Pending calls have distinct ids: another request with this id belongs to a call that ended,
      // and must not make this call's answers look like answers to several modules.
      if (copy === message) shared = true
      else other.inflight.delete(id)
    }
    if (shared) this.multicast.add(id)
    else this.multicast.delete(id)
    // Requests never answered leave their ids here; forget those no endpoint keeps in flight any more.
    if (this.multicast.size > this.multicastPruneAt) {
      for (const known of this.multicast) if (!this.isInflight(known)) this.multicast.delete(known)
      this.multicastPruneAt = Math.max(firstMulticastPrune, this.multicast.size * 2)
    }
  }

  /** Whether a request with this id was written to one of the connection's modules and not answered. */
  private isInflight(id: string): boolean {
    for (const endpoint of this.endpoints.values()) if (endpoint.inflight.has(id)) return true
    return false
  }
}
