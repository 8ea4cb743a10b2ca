// Moved to src/dev/stop-child.ts (it ships with `prometheus-upstash dev`); kept for importers here.
export { exited, stopChild } from "../src/dev/stop-child.ts";
