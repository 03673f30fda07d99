import { Effect } from "effect"
import { expect } from "vitest"
import { RemoteEndpoint } from "../../src/contexts/socket/RemoteEndpoint.ts"
import { ResponseAttribution } from "../../src/contexts/socket/ResponseAttribution.ts"
import type { SocketState } from "../../src/contexts/socket/SocketState.ts"
import * as Message from "../../src/model/Message.ts"

/**
 * The response attribution of one connection to `modules`, driven directly (R-SOCK-9): `write` notes a
 * sync request written to a module, as the writer does; `answer` reads an answer from the peer, with or
 * without a responder; `handed` holds what reached `sendResp`: each answer's id and the module it was
 * attributed to. A call is pending while `isPending` says so.
 */
export const attributionOver = (modules: ReadonlyArray<string>, isPending: (id: string) => boolean = () => true) => {
  const handed: Array<[string, string | undefined]> = []
  const state = {
    beehive: {
      sendResp: (response: Message.Message, from: string | undefined) =>
        Effect.sync(() => {
          handed.push([response.header.id, from])
          return true
        })
    },
    report: () => Effect.void,
    isPending
  } as unknown as SocketState
  const endpoints = new Map(
    modules.map((m) => [
      m,
      new RemoteEndpoint(
        m,
        4,
        1 << 20,
        () => true,
        () => {}
      )
    ])
  )
  const attribution = new ResponseAttribution(state, "peer", endpoints)
  // The writer takes the copy from the endpoint's outbox and notes it written.
  const write = (request: Message.Message, module: string) => {
    const endpoint = endpoints.get(module) as RemoteEndpoint
    expect(endpoint.offerNow(request)).toBe(true)
    const outgoing = endpoint.takeOutgoing()
    expect(outgoing?.message).toBe(request)
    attribution.requestWritten(request, endpoint)
  }
  const answer = (id: string, parentId: string, responder?: string) =>
    Effect.runSync(attribution.claim(Message.make({ header: { id, parentId, timestamp: 1 } }), responder))
  return { handed, write, answer }
}
