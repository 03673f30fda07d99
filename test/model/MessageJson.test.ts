import { Effect, Exit, Result } from "effect"
import { describe, expect, it } from "vitest"
import { MessageDecodeError, MessageEncodeError } from "../../src/model/Errors.ts"
import * as Message from "../../src/model/Message.ts"
import { decodeJson, decodeJsonResult, encodeJson, encodeJsonResult } from "../../src/model/MessageJson.ts"

const encode = (m: Message.Message) => Result.getOrThrow(encodeJsonResult(m))
const withContent = (content: unknown) => Message.make({ header: { id: "i", timestamp: 1 }, content })
const contentJson = (content: unknown) => {
  const json = encode(withContent(content))
  return json.slice(json.indexOf(',"content":') + 11, -1)
}
const decodeFailure = (text: string) => {
  const r = decodeJsonResult(text)
  if (Result.isSuccess(r)) throw new Error(`decoded: ${text}`)
  return r.failure
}

describe("MessageJson", () => {
  it("R-JSON-1 encodes byte for byte as Go's json.Marshal (verified Go outputs)", () => {
    const full = Message.make({
      header: {
        id: "5e0c5c2e-5f6d-4b8e-9a6e-0d7b1f1e2c3a",
        parentId: "pid",
        timestamp: 1795338145513,
        resourceVersion: "7",
        sync: true,
        type: "unixpacket"
      },
      route: { source: "src", destination: "dst", group: "grp", operation: "op", resource: "res" },
      content: { k: 1 }
    })
    expect(encode(full)).toBe(
      '{"header":{"msg_id":"5e0c5c2e-5f6d-4b8e-9a6e-0d7b1f1e2c3a","parent_msg_id":"pid","timestamp":1795338145513,"resourceversion":"7","sync":true,"type":"unixpacket"},"route":{"source":"src","destination":"dst","group":"grp","operation":"op","resource":"res"},"content":{"k":1}}'
    )
    expect(encode(Message.make({}))).toBe('{"header":{"msg_id":"","timestamp":0},"route":{},"content":null}')
    const handshake = Message.make({
      header: { id: "hs-1", timestamp: 1, sync: true, type: "unixpacket" },
      route: { source: "cli", operation: "add", resource: "module" },
      content: ""
    })
    expect(encode(handshake)).toBe(
      '{"header":{"msg_id":"hs-1","timestamp":1,"sync":true,"type":"unixpacket"},"route":{"source":"cli","operation":"add","resource":"module"},"content":""}'
    )
    expect(Effect.runSync(encodeJson(handshake))).toBe(encode(handshake))
  })

  it("R-JSON-2 escapes strings as Go does (HTML, control characters, U+2028/9, lone surrogates)", () => {
    expect(contentJson('<a href="x">&</a>')).toBe('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"')
    expect(contentJson("\b\f\n\r\t\\")).toBe('"\\b\\f\\n\\r\\t\\\\"')
    expect(contentJson("\u0000\u0001\u001f\u007f")).toBe('"\\u0000\\u0001\\u001f\u007f"')
    expect(contentJson("a\u2028b\u2029c")).toBe('"a\\u2028b\\u2029c"')
    expect(contentJson("x\ud800y\udc00")).toBe('"x\\ufffdy\\ufffd"')
    expect(contentJson("é😀")).toBe('"é😀"')
    expect(encode(Message.make({ route: { source: "<s>" } }))).toContain('"source":"\\u003cs\\u003e"')
  })

  it("R-JSON-3 writes content as Go writes the decoded value: sorted keys, float64 numbers, base64 bytes", () => {
    expect(contentJson({ b: 1, a: 2, é: 3, Z: 4 })).toBe('{"Z":4,"a":2,"b":1,"é":3}')
    expect(contentJson({ "😀": 1, "\uffff": 2 })).toBe('{"\uffff":2,"😀":1}')
    expect(contentJson([1e21, 1e-7, 0.000001, 1.5, -0, 0, 123456789012345680000, -2.5e-8])).toBe(
      "[1e+21,1e-7,0.000001,1.5,-0,0,123456789012345680000,-2.5e-8]"
    )
    expect(contentJson(new Uint8Array([1, 2, 3]))).toBe('"AQID"')
    expect(contentJson({ a: undefined, b: [undefined, null, true, false] })).toBe(
      '{"a":null,"b":[null,null,true,false]}'
    )
    expect(contentJson(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"')
    expect(contentJson(undefined)).toBe("null")
  })

  it("R-JSON-3 content JSON cannot carry fails with MessageEncodeError naming the path", () => {
    const failure = (content: unknown) => {
      const r = encodeJsonResult(withContent(content))
      if (Result.isSuccess(r)) throw new Error("encoded")
      return r.failure
    }
    expect(failure(Number.NaN)).toMatchObject({ _tag: "MessageEncodeError", path: "content" })
    expect(failure({ a: [1, () => 1] })).toMatchObject({ path: "content.a[1]" })
    expect(failure({ n: 1n }).reason).toContain("bigint")
    expect(failure(Symbol("s")).reason).toContain("symbol")
    expect(failure([Number.POSITIVE_INFINITY]).path).toBe("content[0]")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(failure(cyclic)).toBeInstanceOf(MessageEncodeError)
    expect(failure(cyclic).reason).toContain("cycle")
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(failure(deep).reason).toContain("deeply")
    const exit = Effect.runSyncExit(encodeJson(withContent(Number.NaN)))
    expect(Exit.isFailure(exit)).toBe(true)
    const shared = { x: 1 }
    expect(contentJson([shared, shared])).toBe('[{"x":1},{"x":1}]')
  })

  it("R-JSON-4 decodes Go JSON; absent or null fields are Go's zero values; unknown keys are ignored", () => {
    const text =
      '{"header":{"msg_id":"a","parent_msg_id":"p","timestamp":3,"resourceversion":"7","sync":true,"type":"t","extra":1},"route":{"source":"s","destination":"d","group":"g","operation":"o","resource":"r"},"content":{"k":[1,"x"]},"more":true}'
    const m = Effect.runSync(decodeJson(text))
    expect(m).toEqual(
      Message.make({
        header: { id: "a", parentId: "p", timestamp: 3, resourceVersion: "7", sync: true, type: "t" },
        route: { source: "s", destination: "d", group: "g", operation: "o", resource: "r" },
        content: { k: [1, "x"] }
      })
    )
    expect(Object.isFrozen(m.header)).toBe(true)
    expect(Effect.runSync(decodeJson('{"header":{"msg_id":"","timestamp":0},"route":{},"content":null}'))).toEqual(
      Message.make({})
    )
    expect(
      Effect.runSync(
        decodeJson('{"header":{"msg_id":"b","timestamp":-4,"parent_msg_id":null,"sync":null,"type":null},"route":null}')
      )
    ).toEqual(Message.make({ header: { id: "b", timestamp: -4 } }))
  })

  it("R-JSON-4 rejects what is not a message with MessageDecodeError naming the path, never throwing", () => {
    expect(decodeFailure("{")).toMatchObject({ _tag: "MessageDecodeError", path: "" })
    expect(decodeFailure("{").reason).toContain("invalid JSON")
    expect(decodeFailure("[1]").path).toBe("")
    expect(decodeFailure("null").path).toBe("")
    expect(decodeFailure("{}").path).toBe("header")
    expect(decodeFailure('{"header":{"msg_id":1,"timestamp":1}}').path).toBe("header.msg_id")
    expect(decodeFailure('{"header":{"msg_id":"a","timestamp":1.5}}').path).toBe("header.timestamp")
    expect(decodeFailure('{"header":{"msg_id":"a","timestamp":1e300}}').path).toBe("header.timestamp")
    expect(decodeFailure('{"header":{"msg_id":"a"}}').path).toBe("header.timestamp")
    expect(decodeFailure('{"header":{"msg_id":"a","timestamp":1},"route":{"source":3}}').path).toBe("route.source")
    expect(decodeFailure('{"header":{"msg_id":"a","timestamp":1,"sync":"yes"}}').path).toBe("header.sync")
    const failure = decodeFailure('{"header":{"msg_id":"a","timestamp":"1"}}')
    expect(failure).toBeInstanceOf(MessageDecodeError)
    expect(failure.message).toContain("header.timestamp")
    expect(new MessageDecodeError({ path: "", reason: "r" }).message).toBe("invalid message: r")
    expect(Exit.isFailure(Effect.runSyncExit(decodeJson("nope")))).toBe(true)
  })

  it("R-JSON-5 decodeJson(encodeJson(m)) is m for a message with every field set", () => {
    const m = Message.make({
      header: { id: "x", parentId: "y", timestamp: 12, resourceVersion: "v", sync: true, type: "channel" },
      route: { source: "a", destination: "b", group: "c", operation: "d", resource: "e" },
      content: { list: [1, 2.5, "s", null, { nested: false }], "<": "&" }
    })
    expect(Effect.runSync(decodeJson(encode(m)))).toEqual(m)
  })
})
