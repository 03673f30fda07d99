/**
 * The endpoint of a channel-context module: its mailbox, a bounded FIFO in this process (Go's
 * `pkg/core/channel/context_channel.go`, with its races fixed).
 *
 * @since 0.3.0
 * @internal
 */
import { Mailbox } from "../effects/Mailbox.ts"
import { ContextTypeChannel } from "../model/Constants.ts"
import { ModuleClosed } from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { Endpoint, EndpointOptions } from "./ModuleContext.ts"

/**
 * A module's mailbox as an endpoint of the channel context.
 *
 * @category models
 */
export class MailboxEndpoint extends Mailbox<Message, ModuleClosed> implements Endpoint {
  readonly module: string
  readonly contextType = ContextTypeChannel

  constructor(module: string, options: EndpointOptions) {
    super(options.capacity, () => new ModuleClosed({ module }), options.onOrphan)
    this.module = module
  }

  get queued(): number {
    return this.size
  }
}

/**
 * Opens a mailbox endpoint for `module`. Throws a `RangeError` (a defect inside Effect) if the
 * capacity is not a positive integer.
 *
 * @category constructors
 */
export const openMailbox = (module: string, options: EndpointOptions): Endpoint => new MailboxEndpoint(module, options)
