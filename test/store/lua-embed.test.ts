// The scripts ship as lua.generated.ts, built from src/store/lua/*.lua: it must be up to date,
// and stripping comments must not change what a script does (the whole suite runs the
// generated text; this checks the stripper on its own).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GENERATED, generate, minifyLua } from "../../tools/embed-lua.ts";

describe("embedded Lua", () => {
  it("src/store/lua.generated.ts is what tools/embed-lua.ts builds from the .lua files", () => {
    expect(readFileSync(GENERATED, "utf8")).toBe(generate());
  });

  it("strips comments and indentation, never inside a string", () => {
    expect(
      minifyLua(
        [
          "-- a comment",
          "  local a = '--not a comment' -- but this is",
          '  local b = "it\\"s -- still a string"',
          "",
          "  return a .. b --[[ block-looking ]]",
        ].join("\n"),
      ),
    ).toBe(
      ["local a = '--not a comment'", 'local b = "it\\"s -- still a string"', "return a .. b"].join(
        "\n",
      ),
    );
  });
});
