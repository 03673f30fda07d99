/**
 * Conservation, per-sender FIFO and no leaks under a mixed workload (R-SEND-2, R-SEND-3, R-SEND-4,
 * R-SEND-5, R-RECV-3, R-RECV-4, R-RECV-5, R-GROUP-2..5, R-CLEAN-4, R-SYNC-6): senders send to modules
 * (one message at a time, or runs of them with `sendAll`) and broadcast to the group; receivers
 * consume (one at a time, or in batches with `receiveAll`); some operations are interrupted (a sender, and a receiver while the
 * modules are cleaned up); finally every module is cleaned up. Every copy whose send succeeded must
 * be received, undelivered or (interrupted hand-off after close) reported as undeliverable, exactly
 * once; a copy whose send failed appears nowhere; an interrupted send's copy appears at most once
 * (R-SEND-3 allows both); nothing that was never sent appears; each sender's messages reach each
 * module in the order sent; nothing is left waiting.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { SendAllClosed } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import type { Scenario } from "../../src/testing/Scenario.ts"

export interface LedgerInput {
  readonly capacities: ReadonlyArray<number>
  /** Per sender, its sends in order: a module index, or -1 for a broadcast to the group. */
  readonly senders: ReadonlyArray<ReadonlyArray<number>>
  /** Per module, whether it has a receiver (one receiver, so receipt order is mailbox order). */
  readonly receivers: ReadonlyArray<boolean>
  /** Interrupt sender i after k yields (index, yields), or none. */
  readonly interrupt: readonly [number, number] | null
  /**
   * Interrupt the receiver of module i, concurrently with the final cleanups (so a message handed to
   * it may come back to a mailbox that is closing), or none.
   */
  readonly interruptReceiver?: number | null | undefined
  /** Yields before the final cleanups start. */
  readonly settleYields: number
  /**
   * Per module, how its receiver takes (R-RECV-5): 0 one message at a time (`receive`), 1 or 2
   * `receiveAll` with that `max`, 3 `receiveAll` without a bound. Absent: `receive` everywhere.
   */
  readonly receiverMax?: ReadonlyArray<number> | undefined
  /** Per sender, whether its consecutive sends to one module go as one `sendAll` (R-SEND-5). */
  readonly sendAll?: ReadonlyArray<boolean> | undefined
}

/** The `max` of module `i`'s receiver: undefined for `receive`, else `receiveAll`'s (Infinity: none). */
const receiverMaxOf = (input: LedgerInput, i: number): number | undefined => {
  const kind = input.receiverMax?.[i] ?? 0
  return kind === 0 ? undefined : kind === 3 ? Number.POSITIVE_INFINITY : kind
}

