"""What a renderer needs, as plain data sent once to each worker process: the templates
of each language (a :class:`Variant`) and what every letter shares (a :class:`Job`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .models import Assets, Candidate, Settings, Signatory, Template


@dataclass(frozen=True)
class Variant:
    """The templates (and what they read) of the letters in one language."""

    template: Template
    email_template: Template | None
    assets: Assets


@dataclass(frozen=True)
class Job:
    """Everything a renderer needs, as plain data: sent once to each worker process.

    ``variants[""]`` is the main template; ``variants[lang]`` the templates for the
    candidates whose ``lang`` column says ``lang`` (letter.<lang>.md, or a fallback)."""

    variants: Mapping[str, Variant]
    signatories: tuple[Signatory, ...]
    settings: Settings  # with the letter's date resolved
    formats: tuple[str, ...]

    def variant_key(self, candidate: Candidate) -> str:
        return candidate.lang if candidate.lang in self.variants else ""

    @property
    def main(self) -> Variant:
        return self.variants[""]

    @property
    def template(self) -> Template:
        return self.main.template

    @property
    def email_template(self) -> Template | None:
        return self.main.email_template

    @property
    def assets(self) -> Assets:
        return self.main.assets
