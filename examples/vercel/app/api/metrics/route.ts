// Prometheus scrapes this: the global values of every instance, read in one request.
import { metricsHandler } from "prometheus-upstash/vercel";
import { registry } from "../../../lib/metrics";

export const dynamic = "force-dynamic";

export const GET = metricsHandler(registry, { token: process.env.METRICS_TOKEN });
