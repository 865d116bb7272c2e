"""Parses a /metrics exposition (stdin) with the Prometheus project's own Python parsers and
prints its samples as JSON. Both parsers must accept it: the strict OpenMetrics parser (the
format the BFF declares) and the classic Prometheus text-format parser (what older scrapers
read). Exits non-zero, with the parser's complaint, if either rejects it or they disagree."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

text = sys.stdin.read()
families = list(parse_openmetrics(text))
samples = [
    {"family": f.name, "type": f.type, "name": s.name, "labels": s.labels, "value": s.value}
    for f in families
    for s in f.samples
]
classic = {(s.name, tuple(sorted(s.labels.items())), s.value) for f in parse_prometheus(text) for s in f.samples}
strict = {(s["name"], tuple(sorted(s["labels"].items())), s["value"]) for s in samples}
if classic != strict:
    sys.exit(f"the two parsers disagree: only classic {sorted(classic - strict)[:5]}, only strict {sorted(strict - classic)[:5]}")
json.dump(samples, sys.stdout)
