/**
 * The attribution of responses without a responder on one connection (R-SOCK-9), driven directly: the
 * order in which copies are written and answered is set here, including orders the connection rarely
 * produces (a copy answered before the next copy of the same call is written).
 */
import { describe, expect, it } from "vitest"
import * as Message from "../../src/model/Message.ts"
import { attributionOver } from "../support/attribution.ts"

const setup = (modules: ReadonlyArray<string>) => attributionOver(modules)

const request = (id: string) => Message.make({ header: { id, timestamp: 1, sync: true } })

describe("ResponseAttribution: responses without a responder", () => {
  it("R-SOCK-9 a group call's copies written to several modules: an answer without a responder stays unattributed, also when the first copy was answered before the next was written", () => {
    const { handed, write, answer } = setup(["a", "b"])
    const m = request("m")
    write(m, "a")
    answer("err", "m", "a")
    write(m, "b")
    answer("r", "m")
    expect(handed).toEqual([
      ["err", "a"],
      ["r", undefined]
    ])
  })

  it("R-SOCK-9 written to several modules in one go, then answered: unattributed, whoever answered first", () => {
    const { handed, write, answer } = setup(["a", "b"])
    const m = request("m")
    write(m, "a")
    write(m, "b")
    answer("r1", "m", "a")
    answer("r2", "m")
    expect(handed).toEqual([
      ["r1", "a"],
      ["r2", undefined]
    ])
  })

  it("R-SOCK-9 a request written to one module: every answer without a responder is that module's (a second is its second)", () => {
    const { handed, write, answer } = setup(["a", "b"])
    write(request("m"), "b")
    answer("r1", "m")
    answer("r2", "m")
    expect(handed).toEqual([
      ["r1", "b"],
      ["r2", "b"]
    ])
  })

  it("R-SOCK-9 a later call reusing an ended call's id counts its own copies only", () => {
    const { handed, write, answer } = setup(["a", "b"])
    // The first call's copy to a was never answered; the second call, with the same id, writes to b.
    write(request("m"), "a")
    write(request("m"), "b")
    answer("r", "m")
    expect(handed).toEqual([["r", "b"]])
  })
})
