// Commands this server refuses instead of passing through: they would change the state of a
// pooled connection (shared by every request), block it, or take the server down.
import type { CommandArgs } from "./encoding.ts";

const REFUSED: Record<string, string> = {
  multi: "use POST /multi-exec for transactions",
  exec: "use POST /multi-exec for transactions",
  discard: "use POST /multi-exec for transactions",
  watch: "WATCH needs a connection of its own; it is not available over REST",
  unwatch: "WATCH needs a connection of its own; it is not available over REST",
  select: "the REST server always works on one database",
  swapdb: "the REST server always works on one database",
  auth: "authenticate with the bearer token instead",
  hello: "the REST server speaks RESP2 only",
  client: "CLIENT commands act on the shared connection",
  readonly: "cluster connection modes are not available over REST",
  readwrite: "cluster connection modes are not available over REST",
  reset: "RESET acts on the shared connection",
  quit: "QUIT acts on the shared connection",
  monitor: "MONITOR needs a connection of its own",
  subscribe: "Pub/Sub subscriptions need a connection of their own",
  psubscribe: "Pub/Sub subscriptions need a connection of their own",
  ssubscribe: "Pub/Sub subscriptions need a connection of their own",
  unsubscribe: "Pub/Sub subscriptions need a connection of their own",
  punsubscribe: "Pub/Sub subscriptions need a connection of their own",
  sunsubscribe: "Pub/Sub subscriptions need a connection of their own",
  blpop: "blocking commands would stall the shared connection",
  brpop: "blocking commands would stall the shared connection",
  brpoplpush: "blocking commands would stall the shared connection",
  blmove: "blocking commands would stall the shared connection",
  blmpop: "blocking commands would stall the shared connection",
  bzpopmin: "blocking commands would stall the shared connection",
  bzpopmax: "blocking commands would stall the shared connection",
  bzmpop: "blocking commands would stall the shared connection",
  wait: "blocking commands would stall the shared connection",
  waitaof: "blocking commands would stall the shared connection",
  shutdown: "administrative commands are not available over REST",
  debug: "administrative commands are not available over REST",
  sync: "replication commands are not available over REST",
  psync: "replication commands are not available over REST",
  replicaof: "replication commands are not available over REST",
  slaveof: "replication commands are not available over REST",
  failover: "replication commands are not available over REST",
};

/** XREAD/XREADGROUP are fine unless they carry BLOCK (an option, so before STREAMS). */
function blocksStream(name: string, args: CommandArgs): boolean {
  if (name !== "xread" && name !== "xreadgroup") return false;
  for (const arg of args.slice(1)) {
    const word = arg.toLowerCase();
    if (word === "streams") return false;
    if (word === "block") return true;
  }
  return false;
}

/** The error message for a refused command, or undefined when it may run. */
export function refusal(command: CommandArgs): string | undefined {
  const name = (command[0] ?? "").toLowerCase();
  const reason = REFUSED[name] ?? (blocksStream(name, command) ? REFUSED["blpop"] : undefined);
  if (!reason) return undefined;
  return `ERR Command is not allowed: ${name.toUpperCase()} (${reason})`;
}
