// luamin ships no types; this is the one function tools/embed-lua.ts calls (a CommonJS module,
// so Node gives it as the default export).
declare module "luamin" {
  const luamin: {
    /** Lua 5.1 source → the same program with whitespace removed and locals renamed. */
    minify(source: string): string;
  };
  export default luamin;
}
