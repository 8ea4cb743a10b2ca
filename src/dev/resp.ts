// A minimal RESP2 client over node:net: what the REST server needs from Redis and nothing more
// (pipelined commands on one connection, replies untransformed), so the shipped
// `prometheus-upstash dev` command depends on Node alone. Replies: bulk and status strings are
// Buffers, integers decimal strings (exact beyond 2^53), nil is null, arrays nest, and an error
// reply is a RespError (also inside an array, as EXEC and scripts can return).
import { connect, type Socket } from "node:net";

export type RespReply = Buffer | string | null | RespError | RespReply[];

/** An error reply from Redis ("-ERR …"); its message is Redis' text. */
export class RespError extends Error {}

/** The connection closed, or could not be opened, before the reply came. */
export class ConnectionLost extends Error {}

/** How Redis names a TCP client in MONITOR (and CLIENT LIST): "ip:port", "[ipv6]:port". */
export function peerId(address: string | undefined, port: number | undefined): string {
  const ip = address ?? "";
  return `${ip.includes(":") ? `[${ip}]` : ip}:${port ?? 0}`;
}

const CRLF = 0x0d;

/** One command in RESP: an array of bulk strings (lengths in UTF-8 bytes). */
function encode(command: readonly string[]): string {
  let out = `*${command.length}\r\n`;
  for (const arg of command) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

interface Frame {
  items: RespReply[];
  remaining: number;
}

/**
 * Incremental RESP2 reader. Complete elements are committed as they arrive (arrays keep a stack
 * of frames), and a bulk string waits until all its bytes are buffered, so a reply of any size
 * is read in one pass over its bytes.
 */
class ReplyReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed from the start of the buffer before the next element can be read. */
  private need = 1;
  private readonly stack: Frame[] = [];
  private readonly onReply: (reply: RespReply) => void;

  constructor(onReply: (reply: RespReply) => void) {
    this.onReply = onReply;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const used = this.read(buf);
    const rest = buf.subarray(used);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }

  /** Reads every complete element of buf; returns how many bytes it consumed. */
  private read(buf: Buffer): number {
    let at = 0;
    for (;;) {
      if (at >= buf.length) {
        this.need = 1;
        return at;
      }
      const lineEnd = buf.indexOf(CRLF, at + 1);
      if (lineEnd < 0 || lineEnd + 1 >= buf.length) {
        this.need = buf.length - at + 1;
        return at;
      }
      const type = buf[at];
      const line = buf.toString("latin1", at + 1, lineEnd);
      const next = lineEnd + 2;
      let value: RespReply;
      switch (type) {
        case 0x2b: // + status
          value = Buffer.from(line, "latin1");
          break;
        case 0x2d: // - error
          value = new RespError(buf.toString("utf8", at + 1, lineEnd));
          break;
        case 0x3a: // : integer
          value = line;
          break;
        case 0x24: {
          // $ bulk string
          const length = Number(line);
          if (length < 0) {
            value = null;
            break;
          }
          if (buf.length < next + length + 2) {
            this.need = next + length + 2 - at;
            return at;
          }
          value = Buffer.from(buf.subarray(next, next + length)); // a copy: buf is reused
          at = next + length + 2;
          this.deliver(value);
          continue;
        }
        case 0x2a: {
          // * array
          const length = Number(line);
          at = next;
          if (length < 0) this.deliver(null);
          else if (length === 0) this.deliver([]);
          else this.stack.push({ items: [], remaining: length });
          continue;
        }
        default:
          throw new Error(`unexpected RESP type byte ${type} from Redis`);
      }
      at = next;
      this.deliver(value);
    }
  }

  private deliver(value: RespReply): void {
    let v = value;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.onReply(v);
        return;
      }
      top.items.push(v);
      if (--top.remaining > 0) return;
      this.stack.pop();
      v = top.items;
    }
  }
}

export interface RespOptions {
  /** Give up connecting after this long (default 2 s). */
  connectTimeoutMs?: number;
}

/** One connection to Redis; commands are pipelined and answered in order. */
export class RespConnection {
  private readonly socket: Socket;
  private readonly waiting: Array<{ resolve: (r: RespReply) => void; reject: (e: Error) => void }> =
    [];
  private lost: ConnectionLost | undefined;
  /** "ip:port" of our end, as Redis names this client. */
  readonly peer: string;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.peer = peerId(socket.localAddress, socket.localPort);
    const reader = new ReplyReader((reply) => this.waiting.shift()?.resolve(reply));
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on("error", (err) => this.fail(err.message));
    socket.on("close", () => this.fail("connection closed"));
  }

  /**
   * Connects to `redis://[user:password@]host[:port][/db]`, authenticates and selects the
   * database the URL names. Rejects with ConnectionLost when Redis cannot be reached.
   */
  static async open(redisUrl: string, opts: RespOptions = {}): Promise<RespConnection> {
    const url = new URL(redisUrl);
    const host = url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1";
    const port = Number(url.port || 6379);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionLost(`connect timed out after ${opts.connectTimeoutMs ?? 2_000} ms`));
      }, opts.connectTimeoutMs ?? 2_000);
      s.once("connect", () => {
        clearTimeout(timer);
        s.removeAllListeners("error");
        resolve(s);
      });
      s.once("error", (err) => {
        clearTimeout(timer);
        reject(new ConnectionLost(err.message));
      });
    });
    socket.setNoDelay(true);
    const conn = new RespConnection(socket);
    const setup: string[][] = [];
    const password = decodeURIComponent(url.password);
    const username = decodeURIComponent(url.username);
    if (password) setup.push(username ? ["AUTH", username, password] : ["AUTH", password]);
    const db = url.pathname.replace(/^\//, "");
    if (db && db !== "0") setup.push(["SELECT", db]);
    for (const reply of await Promise.all(conn.send(setup))) {
      if (reply instanceof RespError) {
        conn.close();
        throw new ConnectionLost(`Redis refused the connection setup: ${reply.message}`);
      }
    }
    return conn;
  }

  /** False once the connection closed or failed. */
  get alive(): boolean {
    return this.lost === undefined;
  }

  /** Sends the commands in one write; one promise per reply, in order. */
  send(commands: readonly (readonly string[])[]): Promise<RespReply>[] {
    if (commands.length === 0) return [];
    const replies = commands.map(
      () =>
        new Promise<RespReply>((resolve, reject) => {
          if (this.lost) reject(this.lost);
          else this.waiting.push({ resolve, reject });
        }),
    );
    if (!this.lost) this.socket.write(commands.map(encode).join(""));
    return replies;
  }

  close(): void {
    this.fail("connection closed by the server");
    this.socket.destroy();
  }

  private fail(reason: string): void {
    this.lost ??= new ConnectionLost(reason);
    for (const w of this.waiting.splice(0)) w.reject(this.lost);
  }
}
