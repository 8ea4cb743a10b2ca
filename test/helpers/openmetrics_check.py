"""Strict OpenMetrics 1.0 check for the tests: the parser of Debian's python3-prometheus-client.

Two modes:
  openmetrics_check.py          read one exposition on stdin; exit 0, or 1 with the reason
  openmetrics_check.py --serve  read JSON lines {"text": ...} on stdin, answer one JSON line
                                {"error": null | "..."} each, until stdin closes
"""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families


def check(text):
    try:
        for _ in text_string_to_metric_families(text):
            pass
    except Exception as error:  # the parser raises ValueError, and others on odd input
        return f"{type(error).__name__}: {error}"
    return None


def main():
    if "--serve" in sys.argv:
        for line in sys.stdin.buffer:
            reply = {"error": check(json.loads(line)["text"])}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
        return 0
    # Bytes, not text mode: universal newlines would turn a raw CR into a line break.
    error = check(sys.stdin.buffer.read().decode("utf-8"))
    if error is not None:
        sys.stderr.write(error + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
