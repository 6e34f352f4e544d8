"""Prints the counts of one or more schemathesis JSON run reports (`--report json`, passes over
disjoint sets of operations) on one line."""

import json
import sys

total = tested = cases = failing = unique = errors = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    total += report["operations"]["selected"]
    tested += report["operations"]["tested"]
    cases += report["test_cases"]["generated"]
    failing += report["test_cases"]["with_failures"]
    unique += report["test_cases"]["unique_failures"]
    errors += len(report.get("errors", []))
print(
    f"{tested} of {total} operations tested, {cases} test cases, "
    f"{failing} failing ({unique} unique failures), {errors} errors"
)
