// `npm run lint` runs this over src/: the library's modules must not import each other in a
// cycle (data flows one way: metrics → batch → flush → store; store → snapshot → metrics'
// samples), metrics import neither the registry nor flush/, and only the Node adapter may use
// Node's built-in modules.
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
      from: { path: "^src/", pathNot: "^src/adapters/node\\.ts$" },
      to: { dependencyTypes: ["core"] },
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
