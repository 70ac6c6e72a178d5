"""What the automatic layer answers over every billable ICD-10-CM code, for reading by a person.

    python bench/automatic.py [--catalogue ../shared/medlineplus/topics-2024.tsv] [--over 100]

Resolves every billable code with no curated rule against a catalogue (a topics TSV: the URL's stem
is the topic id, ``title``, ``also_called`` separated by ``|``) and prints, per topic, how many codes
it answers first, then each piece of evidence (the title matched, and at which level) with its count
and a sample code. Topics answering more than ``--over`` codes are listed first, every family of
theirs spelled out, since those are the ones to read code by code. docs/decisions.md (2026-12-07)
records the reading.
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from infobutton import resolver, terminology
from infobutton.concepts import ConceptIndex
from infobutton.models import Code, CodeSystem, Criterion, KnowledgeRequest, Topic

HERE = Path(__file__).resolve().parent
CATALOGUE = HERE.parent.parent / "shared" / "medlineplus" / "topics-2024.tsv"
ICD = CodeSystem.ICD10CM


def load(path: Path) -> dict[str, Topic]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    topics = {}
    for r in rows:
        topic_id = (r.get("topic_id") or r["url"].rsplit("/", 1)[1]).removesuffix(".html")
        also = tuple(a for a in (r.get("also_called") or "").split("|") if a)
        topics[topic_id] = Topic(
            topic_id, r["title"], f"https://medlineplus.gov/{topic_id}.html", "en", also_called=also
        )
    return topics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE)
    parser.add_argument("--over", type=int, default=100, help="topics answering more codes are spelled out")
    args = parser.parse_args(argv)
    topics = load(args.catalogue)
    index = ConceptIndex(topics.values())
    named, match = functools.cache(index.named), functools.cache(index.match)
    first: Counter = Counter()
    evidence: dict[str, Counter] = defaultdict(Counter)
    sample: dict[tuple, str] = {}
    families: dict[str, set[str]] = defaultdict(set)
    for value in terminology.billable():
        request = KnowledgeRequest(criteria=(Criterion(Code(ICD, value), raw_code=value),))
        found = resolver.resolve(request, {}, topics.get, 3, concepts=match, named=named)
        if not found:
            continue
        top = found[0]
        first[top.topic.id] += 1
        families[top.topic.id].add(terminology.family(Code(ICD, value)).value)
        said = re.sub(r" \u2018[^\u2019]*\u2019 names$", "", top.reason)
        evidence[top.topic.id][said] += 1
        sample.setdefault((top.topic.id, said), value)
    print(
        f"{sum(first.values()):,} of {len(terminology.billable()):,} billable codes answered by the automatic layer,"
        f" {len(first)} topics, {sum(n > args.over for n in first.values())} of them for more than {args.over}"
    )
    ordered = sorted(first, key=lambda t: (first[t] <= args.over, -first[t], t))
    for topic_id in ordered:
        print(f"\n{topic_id} ({topics[topic_id].title}): {first[topic_id]:,} codes")
        for said, n in evidence[topic_id].most_common():
            print(f"  {n:5,}  {said}  e.g. {sample[(topic_id, said)]}")
        if first[topic_id] > args.over:
            for family in sorted(families[topic_id]):
                print(f"         {family:<9} {terminology.describe(Code(ICD, family))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
