// `npm run lint` runs this over src/: the library's modules must not import each other in a
// cycle (data flows one way: metrics → batch → flush → store; store → snapshot → metrics'
// samples), metrics import neither the registry nor flush/, and only the Node adapter may use
// Node's built-in modules. src/dev/ is the local development server (`prometheus-upstash dev`,
// `prometheus-upstash/dev`): a Node program of its own that the library never imports, so no
// Worker bundle can carry it.
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "An import cycle between library modules (type-only imports included).",
      from: {},
      to: { circular: true },
    },
    {
      name: "metrics-below-registry-and-flush",
      severity: "error",
      comment:
        "A metric records, drains and renders: it knows neither the registry nor the writer (flush/).",
      from: { path: "^src/metrics/" },
      to: { path: "^src/(registry|reader)\\.ts$|^src/flush/" },
    },
    {
      name: "node-only-in-node-adapter",
      severity: "error",
      comment:
        "src/ runs in workerd without Node compatibility: Node built-ins only in adapters/node.ts.",
      from: { path: "^src/", pathNot: ["^src/adapters/node\\.ts$", "^src/dev/"] },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "dev-server-stays-apart",
      severity: "error",
      comment:
        "src/dev/ (the Node-only local Upstash server) is its own entry: the library never imports it, and it imports nothing of the library.",
      from: { path: "^src/", pathNot: "^src/dev/" },
      to: { path: "^src/dev/" },
    },
    {
      name: "dev-server-self-contained",
      severity: "error",
      comment:
        "src/dev/ ships as a Node program with no runtime dependency: Node built-ins and its own files only.",
      from: { path: "^src/dev/" },
      to: { pathNot: "^src/dev/", dependencyTypesNot: ["core"] },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API yet, so dependency-cruiser parses with swc.
    parser: "swc",
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
  },
};
