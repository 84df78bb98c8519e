#!/usr/bin/env python3
"""Parse Prometheus text exposition from stdin with prometheus_client's own parser
(tests/clients/python/requirements-admin.txt pins it) and print what it understood, one
line per item, for tests/admin_http.rs:

    family<TAB>name<TAB>type
    sample<TAB>name<TAB>label=value,label=value (sorted)<TAB>value

A line the parser rejects makes it raise, and this script exit non-zero with the error.
"""

import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    for family in text_string_to_metric_families(text):
        print(f"family\t{family.name}\t{family.type}")
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            print(f"sample\t{s.name}\t{labels}\t{s.value!r}")


if __name__ == "__main__":
    main()
