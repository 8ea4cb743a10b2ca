// The Grafana dashboard's queries over the request-duration histogram, with Grafana's variables
// replaced as Grafana would for job "worker" and a 1 m rate interval: e2e tests run them against
// a real Prometheus to show the panels have data, with native histograms on and off.
import { readFileSync } from "node:fs";

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

export function dashboardLatencyQueries(job = "worker"): { title: string; promql: string }[] {
  const file = new URL("../../dashboards/hono-prometheus-upstash.json", import.meta.url);
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as Dashboard;
  return dashboard.panels.flatMap((panel) =>
    panel.targets
      .filter((t) => t.expr.includes("http_request_duration_seconds"))
      .map((t) => ({
        title: panel.title,
        promql: t.expr
          .replaceAll("$__rate_interval", "1m")
          .replaceAll('"$job"', JSON.stringify(job)),
      })),
  );
}
