// Output side of every benchmark: a console table, bench/results/<name>.json with the machine
// it ran on, and an SVG chart next to it.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "results");

/** Where and with what a run happened, so a results file explains itself. */
export function environment(): Record<string, string | number> {
  let commit = "unknown";
  let uncommittedSrc = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    // The library measured may differ from the commit when src/ has local changes: say which.
    uncommittedSrc = execFileSync("git", ["status", "--porcelain", "--", "src"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .map((l) => l.slice(3))
      .join(", ");
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    commit,
    uncommittedSrc,
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

export function writeResults(name: string, data: Record<string, unknown>, svg?: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(json, `${JSON.stringify({ bench: name, ...environment(), ...data }, null, 2)}\n`);
  console.log(`wrote ${json}`);
  if (svg !== undefined) {
    const file = join(RESULTS_DIR, `${name}.svg`);
    writeFileSync(file, svg);
    console.log(`wrote ${file}`);
  }
}

/** Prints rows under a header, columns padded; numbers right-aligned. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[], numeric: boolean[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(header, []));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const [i, r] of rows.entries()) {
    console.log(
      line(
        cells[i + 1]!,
        r.map((c) => typeof c === "number" || /^[\d.,]+(×|\/\w+)?$/.test(c)),
      ),
    );
  }
}

/** A readable number: thousands grouped, three significant digits below 1000. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  if (n === 0 || Number.isInteger(n)) return String(n);
  return Number(n.toPrecision(3)).toString();
}

/** "1.23×" — how many times `ours` is better, given a direction. */
export function ratio(value: number, peer: number): string {
  if (peer === 0) return value === 0 ? "=" : "∞";
  return `${(value / peer).toFixed(value / peer >= 100 ? 0 : 2)}×`;
}