export const messageLedger = (input: LedgerInput): Scenario => {
  const undeliverable: Array<string> = []
  return {
    name: "message-ledger",
    preemptAtOperations: true,
    beehive: { onUndeliverable: (module, message) => undeliverable.push(`${module}:${message.header.id}`) },
    run: (ctx) =>
      Effect.gen(function* () {
        undeliverable.length = 0
        const b = ctx.beehive
        const modules = input.capacities.map((_, i) => `mod${i}`)
        for (const [i, m] of modules.entries()) {
          yield* b.addModule(m, { capacity: input.capacities[i] })
          yield* b.addModuleGroup(m, "all")
        }
        const attempted: Array<string> = []
        const accepted: Array<string> = []
        const refused: Array<string> = []
        const received: Array<string> = []
        const returned: Array<string> = []
        const tooMany: Array<string> = []
        const senders = []
        for (const [s, plan] of input.senders.entries()) {
          const name = `sender${s}`
          senders.push(
            yield* ctx.spawn(
              name,
              Effect.gen(function* () {
                for (let k = 0; k < plan.length; k++) {
                  const target = plan[k] as number
                  const id = `${s}.${k}`
                  const message = Message.make({ header: { id } })
                  if (target >= 0 && input.sendAll?.[s] === true) {
                    // The run of sends to this module, from k on, as one sendAll.
                    let end = k + 1
                    while (end < plan.length && plan[end] === target) end++
                    const m = modules[target % modules.length] as string
                    const copies = plan.slice(k, end).map((_, j) => `${m}:${s}.${k + j}`)
                    attempted.push(...copies)
                    const messages = copies.map((_, j) => Message.make({ header: { id: `${s}.${k + j}` } }))
                    const exit = yield* Effect.exit(
                      ctx.op(name, `sendAll(${m}, #${s}.${k}..${end - 1})`, b.sendAll(m, messages))
                    )
                    if (Exit.isSuccess(exit)) accepted.push(...copies)
                    else if (!Exit.hasInterrupts(exit)) {
                      const error = Cause.squash(exit.cause)
                      const kept = error instanceof SendAllClosed ? error.accepted : 0
                      accepted.push(...copies.slice(0, kept))
                      refused.push(...copies.slice(kept))
                    }
                    k = end - 1
                  } else if (target < 0) {
                    const members = (yield* b.snapshot).groups.get("all") ?? []
                    attempted.push(...members.map((m) => `${m}:${id}`))
                    const exit = yield* Effect.exit(
                      ctx.op(name, `sendToGroup(all, #${id})`, b.sendToGroup("all", message))
                    )
                    if (Exit.isSuccess(exit)) {
                      accepted.push(...exit.value.delivered.map((m) => `${m}:${id}`))
                      refused.push(...exit.value.gone.map((m) => `${m}:${id}`))
                    } else if (!Exit.hasInterrupts(exit)) refused.push(...members.map((m) => `${m}:${id}`))
                  } else {
                    const m = modules[target % modules.length] as string
                    attempted.push(`${m}:${id}`)
                    const exit = yield* Effect.exit(ctx.op(name, `send(${m}, #${id})`, b.send(m, message)))
                    if (Exit.isSuccess(exit)) accepted.push(`${m}:${id}`)
                    else if (!Exit.hasInterrupts(exit)) refused.push(`${m}:${id}`)
                  }
                }
              })
            )
          )
        }
        const receivers = []
        for (const [i, m] of modules.entries()) {
          if (!input.receivers[i]) continue
          const max = receiverMaxOf(input, i)
          const receive: Effect.Effect<ReadonlyArray<Message.Message>, unknown> = max === undefined
            ? Effect.map(b.receive(m), (message) => [message])
            : b.receiveAll(m, max === Number.POSITIVE_INFINITY ? undefined : max)
          const label = max === undefined ? `receive(${m})` : `receiveAll(${m}, ${max})`
          receivers.push(
            yield* ctx.spawn(
              `receiver-${m}`,
              Effect.gen(function* () {
                while (true) {
                  // What `receive` returned is noted before anything else can happen (R-RECV-4 is about an
                  // interruption while it waits; one that comes after it returned is the caller's to handle).
                  const taking = Effect.uninterruptibleMask((restore) =>
                    Effect.tap(restore(receive), (messages) =>
                      Effect.sync(() => {
                        for (const message of messages) received.push(`${m}:${message.header.id}`)
                        if (max !== undefined && messages.length > max) tooMany.push(`${m}:${messages.length}`)
                      })
                    )
                  )
                  const exit = yield* Effect.exit(ctx.op(`receiver-${m}`, label, taking))
                  if (Exit.isFailure(exit)) return
                }
              })
            )
          )
        }
        if (input.interrupt !== null) {
          const [target, yields] = input.interrupt
          const victim = senders[target % Math.max(1, senders.length)]
          if (victim !== undefined) {
            for (let k = 0; k < yields; k++) yield* Effect.yieldNow
            yield* ctx.note("main", `interrupt sender${target % senders.length}`)
            yield* Fiber.interrupt(victim)
          }
        }
        for (let k = 0; k < input.settleYields; k++) yield* Effect.yieldNow
        const receiverVictim =
          input.interruptReceiver === null || input.interruptReceiver === undefined
            ? undefined
            : receivers[input.interruptReceiver % Math.max(1, receivers.length)]
        if (receiverVictim !== undefined) {
          yield* ctx.note("main", "interrupt a receiver while the modules are cleaned up")
          yield* Effect.forkChild(Fiber.interrupt(receiverVictim))
        }
        // Senders blocked on full mailboxes end when the modules are cleaned up.
        for (const m of modules) {
          const report = yield* ctx.op("main", `cleanup(${m})`, b.cleanup(m))
          for (const message of report.undelivered) returned.push(`${m}:${message.header.id}`)
        }
        yield* Fiber.awaitAll([...senders, ...receivers])
        yield* ctx.check(tooMany.length === 0, `no batch exceeds its max (R-RECV-5): ${tooMany.join(", ")}`)
        const all = [...received, ...returned, ...undeliverable]
        for (const copy of accepted) {
          const n = all.filter((x) => x === copy).length
          yield* ctx.check(n === 1, `copy ${copy} accepted: received, undelivered or undeliverable exactly once (${n})`)
        }
        for (const copy of refused)
          yield* ctx.check(!all.includes(copy), `copy ${copy} was refused and appears nowhere`)
        for (const copy of all) {
          yield* ctx.check(attempted.includes(copy), `copy ${copy} was sent (nothing invented)`)
          yield* ctx.check(all.filter((x) => x === copy).length === 1, `copy ${copy} appears once (nothing duplicated)`)
        }
        for (const m of modules) {
          const order = received
            .filter((x) => x.startsWith(`${m}:`))
            .map((x) =>
              x
                .slice(m.length + 1)
                .split(".")
                .map(Number)
            )
          for (const s of input.senders.keys()) {
            const mine = order.filter(([sender]) => sender === s).map(([, k]) => k as number)
            yield* ctx.check(
              mine.every((k, i) => i === 0 || k > (mine[i - 1] as number)),
              `sender${s}'s messages reached ${m} in the order sent (R-SEND-4, R-GROUP-4)`
            )
          }
        }
        yield* ctx.quiesce
        const snapshot = yield* b.snapshot
        yield* ctx.check(
          snapshot.modules.length === 0 && snapshot.pendingCalls.length === 0,
          "nothing is left registered"
        )
        yield* ctx.check(ctx.pendingTimers() === 0, "no timer is left")
      })
  }
}
