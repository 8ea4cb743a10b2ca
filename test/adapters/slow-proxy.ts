// A small HTTP proxy in front of the local Upstash server for adapter tests: it can hold each
// request for a while (a slow Redis) or answer 500 (a failing one), and counts requests.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SlowProxy {
  url: string;
  /** Delay before forwarding each request (ms). */
  delayMs: number;
  /** Answer every request with HTTP 500 instead of forwarding. */
  failing: boolean;
  requests: number;
  close(): Promise<void>;
}

export async function startSlowProxy(upstream: string): Promise<SlowProxy> {
  const state = { delayMs: 0, failing: false, requests: 0 };
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    state.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    if (state.failing) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "ERR injected failure" }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === "string" && !["host", "content-length", "connection"].includes(k)) {
        headers[k] = v;
      }
    }
    try {
      const upstreamRes = await fetch(new URL(req.url ?? "/", upstream), {
        method: req.method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstreamRes.arrayBuffer());
      res.writeHead(upstreamRes.status, {
        "content-type": upstreamRes.headers.get("content-type") ?? "application/json",
      });
      res.end(body);
    } catch {
      res.writeHead(502);
      res.end();
    }
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
