// snappyjs ships no types; the two functions the tests use.
declare module "snappyjs" {
  export function uncompress(input: Uint8Array): Uint8Array;
  export function compress(input: Uint8Array): Uint8Array;
  const SnappyJS: { uncompress: typeof uncompress; compress: typeof compress };
  export default SnappyJS;
}
