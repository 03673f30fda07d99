/**
 * A byte pattern for transport properties: byte `offset` of direction `direction`'s stream, so that any
 * loss, duplication, reordering, merging or cutting of what was written breaks it.
 */
export const patternByte = (direction: number, offset: number) =>
  (offset * 7 + (offset >>> 8) * 13 + direction * 101) & 255

/** `size` bytes of direction `direction`'s pattern, from `from`. */
export const pattern = (direction: number, from: number, size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = patternByte(direction, from + i)
  return bytes
}
