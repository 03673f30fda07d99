/**
 * The default message ids (R-MSG-2): random UUIDv4s, lowercase, 36 characters, never repeated, with
 * every random bit random. The `uuid` package is the oracle of their format and of their bytes; ids
 * are drawn across many refills of the generator's pool of random bytes, its boundaries falling
 * anywhere in a run.
 */
import fc from "fast-check"
import { parse, validate, version } from "uuid"
import { describe, expect, it } from "vitest"
import { randomUuid } from "../../src/model/RandomUuid.ts"
import { fcParams } from "../support/fc.ts"

const lowercaseV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** The bits every UUIDv4 fixes: version 0100 in byte 6's high nibble, variant 10 in byte 8's top bits. */
const fixedBits = new Map<number, { readonly mask: number; readonly value: number }>([
  [6, { mask: 0xf0, value: 0x40 }],
  [8, { mask: 0xc0, value: 0x80 }]
])

/** How many of `pairs` have equal bytes at positions `i` and `j`. */
const equalAt = (pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, i: number, j: number) =>
  pairs.filter(([a, b]) => a[i] === b[j]).length

describe("R-MSG-2 default message ids", () => {
  it("R-MSG-2 are lowercase UUIDv4s of 36 characters, never the same twice, wherever the pool refills", () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 1, max: 600 }), (skipped, count) => {
        for (let i = 0; i < skipped + count; i++) {
          const id = randomUuid()
          expect(id).toMatch(lowercaseV4)
          expect(validate(id) && version(id)).toBe(4)
          expect(seen.has(id)).toBe(false)
          seen.add(id)
        }
      }),
      fcParams(100)
    )
  })

  // 4096 ids are 16 refills of the pool. Each test below fails by chance with probability under 1e-9.
  it("R-MSG-2 every one of the 122 random bits is random, no byte repeats another of its id or of the next id", () => {
    const ids = Array.from({ length: 4096 }, () => parse(randomUuid()))
    for (let byte = 0; byte < 16; byte++)
      for (let bit = 0; bit < 8; bit++) {
        const set = ids.filter((id) => ((id[byte] as number) >> bit) & 1).length
        const fixed = fixedBits.get(byte)
        if (fixed !== undefined && (fixed.mask >> bit) & 1) expect(set).toBe(((fixed.value >> bit) & 1) * ids.length)
        // Binomial(4096, 1/2): mean 2048, standard deviation 32.
        else expect(Math.abs(set - 2048), `byte ${byte}, bit ${bit}`).toBeLessThan(240)
      }
    // Equal bytes at two places: Binomial(4096, 1/256), mean 16, standard deviation 4.
    const sameId = ids.map((id) => [id, id] as const)
    const nextId = ids.slice(1).map((id, k) => [ids[k] as Uint8Array, id] as const)
    // (Bytes 6 and 8 take 16 and 64 values: those two pairs across ids are left out.)
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 16; j++) {
        if (i !== j) expect(equalAt(sameId, i, j), `bytes ${i} and ${j} of an id`).toBeLessThan(80)
        if (i !== j || !fixedBits.has(i))
          expect(equalAt(nextId, i, j), `byte ${i} of an id and byte ${j} of the next`).toBeLessThan(80)
      }
  })
})
