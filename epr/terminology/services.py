"""Loading code systems: the shipped subset, and full release files in batches (upserts)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from django.db import transaction

from epr.terminology.models import CodeSystem, Concept, ConceptMap
from epr.terminology.rules import terms_search_key

DATA = Path(__file__).parent / "data"
FSN_TYPE = "900000000000003001"
SYNONYM_TYPE = "900000000000013009"
PREFERRED = "900000000000548007"
ACCEPTABLE = "900000000000549004"
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


def _has_synonyms(model) -> bool:
    # Migration 0002 loads the subset with the historical model, from before synonyms were stored.
    return any(f.name == "synonyms" for f in model._meta.get_fields())


def upsert_concepts(concepts: Iterable[Concept], *, model=Concept) -> int:
    count = 0
    fields = ["display", "search_key", "active", "subsets"] + (["synonyms"] if _has_synonyms(model) else [])
    for batch in _batches(concepts):
        model.objects.bulk_create(
            batch, update_conflicts=True, unique_fields=["system", "code"], update_fields=fields
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
    with_synonyms = _has_synonyms(concept_model)
    synonyms: dict[str, list[str]] = {}
    for row in _rows(DATA / "snomed_synonym_subset.tsv"):
        synonyms.setdefault(row[0], []).append(row[1])
    snomed = []
    for row in _rows(DATA / "snomed_subset.tsv"):
        terms = synonyms.get(row[0], []) if with_synonyms else []
        concept = concept_model(
            system=CodeSystem.SNOMED,
            code=row[0],
            display=row[1],
            search_key=terms_search_key(row[1], terms),
            subsets=[s for s in (row[2] if len(row) > 2 else "").split(",") if s],
        )
        if with_synonyms:
            concept.synonyms = terms
        snomed.append(concept)
    icd10 = [
        concept_model(
            system=CodeSystem.ICD10, code=row[0], display=row[1], search_key=terms_search_key(row[1])
        )
        for row in _rows(DATA / "icd10_subset.tsv")
    ]
    upsert_concepts(snomed + icd10, model=concept_model)
    upsert_maps(((row[0], row[1], 1) for row in _rows(DATA / "snomed_icd10_map_subset.tsv")), model=map_model)


def _strip_semantic_tag(term: str) -> str:
    return term.rsplit(" (", 1)[0] if term.endswith(")") else term


@transaction.atomic
def import_snomed_descriptions(descriptions: Path, *, language_refset: Path | None = None) -> int:
    """RF2 description snapshot. Display: the preferred synonym (given a language refset), else the FSN
    untagged. Synonyms: the other active synonyms (given a refset, those it marks acceptable)."""
    acceptability: dict[str, str] = {}
    if language_refset is not None:
        rows = _rows(language_refset)
        next(rows)  # header
        # id effectiveTime active moduleId refsetId referencedComponentId acceptabilityId
        acceptability = {r[5]: r[6] for r in rows if r[2] == "1" and r[6] in (PREFERRED, ACCEPTABLE)}
    terms: dict[str, str] = {}
    others: dict[str, list[str]] = {}
    rows = _rows(descriptions)
    next(rows)
    # id effectiveTime active moduleId conceptId languageCode typeId term caseSignificanceId
    for r in rows:
        if r[2] != "1":
            continue
        concept_id, type_id, term = r[4], r[6], r[7]
        if acceptability:
            if type_id == FSN_TYPE or r[0] not in acceptability:
                continue
            if acceptability[r[0]] == PREFERRED:
                terms[concept_id] = term
            else:
                others.setdefault(concept_id, []).append(term[:255])
        elif type_id == FSN_TYPE:
            terms[concept_id] = _strip_semantic_tag(term)
        elif type_id == SYNONYM_TYPE:
            others.setdefault(concept_id, []).append(term[:255])
    existing = dict(Concept.objects.filter(system=CodeSystem.SNOMED).values_list("code", "subsets"))
    return upsert_concepts(
        Concept(
            system=CodeSystem.SNOMED,
            code=code,
            display=term[:255],
            synonyms=[t for t in others.get(code, []) if t != term],
            search_key=terms_search_key(term, others.get(code, [])),
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
            search_key=terms_search_key(r[text_at]),
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
