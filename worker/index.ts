import { Redis } from "@upstash/redis";
import { Hono } from "hono";

// Placeholder Worker: proves the Worker reaches Redis through @upstash/redis.
// Phase 2 turns this into the real example using prometheus-upstash/hono.
type Bindings = {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
};

const app = new Hono<{ Bindings: Bindings }>();

app.get("/", async (c) => {
  const redis = new Redis({
    url: c.env.UPSTASH_REDIS_REST_URL,
    token: c.env.UPSTASH_REDIS_REST_TOKEN,
  });
  const visits = await redis.incr("example:visits");
  return c.text(`visits: ${visits}\n`);
});

export default app;
