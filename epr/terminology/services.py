"""Loading code systems: the shipped subset, and full release files in batches (upserts)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TypeVar

from django.db import models, transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Concat

from epr.terminology.models import CodeSystem, Concept, ConceptMap
from epr.terminology.rules import TERM_SEPARATOR, terms_search_key

DATA = Path(__file__).parent / "data"
FSN_TYPE = "900000000000003001"
SYNONYM_TYPE = "900000000000013009"
PREFERRED = "900000000000548007"
ACCEPTABLE = "900000000000549004"
BATCH = 5000

_Item = TypeVar("_Item")


def _rows(path: Path) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row and not row[0].startswith("#"):
                yield row


def _batches(items: Iterable[_Item], size: int = BATCH) -> Iterator[list[_Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _has_synonyms(model: type[models.Model]) -> bool:
    # Migration 0002 loads the subset with the historical model, from before synonyms were stored.
    return any(f.name == "synonyms" for f in model._meta.get_fields())


def upsert_concepts(concepts: Iterable[Concept], *, model: type[Concept] = Concept) -> int:
    count = 0
    fields = ["display", "search_key", "active", "subsets"] + (["synonyms"] if _has_synonyms(model) else [])
    for batch in _batches(concepts):
        model.objects.bulk_create(
            batch, update_conflicts=True, unique_fields=["system", "code"], update_fields=fields
        )
        count += len(batch)
    return count


def upsert_maps(pairs: Iterable[tuple[str, str, int]], *, model: type[ConceptMap] = ConceptMap) -> int:
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


def _shipped_concepts(concept_model: type[Concept]) -> list[Concept]:
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
    return snomed + icd10


def _shipped_maps() -> Iterator[tuple[str, str, int]]:
    return ((row[0], row[1], 1) for row in _rows(DATA / "snomed_icd10_map_subset.tsv"))


def load_shipped_subset(
    *, concept_model: type[Concept] = Concept, map_model: type[ConceptMap] = ConceptMap
) -> None:
    """The starter subset in data/: enough for the pickers until a trust loads its releases."""
    upsert_concepts(_shipped_concepts(concept_model), model=concept_model)
    upsert_maps(_shipped_maps(), model=map_model)


def merge_shipped_subset(
    *, concept_model: type[Concept] = Concept, map_model: type[ConceptMap] = ConceptMap
) -> None:
    """The shipped subset added to a terminology that may hold a trust's releases already (migration
    0004): a concept there keeps its display and its synonyms, and gains the shipped synonyms and
    subsets; missing concepts and map rows are added. Search keys written before synonyms were stored
    (one term, no "|" marks) are put in the all-terms form."""
    concept_model.objects.exclude(search_key="").exclude(search_key__startswith=TERM_SEPARATOR).update(
        search_key=Concat(
            Value(TERM_SEPARATOR), F("search_key"), Value(TERM_SEPARATOR), output_field=TextField()
        )
    )
    shipped = _shipped_concepts(concept_model)
    wanted = {(c.system, c.code) for c in shipped}
    existing = {
        (c.system, c.code): c
        for c in concept_model.objects.filter(code__in={code for _, code in wanted})
        if (c.system, c.code) in wanted
    }
    new, changed = [], []
    for item in shipped:
        found = existing.get((item.system, item.code))
        if found is None:
            new.append(item)
            continue
        found.synonyms = [*found.synonyms, *(t for t in item.synonyms if t not in found.synonyms)]
        found.subsets = [*found.subsets, *(s for s in item.subsets if s not in found.subsets)]
        found.search_key = terms_search_key(found.display, found.synonyms)
        changed.append(found)
    concept_model.objects.bulk_create(new, batch_size=BATCH)
    concept_model.objects.bulk_update(changed, ["synonyms", "subsets", "search_key"], batch_size=BATCH)
    upsert_maps(_shipped_maps(), model=map_model)


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
