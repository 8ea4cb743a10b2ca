// A route handler whose metrics are flushed after the response: through waitUntil from
// @vercel/functions when the function runs on Vercel, awaited otherwise.
import { withMetrics } from "prometheus-upstash/vercel";
import { greetingSeconds, greetings, registry } from "../../../lib/metrics";

export const GET = withMetrics(
  async (request: Request) => {
    const end = greetingSeconds.startTimer();
    const lang = new URL(request.url).searchParams.get("lang") === "fr" ? "fr" : "en";
    greetings.inc({ lang });
    const body = lang === "fr" ? "Bonjour !" : "Hello!";
    end();
    return new Response(body);
  },
  { registry },
);
