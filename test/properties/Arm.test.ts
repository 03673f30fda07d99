/**
 * The armed-wait combinators as a property (src/effects/Arm.ts): trees of `first`, `all` and
 * `mapExit` over scripted waits, which complete at once, when the test fires them, or (for the right
 * side of a `first`) complete the left side while being armed. The oracle is the combinators'
 * documented meaning, computed from the script: `first` takes the earlier outcome (the left one on a
 * tie, and the right one is then never armed), `all` every outcome in order once the last is in. The
 * property checks the outcome, that `settle` is called at most once and never after a withdrawal
 * (even when, the tree settled, a withdrawn side of a `first` answers late), and that nothing is
 * left armed: once the tree has settled or been withdrawn, every wait armed has
 * either completed or been withdrawn.
 */
import { Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Arm, all, armNow, type Cancel, done, first, mapExit, type Settle } from "../../src/effects/Arm.ts"
import { fcParams } from "../support/fc.ts"

type Tree =
  | { readonly kind: "now"; readonly name: string; readonly fails: boolean }
  | { readonly kind: "later"; readonly name: string; readonly fails: boolean }
  | { readonly kind: "first"; readonly left: Tree; readonly right: Tree }
  /** A `first` whose right side, when armed, fires its left side (a later wait). */
  | { readonly kind: "woken"; readonly left: Extract<Tree, { kind: "later" }> }
  | { readonly kind: "all"; readonly children: ReadonlyArray<Tree> }
  | { readonly kind: "map"; readonly inner: Tree }

let counter = 0
const leaf = (kind: "now" | "later") =>
  fc.boolean().map((fails): Tree => ({ kind, name: `${kind}${counter++}`, fails }))

const arbTree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf("later"),
    leaf("now"),
    fc.record({ kind: fc.constant("first" as const), left: tie("tree"), right: tie("tree") }),
    leaf("later").map((left): Tree => ({ kind: "woken", left: left as Extract<Tree, { kind: "later" }> })),
    fc.record({ kind: fc.constant("all" as const), children: fc.array(tie("tree"), { maxLength: 3 }) }),
    fc.record({ kind: fc.constant("map" as const), inner: tie("tree") })
  )
})).tree

const show = (exit: Exit.Exit<string, string>): string =>
  Exit.isSuccess(exit) ? `ok:${exit.value}` : `err:${Exit.isFailure(exit) ? String(exit.cause) : ""}`
const exitOf = (name: string, fails: boolean): Exit.Exit<string, string> =>
  fails ? Exit.fail(name) : Exit.succeed(name)

/** A scripted wait of the test: its state, and how to complete it. */
interface Leaf {
  armed: boolean
  fired: boolean
  withdrawn: boolean
  settle: ((exit: Exit.Exit<string, string>) => void) | undefined
  readonly exit: Exit.Exit<string, string>
  /** A side of a `first`: its answer after its withdrawal is `first`'s to ignore. */
  sideOfFirst: boolean
}

/** Builds the arm of a tree, registering each later wait under its name. */
const build = (tree: Tree, leaves: Map<string, Leaf>): Arm<string, string> => {
  switch (tree.kind) {
    case "now":
      return done(exitOf(tree.name, tree.fails))
    case "later": {
      const state: Leaf = {
        armed: false,
        fired: false,
        withdrawn: false,
        settle: undefined,
        exit: exitOf(tree.name, tree.fails),
        sideOfFirst: false
      }
      leaves.set(tree.name, state)
      return (settle) => {
        state.armed = true
        state.settle = settle
        return () => {
          state.withdrawn = true
        }
      }
    }
    case "first": {
      const arm = first(build(tree.left, leaves), build(tree.right, leaves))
      for (const side of [tree.left, tree.right]) {
        const state = side.kind === "later" ? leaves.get(side.name) : undefined
        if (state !== undefined) state.sideOfFirst = true
      }
      return arm
    }
    case "woken": {
      const left = build(tree.left, leaves)
      const waker: Arm<string, string> = () => {
        fire(leaves, tree.left.name)
        return () => {}
      }
      return first(left, waker)
    }
    case "all":
      return mapExit(all(tree.children.map((child) => build(child, leaves))), (exit) =>
        Exit.isSuccess(exit) ? Exit.succeed(`[${exit.value.map(show).join(",")}]`) : Exit.die("all never fails")
      )
    case "map":
      return mapExit(build(tree.inner, leaves), (exit) => Exit.succeed(`m(${show(exit)})`))
  }
}

/** Completes a later wait, unless it completed or was withdrawn. */
const fire = (leaves: Map<string, Leaf>, name: string): void => {
  const state = leaves.get(name)
  if (state === undefined || !state.armed || state.fired || state.withdrawn) return
  state.fired = true
  state.settle?.(state.exit)
}

/**
 * The oracle: when a tree completes (-1: while it is armed; else the index of the firing that
 * completes it; undefined: not by these firings) and with what.
 */
const meaning = (tree: Tree, order: ReadonlyArray<string>): { at: number | undefined; shown: string } => {
  switch (tree.kind) {
    case "now":
      return { at: -1, shown: show(exitOf(tree.name, tree.fails)) }
    case "later": {
      const at = order.indexOf(tree.name)
      return { at: at < 0 ? undefined : at, shown: show(exitOf(tree.name, tree.fails)) }
    }
    case "woken":
      return { at: -1, shown: show(exitOf(tree.left.name, tree.left.fails)) }
    case "first": {
      const left = meaning(tree.left, order)
      if (left.at === -1) return left
      const right = meaning(tree.right, order)
      if (right.at === -1) return right
      if (left.at === undefined) return right
      if (right.at === undefined) return left
      return left.at <= right.at ? left : right
    }
    case "all": {
      const children = tree.children.map((child) => meaning(child, order))
      const pending = children.some((c) => c.at === undefined)
      const at = pending ? undefined : Math.max(-1, ...children.map((c) => c.at as number))
      return { at, shown: `ok:[${children.map((c) => c.shown).join(",")}]` }
    }
    case "map": {
      const inner = meaning(tree.inner, order)
      return { at: inner.at, shown: `ok:m(${inner.shown})` }
    }
  }
}

