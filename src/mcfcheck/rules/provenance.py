"""Where a rule comes from: the documents rules cite, and how a citation reads.

Every rule says one of two things, and its documentation shows which, plainly apart:

- **Source**: the document (by its title, date and clause) whose text the rule checks,
  with a short quotation of what it says; where the rule reads more into that text than
  it says (a convention, an inference about what a file must therefore hold), the rule
  says so as **mcfcheck's reading**.
- **mcfcheck's own check**: why a correct file must pass it, when no document says so.

:data:`KNOWN_DOCUMENTS` lists the documents mcfcheck's own rules cite; a rule pack of
another author may cite its own :class:`Document`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Document:
    """A public document a rule can cite."""

    #: Who issued it: "DCC", "BEIS", "SEC".
    author: str
    title: str
    #: The date it bears ("9 August 2019"), or "" for a document kept up to date in place
    #: (the Smart Energy Code), cited as the version in force.
    date: str
    #: What it is, and where a reader finds it, in a sentence.
    about: str

    def cite(self) -> str:
        """The document as a reader looks it up: author, title, date."""
        return f"{self.author}, {self.title}, {self.date or 'the version in force'}"


@dataclass(frozen=True, slots=True)
class Source:
    """A clause of a document that a rule checks, with what the clause says."""

    document: Document
    #: Where in the document: "Figure 1 row 9 (TMAD 14.3)", "paragraph 2".
    clause: str
    #: A short quotation of the document's words.
    quote: str

    def cite(self) -> str:
        """The citation as the rule's documentation prints it."""
        return f"{self.document.cite()}, {self.clause}: \u201c{self.quote}\u201d"


TMAD_MDS_CONSULTATION: Final = Document(
    "DCC",
    "Consultation on changes to the SMETS1 Transition and Migration Approach Document (TMAD) for MOC (MDS)",
    "9 August 2019",
    "the consultation on TMAD v1.4 (file TMAD_V1_4_consultation_document_v1_0); its Attachment 4 is the "
    "official migration schema, SMETS1 Migration Schema v1.0 TMAD 2.0.xsd",
)
NOTIFICATION_PERIODS_CONCLUSIONS: Final = Document(
    "DCC",
    "SMETS1 regulatory changes to the TMAD - SMETS1 Device Security Testing and Notification Periods \u2013 "
    "Conclusions Document",
    "4 June 2020",
    "the DCC's conclusions and report to the Secretary of State (file CON_DST&NP_conclusion_issued); "
    "its TMAD clause numbers are those of the AL v4.1 draft attached to it",
)
BEIS_DIRECTION_JULY_2020: Final = Document(
    "BEIS",
    "Direction to designate updated versions of the Transition and Migration Approach Document & "
    "SMETS1 Supporting Requirements to support the DCC SMETS1 Service",
    "24 July 2020",
    "the Secretary of State's direction designating TMAD v6.0 and the SMETS1 Supporting Requirements "
    "(S1SR, SEC Appendix AM) v4.0 with effect from 26 July 2020",
)
SMART_ENERGY_CODE: Final = Document(
    "SEC",
    "Smart Energy Code",
    "",
    "the code the TMAD (Appendix AL) and the S1SR (Appendix AM) belong to, published by its administrator",
)

#: The documents mcfcheck's own rules cite, by a short name.
KNOWN_DOCUMENTS: Final = {
    "tmad-mds-consultation": TMAD_MDS_CONSULTATION,
    "notification-periods-conclusions": NOTIFICATION_PERIODS_CONCLUSIONS,
    "beis-direction-july-2020": BEIS_DIRECTION_JULY_2020,
    "smart-energy-code": SMART_ENERGY_CODE,
}


def provenance(sources: tuple[Source, ...], reading: str, own_check: str) -> str:
    """The part of a rule's documentation that says where it comes from ("" when it says nothing).

    Each document is named once, with the clauses cited from it below it.
    """
    by_document: dict[Document, list[Source]] = {}
    for source in sources:
        by_document.setdefault(source.document, []).append(source)
    parts = [
        "\n".join([f"Source: {document.cite()}", *(f"- {cited.clause}: \u201c{cited.quote}\u201d" for cited in cited)])
        for document, cited in by_document.items()
    ]
    if reading:
        parts.append(f"mcfcheck's reading: {reading}")
    if own_check:
        parts.append(f"mcfcheck's own check: {own_check}")
    return "\n\n".join(parts)
