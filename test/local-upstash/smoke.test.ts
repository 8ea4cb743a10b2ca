import { describe, expect, it } from "vitest";
import { newClient, uniquePrefix } from "../helpers/stack.ts";

describe("shared stack", () => {
  it("serves the real client", async () => {
    const redis = newClient();
    const key = uniquePrefix("smoke") + "k";
    await redis.set(key, "v");
    expect(await redis.get(key)).toBe("v");
  });
});
