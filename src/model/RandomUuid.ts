/**
 * Random UUIDv4 strings (RFC 9562: lowercase, 36 characters, version 4, variant 10), from the
 * platform's cryptographic random source, as Go beehive's `uuid.New()`.
 *
 * Built here rather than taken from `uuid` or `crypto.randomUUID` because every `sendSync` makes two
 * (its request's and its response's) and one is then hashed as a key of the reply table: Node's
 * `randomUUID`, which `uuid`'s `v4()` calls, joins twenty strings into a rope of about 700 bytes that
 * the first `Map` lookup flattens again. This one draws 16 bytes from a pool of random bytes filled
 * 4 KiB at a time and makes the string in one piece: 57 against 105–126 ns an id, and 150 against
 * 300 ns with the `Map` insert and delete of the reply table (measured 2026-12-06).
 *
 * @since 0.3.0
 * @internal
 */

/** Random bytes drawn at once: 256 ids' worth (`getRandomValues` takes at most 65,536). */
const poolBytes = 4096

/** The two lowercase hex digits of each byte, as two character codes: high digit in the high byte. */
const hexPairs = (() => {
  const digits = "0123456789abcdef"
  const pairs = new Uint16Array(256)
  for (let byte = 0; byte < 256; byte++)
    pairs[byte] = (digits.charCodeAt(byte >> 4) << 8) | digits.charCodeAt(byte & 15)
  return pairs
})()

let pool: Uint8Array | undefined
let taken = poolBytes

/** The next 16 unused random bytes' offset in `pool`, refilling it once all are used. */
const drawOffset = (): number => {
  if (pool === undefined) pool = new Uint8Array(poolBytes)
  if (taken === poolBytes) {
    globalThis.crypto.getRandomValues(pool)
    taken = 0
  }
  const offset = taken
  taken += 16
  return offset
}

const dash = 45

/** The hex pair of the byte at `at`. */
const pairAt = (bytes: Uint8Array, at: number): number => hexPairs[bytes[at] as number] as number

/**
 * A new random UUIDv4, lowercase, as one flat string. Never blocks; throws only if the platform has
 * no `crypto.getRandomValues` (every Node this package supports has it).
 *
 * @category constructors
 */
export const randomUuid = (): string => {
  const o = drawOffset()
  const b = pool as Uint8Array
  const p0 = pairAt(b, o)
  const p1 = pairAt(b, o + 1)
  const p2 = pairAt(b, o + 2)
  const p3 = pairAt(b, o + 3)
  const p4 = pairAt(b, o + 4)
  const p5 = pairAt(b, o + 5)
  // Version 4 in the high nibble of byte 6, variant 10 in the high bits of byte 8.
  const p6 = hexPairs[((b[o + 6] as number) & 0x0f) | 0x40] as number
  const p7 = pairAt(b, o + 7)
  const p8 = hexPairs[((b[o + 8] as number) & 0x3f) | 0x80] as number
  const p9 = pairAt(b, o + 9)
  const p10 = pairAt(b, o + 10)
  const p11 = pairAt(b, o + 11)
  const p12 = pairAt(b, o + 12)
  const p13 = pairAt(b, o + 13)
  const p14 = pairAt(b, o + 14)
  const p15 = pairAt(b, o + 15)
  // One call with every character: V8 makes a flat string of them, where `+` would make a rope.
  return String.fromCharCode(
    p0 >> 8,
    p0 & 255,
    p1 >> 8,
    p1 & 255,
    p2 >> 8,
    p2 & 255,
    p3 >> 8,
    p3 & 255,
    dash,
    p4 >> 8,
    p4 & 255,
    p5 >> 8,
    p5 & 255,
    dash,
    p6 >> 8,
    p6 & 255,
    p7 >> 8,
    p7 & 255,
    dash,
    p8 >> 8,
    p8 & 255,
    p9 >> 8,
    p9 & 255,
    dash,
    p10 >> 8,
    p10 & 255,
    p11 >> 8,
    p11 & 255,
    p12 >> 8,
    p12 & 255,
    p13 >> 8,
    p13 & 255,
    p14 >> 8,
    p14 & 255,
    p15 >> 8,
    p15 & 255
  )
}
