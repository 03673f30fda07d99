import fc from "fast-check"
import * as Message from "../../src/model/Message.ts"

const text = fc.string({ unit: "grapheme", maxLength: 12 })
const anyText = fc.oneof(text, fc.string({ unit: "binary", maxLength: 12 }))

/**
 * Messages made with `Message.make` from fields drawn from `text` (the string fields; `idText` for the
 * id, the parent id and the source, when given), `timestamp` and `content`.
 */
export const arbMessageOf = (parts: {
  readonly text: fc.Arbitrary<string>
  readonly idText?: fc.Arbitrary<string>
  readonly timestamp: fc.Arbitrary<number>
  readonly content: fc.Arbitrary<unknown>
}): fc.Arbitrary<Message.Message> =>
  fc
    .record({
      id: parts.idText ?? parts.text,
      parentId: parts.idText ?? parts.text,
      timestamp: parts.timestamp,
      resourceVersion: parts.text,
      sync: fc.boolean(),
      type: parts.text,
      source: parts.idText ?? parts.text,
      destination: parts.text,
      group: parts.text,
      operation: parts.text,
      resource: parts.text,
      content: parts.content
    })
    .map((r) =>
      Message.make({
        header: {
          id: r.id,
          parentId: r.parentId,
          timestamp: r.timestamp,
          resourceVersion: r.resourceVersion,
          sync: r.sync,
          type: r.type
        },
        route: {
          source: r.source,
          destination: r.destination,
          group: r.group,
          operation: r.operation,
          resource: r.resource
        },
        content: r.content
      })
    )

/** Messages whose content is a JSON value, the domain on which encode/decode is the identity. */
export const arbMessage: fc.Arbitrary<Message.Message> = arbMessageOf({
  text,
  idText: anyText,
  timestamp: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  content: fc.jsonValue({ maxDepth: 4 })
})

/**
 * What an id may end with: nothing, or UTF-16 that JSON writes changed (a lone surrogate, which UTF-8
 * cannot hold, as U+FFFD: R-JSON-2) or unchanged (a pair, U+FFFD itself).
 */
export const idTail: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.constantFrom("a\udc00b", "\ud800\ud800", "\ud83d\ude00", "\ufffd")
)
