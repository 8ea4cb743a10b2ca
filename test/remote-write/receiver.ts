// A remote write receiver for tests: a local HTTP server that decodes every request with a
// real snappy decoder (snappyjs) and a real protobuf decoder (protobufjs with the spec's
// remote.proto and types.proto), and answers as each test scripts it.
import { createServer, type IncomingHttpHeaders } from "node:http";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import SnappyJS from "snappyjs";

const root = protobuf.loadSync(fileURLToPath(new URL("./remote.proto", import.meta.url)));
const WriteRequest = root.lookupType("prometheus.WriteRequest");

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedSeries {
  labels: DecodedLabel[];
  samples: { value: number; timestamp: number }[];
  histograms: Record<string, unknown>[];
}
export interface DecodedRequest {
  timeseries: DecodedSeries[];
  metadata: { type: string; metricFamilyName: string; help: string; unit: string }[];
}

/** A snappy-compressed WriteRequest decoded into plain objects (int64 as numbers, enums by name). */
export function decodeWriteRequest(compressed: Uint8Array): {
  body: DecodedRequest;
  uncompressedBytes: number;
} {
  const raw = new Uint8Array(SnappyJS.uncompress(compressed));
  const message = WriteRequest.decode(raw);
  const body = WriteRequest.toObject(message, {
    longs: Number,
    enums: String,
    arrays: true,
    defaults: true,
  }) as DecodedRequest;
  return { body, uncompressedBytes: raw.length };
}

export interface Received {
  headers: IncomingHttpHeaders;
  /** Compressed, as sent, and the WriteRequest's own size. */
  bytes: number;
  uncompressedBytes: number;
  body: DecodedRequest;
}

/** What the receiver answers to a request: a status and body, or nothing (hang). */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | "hang";

export interface Receiver {
  url: string;
  /** Every request that arrived (decoded), answered or not. */
  received: Received[];
  /** How the next requests are answered: the list is used up in order, then 200. */
  answers: Answer[];
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const answers: Answer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const buf = Buffer.concat(chunks);
      received.push({ headers: req.headers, bytes: buf.length, ...decodeWriteRequest(buf) });
      const answer = answers.shift() ?? { status: 204 };
      if (answer === "hang") return; // never answered; closed with the server
      res.writeHead(answer.status, answer.headers).end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}/api/v1/write`,
    received,
    answers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
