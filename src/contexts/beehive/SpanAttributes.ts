/**
 * The span attributes of the global context's operations, computed from a call's arguments only when
 * a tracer is installed (see `observeWith`).
 *
 * @since 0.3.0
 * @internal
 */
import type { Message } from "../../model/Message.ts"

/**
 * The module an operation is on: `receive`, `receiveAll`.
 *
 * @category getters
 */
export const moduleAttributes = (module: unknown) => ({ "beehive.module": String(module) })

/**
 * The module a message goes to, and its id: `send`, `sendSync`.
 *
 * @category getters
 */
export const messageAttributes = (module: unknown, message: Message | undefined) => ({
  "beehive.module": String(module),
  "beehive.message.id": message?.header?.id
})
