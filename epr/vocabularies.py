"""An open vocabulary: codes that apps add from their wiring.py, each with the words a person reads,
stored in a plain column with no database choices, so a new code needs no migration."""

from __future__ import annotations


class OpenVocabulary:
    def __init__(self, noun: str, code_length: int, initial: dict[str, str] | None = None) -> None:
        self.noun = noun  # "audit action", for the messages
        self.code_length = code_length  # the column's
        self._labels: dict[str, str] = dict(initial or {})

    def register(self, code: str, label: str) -> None:
        """Add a code; the same code again with the same words is harmless, with other words refused."""
        if not code or len(code) > self.code_length:
            raise ValueError(f"{self.noun.capitalize()} {code!r}: 1 to {self.code_length} characters.")
        if self._labels.get(code, label) != label:
            raise ValueError(
                f"{self.noun.capitalize()} {code!r} is already registered as {self._labels[code]!r}."
            )
        self._labels[code] = label

    def label(self, code: str) -> str:
        try:
            return self._labels[code]
        except KeyError:
            raise LookupError(f"No {self.noun} {code!r} is registered.") from None

    def __contains__(self, code: object) -> bool:
        return code in self._labels

    def labels(self) -> dict[str, str]:
        return dict(self._labels)

    def forget(self, code: str) -> None:
        """For tests that register a code of their own."""
        self._labels.pop(code, None)
