/**
 * R-SOCK-7's bounds on a module exchange, as a property of its decoding: a server's handshake answer
 * listing any number of modules, and of groups with any number of members. SPEC's verdict: an exchange
 * listing at most `MaxExchangeModules` modules and at most `MaxExchangeGroupEntries` groups and
 * memberships (added up) is read as it is; one listing more is refused (`SocketProtocolError`,
 * "Exchange", saying how many), so a server cannot make its client register millions of modules (until
 * this property, any number was read, and each became a socket module of about 3 KB).
 */
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { decodeExchange, MaxExchangeGroupEntries, MaxExchangeModules } from "../../src/contexts/socket/Handshake.ts"
import { SocketProtocolError } from "../../src/model/SocketErrors.ts"
import { fcParams } from "../support/fc.ts"

/** A count anywhere up to `bound`, near it on either side, or far past it. */
const around = (bound: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: 20 }),
    fc.integer({ min: bound - 3, max: bound + 3 }),
    fc.integer({ min: bound + 1, max: 2 * bound })
  )

describe("R-SOCK-7 what a module exchange may list", () => {
  it("R-SOCK-7 an exchange of at most MaxExchangeModules modules and MaxExchangeGroupEntries groups and memberships is read as it is; one of more is refused, saying how many", () =>
    fc.assert(
      fc.property(
        around(MaxExchangeModules),
        // Groups, each with a number of members; their count and sizes together near the bound too.
        fc.integer({ min: 0, max: 4 }),
        around(MaxExchangeGroupEntries),
        (moduleCount, groupCount, entries) => {
          const modules = Array.from({ length: moduleCount }, (_, i) => `m${i}`)
          // `groupCount` groups (at least one when there are entries) sharing `entries` entries between them.
          const groupsTaken = entries === 0 ? 0 : Math.max(1, Math.min(groupCount, entries))
          const members = entries - groupsTaken
          const groups: Record<string, Array<string>> = {}
          for (let g = 0; g < groupsTaken; g++) {
            const size = Math.floor(members / groupsTaken) + (g < members % groupsTaken ? 1 : 0)
            groups[`g${g}`] = Array.from({ length: size }, (_, i) => `m${i % Math.max(1, moduleCount)}`)
          }
          const decoded = decodeExchange("server", { modules, groups })
          if (moduleCount > MaxExchangeModules) {
            expect(Result.isFailure(decoded) ? decoded.failure : undefined).toMatchObject({
              reason: "Exchange",
              detail: `it lists ${moduleCount} modules, more than ${MaxExchangeModules}`
            })
          } else if (entries > MaxExchangeGroupEntries) {
            expect(Result.isFailure(decoded) ? decoded.failure : undefined).toMatchObject({
              reason: "Exchange",
              detail: `it lists ${entries} groups and memberships, more than ${MaxExchangeGroupEntries}`
            })
          } else {
            expect(Result.isSuccess(decoded) ? decoded.success : decoded.failure).toEqual({ modules, groups })
          }
          if (Result.isFailure(decoded)) expect(decoded.failure).toBeInstanceOf(SocketProtocolError)
        }
      ),
      fcParams(60)
    ))
})
