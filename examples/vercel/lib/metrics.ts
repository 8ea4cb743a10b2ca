// One registry per function instance; every instance adds into the same series in Redis.
import { Redis } from "@upstash/redis";
import { Counter, Histogram, Registry } from "prometheus-upstash";

// UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN (or the KV_REST_API_* pair) from the env.
export const registry = new Registry({ redis: Redis.fromEnv() });

export const greetings = new Counter({
  name: "greetings_total",
  help: "Greetings served, by language",
  labelNames: ["lang"],
  registers: [registry],
});

export const greetingSeconds = new Histogram({
  name: "greeting_duration_seconds",
  help: "Time to build a greeting",
  registers: [registry],
});
