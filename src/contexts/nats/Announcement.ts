/**
 * The registry's announcements (R-NATS-3): what a process publishes on `<prefix>.reg` when it starts
 * (hello), on each heartbeat or change (beat) and when it ends (bye), and their validation.
 *
 * @since 0.3.0
 * @internal
 */

/** The most modules an announcement may list; one listing more is refused (R-NATS-4). @category constants */
export const MaxAnnounced = 10_000

/**
 * One announcement: the modules `process` serves now.
 *
 * @category models
 */
export interface Announcement {
  readonly v: 1
  readonly process: string
  readonly kind: "hello" | "beat" | "bye"
  readonly modules: ReadonlyArray<string>
  /**
   * True when the process takes batches (R-NATS-13); a process of an older version says nothing, and
   * any value but `true` is taken for no.
   */
  readonly batches?: boolean
}

/**
 * Reads an announcement from a registry message's payload; the reason, if it is not one. Never throws.
 *
 * @category constructors
 */
export const parseAnnouncement = (data: Uint8Array): Announcement | string => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return "not JSON"
  }
  if (typeof value !== "object" || value === null) return "not an object"
  const a = value as Record<string, unknown>
  if (a.v !== 1) return "unknown version"
  if (typeof a.process !== "string" || a.process === "") return "no process"
  if (a.kind !== "hello" && a.kind !== "beat" && a.kind !== "bye") return "unknown kind"
  if (!Array.isArray(a.modules) || a.modules.length > MaxAnnounced) return "bad module list"
  if (!a.modules.every((m) => typeof m === "string" && m !== "")) return "bad module name"
  return a as unknown as Announcement
}

/**
 * The announcement `process` publishes of `modules`: it takes batches (R-NATS-13).
 *
 * @category constructors
 */
export const makeAnnouncement = (
  process: string,
  kind: Announcement["kind"],
  modules: ReadonlyArray<string>
): Announcement => ({ v: 1, process, kind, modules, batches: true })

/**
 * The bytes of an announcement of `modules` by `process`, as `announce` publishes it (of any kind: a
 * `hello` is the longest).
 *
 * @category encoding
 */
export const announcementBytes = (process: string, modules: ReadonlyArray<string>): number =>
  Buffer.byteLength(JSON.stringify(makeAnnouncement(process, "hello", modules)))