// Later waits fired inside a woken `first` are fired by its waker, not by the test.
const laterNames = (tree: Tree): Array<string> => {
  switch (tree.kind) {
    case "now":
      return []
    case "later":
      return [tree.name]
    case "woken":
      return [tree.left.name]
    case "first":
      return [...laterNames(tree.left), ...laterNames(tree.right)]
    case "all":
      return tree.children.flatMap(laterNames)
    case "map":
      return laterNames(tree.inner)
  }
}

describe("armed waits", () => {
  it("first, all and mapExit settle once, with what their meaning says, and leave nothing armed", () =>
    fc.assert(
      fc.property(
        arbTree.chain((tree) =>
          fc.tuple(fc.constant(tree), fc.shuffledSubarray(laterNames(tree)), fc.option(fc.nat(), { nil: undefined }))
        ),
        ([tree, order, withdrawAt]) => {
          const leaves = new Map<string, Leaf>()
          const settled: Array<string> = []
          let withdrawn = false
          const armed = build(
            tree,
            leaves
          )((exit) => {
            expect(withdrawn, "settled after its withdrawal").toBe(false)
            settled.push(show(exit))
          })
          const cancel: Cancel | undefined = typeof armed === "function" ? armed : undefined
          if (typeof armed !== "function") settled.push(show(armed))
          const expected = meaning(tree, order)
          const stopAt = withdrawAt === undefined ? order.length : withdrawAt % (order.length + 1)
          for (const [i, name] of order.entries()) {
            if (i === stopAt) {
              withdrawn = true
              cancel?.()
              break
            }
            fire(leaves, name)
          }
          // A tree still waiting is withdrawn; then firings of waits withdrawn or completed change nothing.
          if (settled.length === 0 && !withdrawn) {
            withdrawn = true
            cancel?.()
          }
          for (const name of order) fire(leaves, name)
          // In a tree that settled, a side of a `first` that answers even after it was withdrawn (its cancel
          // came too late to stop it) changes nothing either: `first` ignores what comes after it settled
          // (R-SYNC-8), or an enclosing one does.
          if (!withdrawn)
            for (const state of leaves.values())
              if (state.sideOfFirst && state.withdrawn && !state.fired) state.settle?.(state.exit)
          expect(settled.length, "settle calls").toBeLessThanOrEqual(1)
          if (expected.at !== undefined && expected.at < stopAt) {
            expect(settled).toEqual([expected.shown])
          } else {
            expect(settled).toEqual([])
          }
          for (const [name, state] of leaves)
            expect(!state.armed || state.fired || state.withdrawn, `${name} left armed`).toBe(true)
        }
      ),
      fcParams(2000)
    ))

  it("armNow keeps an early outcome for its first waiter, hands a later one on in the mode it came in, and withdraws its wait only while no waiter has the outcome", () =>
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.shuffledSubarray(["fire", "wait", "withdraw"] as const, { minLength: 1 }),
        fc.boolean(),
        fc.boolean(),
        (immediate, events, firesLater, waiterHasLater) => {
          let settleSource: Settle<string, string> | undefined
          let sourceWithdrawn = false
          const source: Arm<string, string> = (settle) => {
            if (immediate) return Exit.succeed("now")
            settleSource = settle
            return () => {
              sourceWithdrawn = true
            }
          }
          const [waiting, withdraw] = armNow(source)
          const got: Array<string> = []
          let withdrawn = false
          let fired = immediate
          let taken = false
          let withdrewSource = false
          for (const event of events) {
            if (event === "fire" && !immediate && !withdrawn) {
              fired = true
              const exit = Exit.succeed("later")
              if (firesLater && settleSource?.later !== undefined) settleSource.later(exit)
              else settleSource?.(exit)
            } else if (event === "wait" && !withdrawn) {
              const waiter = Object.assign((exit: Exit.Exit<string, string>) => got.push(`now:${show(exit)}`), {
                later: waiterHasLater ? (exit: Exit.Exit<string, string>) => got.push(`later:${show(exit)}`) : undefined
              })
              const armed = waiting(waiter)
              if (typeof armed !== "function") got.push(`at once:${show(armed)}`)
            } else if (event === "withdraw") {
              withdrewSource = !immediate && !taken
              withdrawn = true
              withdraw()
            }
            taken = got.length > 0
          }
          // The oracle: the first waiter gets the outcome once, if it came and nobody withdrew first.
          const waitAt = events.indexOf("wait")
          const fireAt = immediate ? -1 : events.indexOf("fire")
          const withdrawAt = events.includes("withdraw") ? events.indexOf("withdraw") : events.length
          const value = immediate ? "ok:now" : "ok:later"
          const expected =
            waitAt < 0 || waitAt > withdrawAt || (!immediate && (fireAt < 0 || fireAt > withdrawAt))
              ? []
              : fireAt < waitAt
                ? [`at once:${value}`]
                : [`${firesLater && waiterHasLater ? "later" : "now"}:${value}`]
          expect(got).toEqual(expected)
          expect(fired || got.length === 0).toBe(true)
          // Withdrawing undoes the wait only while no waiter has the outcome.
          expect(sourceWithdrawn).toBe(withdrewSource)
        }
      ),
      fcParams(500)
    ))
})
