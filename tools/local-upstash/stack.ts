// The local stack ships with the package (src/dev/stack.ts); this path stays for tests and scripts.
export { type LocalStack, type LocalStackOptions, startLocalStack } from "../../src/dev/stack.ts";
