"""Loading code systems: the shipped subset, and full release files in batches (upserts)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.db import transaction

from epr.terminology.models import CodeSystem, Concept, ConceptMap
from epr.terminology.rules import search_key

DATA = Path(__file__).parent / "data"
FSN_TYPE = "900000000000003001"
PREFERRED = "900000000000548007"
BATCH = 5000


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row and not row[0].startswith("#"):
                yield row


def _batches(items: Iterable, size: int = BATCH) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def upsert_concepts(concepts: Iterable[Concept], *, model=Concept) -> int:
    count = 0
    for batch in _batches(concepts):
        model.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["system", "code"],
            update_fields=["display", "search_key", "active", "subsets"],
        )
        count += len(batch)
    return count


def upsert_maps(pairs: Iterable[tuple[str, str, int]], *, model=ConceptMap) -> int:
    count = 0
    for batch in _batches(pairs):
        model.objects.bulk_create(
            [model(snomed_code=s, icd10_code=i, priority=p) for s, i, p in batch],
            update_conflicts=True,
            unique_fields=["snomed_code", "icd10_code"],
            update_fields=["priority"],
        )
        count += len(batch)
    return count


def load_shipped_subset(*, concept_model=Concept, map_model=ConceptMap) -> None:
    """The starter subset in data/: enough for the pickers until a trust loads its releases."""
    snomed = [
        concept_model(
            system=CodeSystem.SNOMED,
            code=row[0],
            display=row[1],
            search_key=search_key(row[1]),
            subsets=[s for s in (row[2] if len(row) > 2 else "").split(",") if s],
        )
        for row in _rows(DATA / "snomed_subset.tsv")
    ]
    icd10 = [
        concept_model(system=CodeSystem.ICD10, code=row[0], display=row[1], search_key=search_key(row[1]))
        for row in _rows(DATA / "icd10_subset.tsv")
    ]
    upsert_concepts(snomed + icd10, model=concept_model)
    upsert_maps(((row[0], row[1], 1) for row in _rows(DATA / "snomed_icd10_map_subset.tsv")), model=map_model)


def _strip_semantic_tag(term: str) -> str:
    return term.rsplit(" (", 1)[0] if term.endswith(")") else term


@transaction.atomic
def import_snomed_descriptions(descriptions: Path, *, language_refset: Path | None = None) -> int:
    """RF2 description snapshot: the preferred synonym (given a language refset), else the FSN untagged."""
    preferred: set[str] = set()
    if language_refset is not None:
        rows = _rows(language_refset)
        next(rows)  # header
        # id effectiveTime active moduleId refsetId referencedComponentId acceptabilityId
        preferred = {r[5] for r in rows if r[2] == "1" and r[6] == PREFERRED}
    terms: dict[str, str] = {}
    rows = _rows(descriptions)
    next(rows)
    # id effectiveTime active moduleId conceptId languageCode typeId term caseSignificanceId
    for r in rows:
        if r[2] != "1":
            continue
        if preferred:
            if r[0] in preferred and r[6] != FSN_TYPE:
                terms[r[4]] = r[7]
        elif r[6] == FSN_TYPE:
            terms[r[4]] = _strip_semantic_tag(r[7])
    existing = dict(Concept.objects.filter(system=CodeSystem.SNOMED).values_list("code", "subsets"))
    return upsert_concepts(
        Concept(
            system=CodeSystem.SNOMED,
            code=code,
            display=term[:255],
            search_key=search_key(term)[:255],
            subsets=existing.get(code, []),
        )
        for code, term in terms.items()
    )


@transaction.atomic
def import_icd10(path: Path) -> int:
    """A tab-separated ICD-10 file with CODE and DESCRIPTION columns (as in NHS England's release)."""
    rows = _rows(path)
    header = [h.strip().upper() for h in next(rows)]
    code_at, text_at = header.index("CODE"), header.index("DESCRIPTION")
    return upsert_concepts(
        Concept(
            system=CodeSystem.ICD10,
            code=r[code_at].strip(),
            display=r[text_at].strip()[:255],
            search_key=search_key(r[text_at])[:255],
        )
        for r in rows
        if len(r) > max(code_at, text_at) and r[code_at].strip()
    )


@transaction.atomic
def import_snomed_icd10_map(path: Path) -> int:
    """RF2 extended map refset: active rows of map group 1, ordered by priority."""
    rows = _rows(path)
    next(rows)
    # id effectiveTime active moduleId refsetId referencedComponentId mapGroup mapPriority mapRule mapAdvice
    # mapTarget correlationId mapCategoryId
    pairs = ((r[5], r[10].strip(), int(r[7])) for r in rows if r[2] == "1" and r[6] == "1" and r[10].strip())
    return upsert_maps(pairs)
