/**
 * What a Go beehive peer needs to find on the messages written to it over `unixpacket` (R-SOCK-32),
 * from its source:
 *
 * - `header.type` is the context type, `"unixpacket"`: Go stamps it on every `Send` and `SendSync`,
 *   `NewRespByMessage` copies it, and `SendResp` routes by it (an empty type means the channel
 *   context, where a socket response is dropped: "Get bad anonName").
 * - `route.source` is the connection's client module. Go's server takes a message only from a source
 *   that is one of its enabled modules ("the module is not enabled, just discard", and it drops the
 *   connection); Go's client answers a request through the context of the request's source, which is
 *   its own module's only (any other source is a nil context there).
 * - A response's `route.destination` is the requester (the request's source, which a response keeps),
 *   as Go's `SendResp` sets it: Go's server hands what it reads to `Send(destination)`.
 *
 * @since 0.3.0
 * @internal
 */
import { ResponseErrorOperation, ResponseOperation } from "../../model/Constants.ts"
import * as Message from "../../model/Message.ts"

/** The context type a Go peer stamps and routes by: its `MsgCtxTypeUS`. @category constants */
export const GoSocketType = "unixpacket"

/**
 * The message as a Go peer needs it: typed `"unixpacket"`, from `clientModule`, to `destination` (a
 * remote module's message is written to that module), and a response addressed to its requester.
 * Never blocks, never fails.
 *
 * @category constructors
 */
export const stampForGo = (
  message: Message.Message,
  clientModule: string,
  destination: string = message.route.destination
): Message.Message => {
  const { operation } = message.route
  const response = operation === ResponseOperation || operation === ResponseErrorOperation
  return Message.make({
    header: { ...message.header, type: GoSocketType },
    route: {
      ...message.route,
      source: clientModule,
      destination: response ? message.route.source : destination
    },
    content: message.content
  })
}
