// The compatibility settings every Worker of this repository runs with (Miniflare in tests and
// benchmarks, the vitest workerd pool; wrangler.toml says the same). From 2026-08-04 workerd turns
// Node compatibility on by default, and `no_nodejs_compat` alone still leaves its v2 modules
// (node:buffer, node:crypto, node:events, …) importable: both flags are needed for a `node:`
// import to fail, as it would in a Worker deployed without nodejs_compat.
export const COMPATIBILITY_DATE = "2026-11-02"; // not newer than the bundled workerd supports
export const COMPATIBILITY_FLAGS = ["no_nodejs_compat", "no_nodejs_compat_v2"];
