/**
 * The channel context: modules in this process, each with a bounded FIFO mailbox (Go's
 * `pkg/core/channel/context_channel.go`, with its races fixed).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { Mailbox } from "../effects/Mailbox.ts"
import { ContextTypeChannel } from "../model/Constants.ts"
import { ModuleClosed } from "../model/Errors.ts"
import type { Message } from "../model/Message.ts"
import type { Endpoint, EndpointOptions, ModuleContext } from "./ModuleContext.ts"

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

/**
 * The channel context as a service, for composing a `Beehive` with other context types.
 *
 * @category services
 */
export class ChannelContext extends Context.Service<ChannelContext, ModuleContext>()("beehive-effect/ChannelContext") {
  /** The service value: opens mailboxes. */
  static readonly make: ModuleContext = {
    type: ContextTypeChannel,
    open: (module, options) => Effect.sync(() => openMailbox(module, options))
  }

  /** A layer providing the channel context. */
  static readonly layer: Layer.Layer<ChannelContext> = Layer.succeed(ChannelContext, ChannelContext.make)
}
