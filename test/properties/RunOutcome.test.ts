/**
 * What a deterministic run reports (R-DET-1, R-DET-5) as a property: message ids are sequential, `m1`,
 * `m2`, … unless `idPrefix` says otherwise, and a program that fails is described in one line by what
 * failed it: an error's message (preceded by its class's name unless it is a plain `Error`), a tagged
 * value that is no error as its JSON, anything else as its text. The oracle restates those words.
 */
import { Data, Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { describeCause, runDeterministic } from "../../src/effects/DeterministicRuntime.ts"
import * as Message from "../../src/model/Message.ts"
import { fcParams } from "../support/fc.ts"

/** A tagged value that is no `Error` (a tagged error is an `Error`: named, with its message). */
class Tagged extends Data.TaggedClass("Tagged")<{ readonly detail: string }> {}

class Named extends Error {
  override readonly name = "Named"
}

type Failure =
  | { readonly kind: "error"; readonly text: string }
  | { readonly kind: "named"; readonly text: string }
  | { readonly kind: "tagged"; readonly text: string }
  | { readonly kind: "value"; readonly value: string | number }

/** The failure itself, and the line that describes it. */
const failureOf = (failure: Failure): { readonly cause: unknown; readonly line: string } => {
  switch (failure.kind) {
    case "error":
      return { cause: new Error(failure.text), line: failure.text }
    case "named":
      return { cause: new Named(failure.text), line: `Named: ${failure.text}` }
    case "tagged":
      return { cause: new Tagged({ detail: failure.text }), line: JSON.stringify(new Tagged({ detail: failure.text })) }
    case "value":
      return { cause: failure.value, line: String(failure.value) }
  }
}

const arbFailure: fc.Arbitrary<Failure> = fc.oneof(
  fc.record({ kind: fc.constant("error" as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ kind: fc.constant("named" as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ kind: fc.constant("tagged" as const), text: fc.string({ maxLength: 12 }) }),
  fc.record({ kind: fc.constant("value" as const), value: fc.oneof(fc.string({ maxLength: 12 }), fc.integer()) })
)

describe("R-DET-1 R-DET-5 what a deterministic run reports", () => {
  it("R-DET-1 message ids are m1, m2, … in a run, or the idPrefix's", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.option(fc.string({ maxLength: 4 })), (count, prefix) => {
        const result = runDeterministic(
          Effect.forEach(Array.from({ length: count }), () => Message.newMessage()),
          prefix === null ? {} : { idPrefix: prefix }
        )
        const ids = result.exit?._tag === "Success" ? result.exit.value.map((m) => m.header.id) : []
        expect(ids).toEqual(Array.from({ length: count }, (_, i) => `${prefix ?? "m"}${i + 1}`))
      }),
      fcParams(100)
    ))

  it("R-DET-5 a run that fails or dies is described in one line by what failed it", () =>
    fc.assert(
      fc.property(arbFailure, fc.boolean(), (failure, dies) => {
        const { cause, line } = failureOf(failure)
        const result = runDeterministic(dies ? Effect.die(cause) : Effect.fail(cause))
        expect(result.outcome).toEqual({ _tag: "Failure", message: line })
        if (result.exit !== undefined && result.exit._tag === "Failure")
          expect(describeCause(result.exit.cause)).toBe(line)
      }),
      fcParams(200)
    ))
})
