// Checks every exposition a test produces the way a real scraper would read it: promtool
// parses the text format, the strict OpenMetrics parser of the Python prometheus_client
// (Debian's python3-prometheus-client, openmetrics_check.py) parses OpenMetrics, and a parser of
// our own (npm's text-format parsers drop histogram labels) checks what promtool does not: +Inf
// buckets, cumulative buckets, duplicate series.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

/** `promtool check metrics`: exit 0 (clean) or 3 (lint findings) pass; 1 is a parse error. */
export function promtoolCheck(text: string): void {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (run.error) throw run.error;
  if (run.status !== 0 && run.status !== 3) {
    throw new Error(
      `promtool rejected the exposition (exit ${run.status}):\n${run.stderr}\n${text}`,
    );
  }
}

/** The Python with prometheus_client (Debian's, not a pyenv shim without it). */
const PYTHON = process.env.PROMETHEUS_CLIENT_PYTHON ?? "/usr/bin/python3";
const OM_CHECK = fileURLToPath(new URL("./openmetrics_check.py", import.meta.url));
const PYTHON_ENV = { ...process.env, PYTHONUTF8: "1", PYTHONDONTWRITEBYTECODE: "1" };

/** What a scraper receives: the UTF-8 bytes of the text (a lone surrogate becomes U+FFFD). */
function onTheWire(text: string): string {
  return new TextDecoder().decode(new TextEncoder().encode(text));
}

/** The strict OpenMetrics parser (prometheus_client's), one process per call. */
export function openMetricsCheck(text: string): void {
  const run = spawnSync(PYTHON, [OM_CHECK], {
    input: onTheWire(text),
    encoding: "utf8",
    env: PYTHON_ENV,
  });
  if (run.error) throw run.error;
  if (run.status !== 0) {
    throw new Error(
      `the strict OpenMetrics parser rejected the exposition: ${run.stderr}\n${text}`,
    );
  }
}

/**
 * promtool and the strict OpenMetrics parser as long-lived helpers, for tests that check many
 * expositions (one Python process for all of them instead of one per check).
 */
export interface StrictCheckers {
  /** `promtool check metrics` (text format 0.0.4). */
  promtool(text: string): Promise<void>;
  /** The strict OpenMetrics 1.0 parser. */
  openMetrics(text: string): Promise<void>;
  stop(): void;
}

export function startStrictCheckers(): StrictCheckers {
  const python: ChildProcessWithoutNullStreams = spawn(PYTHON, [OM_CHECK, "--serve"], {
    env: PYTHON_ENV,
  });
  const waiting: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  let buffered = "";
  let stderr = "";
  python.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  python.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const reply = JSON.parse(buffered.slice(0, nl)) as { error: string | null };
      buffered = buffered.slice(nl + 1);
      const next = waiting.shift()!;
      if (reply.error === null) next.resolve();
      else {
        next.reject(
          new Error(
            `the strict OpenMetrics parser rejected the exposition: ${reply.error}\n${next.text}`,
          ),
        );
      }
    }
  });
  python.on("exit", (code) => {
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`openmetrics_check.py exited (${code}): ${stderr}`));
    }
  });
  return {
    promtool: (text) =>
      new Promise((resolve, reject) => {
        const child = spawn("promtool", ["check", "metrics"]);
        let err = "";
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        child.stdout.resume();
        child.on("error", reject);
        child.on("close", (status) => {
          if (status === 0 || status === 3) resolve();
          else
            reject(
              new Error(`promtool rejected the exposition (exit ${status}):\n${err}\n${text}`),
            );
        });
        child.stdin.end(text);
      }),
    openMetrics: (text) =>
      new Promise((resolve, reject) => {
        waiting.push({ text, resolve, reject });
        python.stdin.write(`${JSON.stringify({ text: onTheWire(text) })}\n`);
      }),
    stop: () => {
      python.stdin.end();
    },
  };
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/sy;

/** Strict parser for the text format 0.0.4 (and OpenMetrics' `# EOF`), for tests. */
export function parseExposition(text: string): ParsedFamily[] {
  const families: ParsedFamily[] = [];
  let current: ParsedFamily | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line === "# EOF") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/s.exec(line);
    if (meta) {
      let family = current;
      if (family === undefined || family.name !== meta[2]) {
        family = { name: meta[2]!, help: "", type: "untyped", samples: [] };
        families.push(family);
        current = family;
      }
      if (meta[1] === "HELP") family.help = unescapeText(meta[3]!);
      else family.type = meta[3]!;
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m || !current) throw new Error(`unparsable line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`bad labels in line: ${JSON.stringify(line)}`);
      labels[l[1]!] = unescapeText(l[2]!);
    }
    const raw = m[3]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    current.samples.push({ name: m[1]!, labels, value });
  }
  return families;
}

function unescapeText(s: string): string {
  return s.replace(/\\(.)/gs, (_, c: string) => (c === "n" ? "\n" : c));
}

function seriesId(s: ParsedSample): string {
  const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${s.name}${JSON.stringify(labels)}`;
}

/**
 * No duplicate series; every histogram series has cumulative buckets ending in +Inf = _count.
 * OpenMetrics may leave out _sum and _count together (negative buckets or sum).
 */
export function checkSeries(families: ParsedFamily[], openMetrics = false): void {
  const seen = new Set<string>();
  for (const f of families) {
    for (const s of f.samples) {
      const id = seriesId(s);
      expect(seen.has(id), `duplicate series ${id}`).toBe(false);
      seen.add(id);
    }
    if (f.type !== "histogram") continue;
    const bySeries = new Map<string, ParsedSample[]>();
    for (const s of f.samples) {
      const { le: _le, ...rest } = s.labels;
      const id = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
      bySeries.set(id, [...(bySeries.get(id) ?? []), s]);
    }
    for (const [id, samples] of bySeries) {
      const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
      const count = samples.find((s) => s.name === `${f.name}_count`);
      const inf = buckets.find((s) => s.labels.le === "+Inf");
      const sum = samples.find((s) => s.name === `${f.name}_sum`);
      expect(inf, `${f.name}${id} lacks a +Inf bucket`).toBeDefined();
      if (openMetrics && sum === undefined) {
        expect(count, `${f.name}${id} has _count without _sum`).toBeUndefined();
      } else {
        expect(count, `${f.name}${id} lacks _count`).toBeDefined();
        expect(inf!.value).toBe(count!.value);
      }
      const les = buckets.map((s) => (s.labels.le === "+Inf" ? Infinity : Number(s.labels.le)));
      for (let i = 1; i < buckets.length; i++) {
        expect(les[i]!, `${f.name}${id} buckets out of order`).toBeGreaterThan(les[i - 1]!);
        expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      }
    }
  }
}

/**
 * The format's real parser (promtool for text 0.0.4, the strict OpenMetrics parser for
 * OpenMetrics) + own checks, then the parsed families.
 */
export function parseChecked(text: string): ParsedFamily[] {
  expect(text.endsWith("\n")).toBe(true);
  const openMetrics = text.endsWith("# EOF\n");
  if (openMetrics) openMetricsCheck(text);
  else promtoolCheck(text);
  const families = parseExposition(text);
  checkSeries(families, openMetrics);
  return families;
}

/** The value of one series (sample name, exact labels), or undefined. */
export function sampleValue(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families) {
    for (const s of f.samples) if (s.name === name && sameLabels(s.labels, labels)) return s.value;
  }
  return undefined;
}

export function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
