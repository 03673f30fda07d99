/**
 * The channel context: modules in this process, each with a bounded FIFO mailbox (Go's
 * `pkg/core/channel/context_channel.go`, with its races fixed). Every global context has it plugged
 * in from the start (`Beehive.make`, `Beehive.makeHost`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { ContextTypeChannel } from "../model/Constants.ts"
import type { ContextType } from "./ContextHost.ts"
import { openMailbox } from "./MailboxEndpoint.ts"
import type { ModuleContext } from "./ModuleContext.ts"

/** The "channel" context type: opens mailboxes. */
const channelContext: ModuleContext = {
  type: ContextTypeChannel,
  open: (module, options) => Effect.sync(() => openMailbox(module, options))
}

/**
 * The channel context as a service.
 *
 * @category services
 */
export class ChannelContext extends Context.Service<ChannelContext, ContextType>()("beehive-effect/ChannelContext") {
  /** The service value: the "channel" context type (it opens mailboxes), as `ContextHost`'s `plug` takes it. */
  static readonly make: ContextType = channelContext

  /** A layer providing the channel context. */
  static readonly layer: Layer.Layer<ChannelContext> = Layer.succeed(ChannelContext, ChannelContext.make)
}
