import fc from "fast-check"
import * as Message from "../../src/model/Message.ts"

const text = fc.string({ unit: "grapheme", maxLength: 12 })
const anyText = fc.oneof(text, fc.string({ unit: "binary", maxLength: 12 }))

/** Messages whose content is a JSON value, the domain on which encode/decode is the identity. */
export const arbMessage: fc.Arbitrary<Message.Message> = fc
  .record({
    id: anyText,
    parentId: anyText,
    timestamp: fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    resourceVersion: text,
    sync: fc.boolean(),
    type: text,
    source: anyText,
    destination: text,
    group: text,
    operation: text,
    resource: text,
    content: fc.jsonValue({ maxDepth: 4 })
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
