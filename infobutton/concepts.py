"""Concept matching: terminology text → topics by their names (pure), in two strengths.

**Whole names** (``ConceptIndex.named``), the only evidence the resolver's automatic layer answers
on: the whole text, less what does not change which condition it names (ICD-10-CM's parentheses
and brackets, "unspecified", "other", "not elsewhere classified", a side after a comma), is one of a
topic's names: its title, or an also-called name of two words or more. A title that ends in square
brackets names the concept there too ("Zoster [herpes zoster]"). A single-word also-called name
("Ulcer", "Cavities", "Ice", "Snow", "Horse", "C") and a MeSH heading never answer live.

**Names anywhere in a text** (``ConceptIndex.match``), for free text and for the suggestions a
librarian reviews, where recall belongs: a topic name matches only as a whole concept inside the text:
- every significant token of the name must be in the text (after a small curated lexicon has added
  the topic vocabulary for clinical phrases: malignant neoplasm → cancer, hypertension → high blood
  pressure, varicella → chickenpox …);
- a name must hold at least one token that is not a modifier ("acute", "chronic", "other", "all",
  "type", "disease" …): modifiers never count alone;
- a short abbreviation in a name (ALL, HIV, BPH) matches only an upper-case token of a text that
  also has lower case;
- a one- or two-character token (the A of "Hepatitis A", the 2 of "Diabetes Type 2") must stand next to
  another token of the same name;
- words after "without" or "except", the site after "skin of", and the organ of a secondary
  (metastatic) or benign neoplasm are masked; titles about someone else's disease or no disease at all
  (family history, screening, exposure, carrier, newborn affected by maternal …) are not matched;
- a topic whose matched words are a strict subset of another matched topic's is dropped (Pulmonary
  Hypertension hides High Blood Pressure; Acute Myeloid Leukemia hides Leukemia), and the rest are
  ranked most specific first.
Both read the same lexicon, and neither matches a text about someone else's disease or none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .models import Topic

# Words that never count as evidence on their own (the "modifiers never count alone").
MODIFIERS = frozenset(
    (
        "acute",
        "chronic",
        "other",
        "unspecified",
        "all",
        "specified",
        "type",
        "unknown",
        "primary",
        "secondary",
        "recurrent",
        "disease",
        "disorder",
        "syndrome",
        "infection",
        "deficiency",
        "failure",
        "condition",
        "problem",
        "cancer",
        "tumor",
        "left",
        "right",
        "bilateral",
        "unilateral",
        "multiple",
        "single",
        "mild",
        "moderate",
        "severe",
        "early",
        "late",
        "initial",
        "subsequent",
        "sequela",
        "status",
        "history",
        "due",
        "site",
        "part",
        "region",
        "stage",
        "stages",
        "with",
        "without",
        "not",
        "elsewhere",
        "classified",
        "nos",
        "in",
        "of",
        "and",
        "or",
        "the",
        "to",
        "by",
        "for",
        "on",
        "at",
        "from",
        "as",
        "a",
        "an",
        "its",
    )
)
# Words that are never required of a name (they carry no concept).
STOPWORDS = frozenset(
    ("of", "and", "or", "the", "in", "to", "by", "for", "on", "at", "with", "from", "as", "an", "its", "nos")
)

# Curated lexicon: a phrase in terminology text → the topic vocabulary it also means. Applied to
# code titles, display names and free text alike, never to topic names. Each pair is a synonym in
# the ICD-10-CM index or MeSH entry terms for the topic's concept.
LEXICON: tuple[tuple[str, str], ...] = (
    ("malignant neoplasm", "cancer"),
    ("diabetes mellitus", "diabetes"),
    ("carcinoma", "cancer"),
    ("malignant melanoma", "melanoma"),
    ("neoplasm", "tumor"),
    ("hypertension", "high blood pressure"),
    ("hypertensive", "high blood pressure"),
    ("hiatus hernia", "hiatal hernia"),
    ("varicella", "chickenpox"),
    ("pertussis", "whooping cough"),
    ("rubeola", "measles"),
    ("epidemic parotitis", "mumps"),
    ("colon", "colorectal"),
    ("rectum", "colorectal"),
    ("rectosigmoid junction", "colorectal"),
    ("pancreas", "pancreatic"),
    ("corpus uteri", "uterine"),
    ("uterus", "uterine"),
    ("cervix uteri", "cervical"),
    ("urinary bladder", "bladder"),
    ("ovary", "ovarian"),
    ("testis", "testicular"),
    ("thyroid gland", "thyroid"),
    ("esophagus", "esophageal"),
    ("extrahepatic bile duct", "bile duct"),
    ("intrahepatic bile duct carcinoma", "bile duct cancer"),
    ("liver cell carcinoma", "liver cancer"),
    ("hepatocellular carcinoma", "liver cancer"),
    ("myeloblastic", "myeloid"),
    ("myelogenous", "myeloid"),
    ("lymphoblastic", "lymphocytic"),
    ("atopic dermatitis", "eczema"),
    ("allergic rhinitis", "hay fever"),
    ("tinea pedis", "athlete foot"),
    ("coccidioidomycosis", "valley fever"),
    ("clostridioides difficile", "c diff infection"),
    ("clostridium difficile", "c diff infection"),
    ("benign prostatic hyperplasia", "enlarged prostate"),
    ("hyperplasia of prostate", "enlarged prostate"),
    ("autistic disorder", "autism spectrum disorder"),
    ("major depressive disorder", "depression"),
    ("depressive episode", "depression"),
    ("systemic lupus erythematosus", "lupus"),
    ("arthropathic psoriasis", "psoriatic arthritis"),
    ("cerebral aneurysm", "brain aneurysm"),
    ("atherosclerotic heart disease", "coronary artery disease"),
    ("hereditary factor viii deficiency", "hemophilia"),
    ("hereditary factor ix deficiency", "hemophilia"),
    ("toxic effect of lead", "lead poisoning"),
    ("obstructive sleep apnea", "sleep apnea"),
    ("alcohol dependence", "alcohol use disorder"),
    ("alcohol abuse", "alcohol use disorder"),
    ("senile cataract", "cataract"),
    ("age-related cataract", "cataract"),
    ("gammaherpesviral mononucleosis", "infectious mononucleosis"),
    ("polycystic ovarian syndrome", "polycystic ovary syndrome"),
    ("leiomyoma of uterus", "uterine fibroids"),
    ("monkeypox", "mpox"),
    ("hiatus hernia", "hiatal hernia"),
    ("campylobacter", "campylobacter infection"),
    ("giardiasis", "giardia infection"),
    ("norwalk agent", "norovirus infection"),
    ("listeriosis", "listeria infection"),
    ("chlamydial infection of lower genitourinary", "chlamydia infection"),
    ("gonococcal infection", "gonorrhea"),
    ("cytomegaloviral disease", "cytomegalovirus infection"),
    ("hantavirus", "hantavirus infection"),
    ("herpesviral infection of urogenital", "genital herpes"),
    ("anogenital venereal wart", "genital wart"),
    ("anus", "anal"),
    ("malignant neoplasm of larynx", "head and neck cancer"),
    ("malignant neoplasm of accessory sinus", "head and neck cancer"),
    ("malignant neoplasm of nasal cavity", "head and neck cancer"),
    ("primary adrenocortical insufficiency", "addison disease"),
    ("tourette disorder", "tourette syndrome"),
    ("neurocognitive disorder with lewy bodies", "lewy body dementia"),
    ("dementia with lewy bodies", "lewy body dementia"),
    ("raynaud syndrome", "raynaud phenomenon"),
    ("peripheral vascular disease", "peripheral arterial disease"),
    ("polyp of colon", "colonic polyp"),
    ("calculus of gallbladder", "gallstone"),
    ("cholelithiasis", "gallstone"),
    ("kawasaki", "kawasaki disease"),
    ("wegener granulomatosis", "granulomatosis with polyangiitis"),
    ("behcet disease", "behcet syndrome"),
    ("intervertebral disc displacement", "herniated disk"),
    ("atrial septal defect", "congenital heart defect"),
    ("ventricular septal defect", "congenital heart defect"),
    ("tetralogy of fallot", "congenital heart defect"),
)
# Lexicon read before the masks, for the few phrases a mask would hide although they name a topic's
# concept: a benign brain or pituitary neoplasm is what the Brain Tumors and Pituitary Tumors pages
# are about.
UNMASKED_LEXICON: tuple[tuple[str, str], ...] = (
    ("benign neoplasm of brain", "brain tumor"),
    ("benign neoplasm of pituitary gland", "pituitary tumor"),
)


class AnyCase:
    """``re.compile(pattern, re.IGNORECASE)`` for a lower-case pattern, searched ~5× faster: ASCII
    text (nearly every ICD-10-CM title) is lowered and searched case-sensitively, which finds the
    same matches there (IGNORECASE folds nothing else in ASCII text); other text is searched as
    compiled. A long alternation searched with IGNORECASE cost ~30 µs a title, several per code."""

    def __init__(self, pattern: str):
        if pattern != pattern.lower():
            raise ValueError("AnyCase wants a lower-case pattern")
        self.pattern = pattern
        self._any_case = re.compile(pattern, re.IGNORECASE)
        self._lower = re.compile(pattern)

    def search(self, text: str) -> re.Match[str] | None:
        if text.isascii():
            return self._lower.search(text.lower())
        return self._any_case.search(text)


# A code title about these is not about the patient having the disease: never matched.
NOT_THE_PATIENTS = AnyCase(
    r"family history|personal history|history of|screening|contact with|exposure to|carrier of|"
    r"encounter for|immunization|vaccination|observation for|suspected|ruled out|need for|"
    r"newborn affected by|affected by maternal|fetus|allergy status|long term \(current\) use|"
    r"underdosing|adverse effect|susceptibility|inconclusive|suspect|test for|vaccin|\bcarrier\b|"
    r"poisoning by|\bpseudo-"
)
# Masks: the words these capture do not describe the patient's condition.
_MASKS = (
    re.compile(r"\b(?:without|except|excluding|other than)\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\bskin of\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\bsecondary (?:and unspecified )?(?:malignant )?neoplasm\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\bfollowing\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\bbenign neoplasm\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\bneoplasm of uncertain behavior\b[^,;:\[\]()]*", re.IGNORECASE),
    re.compile(r"\batypical\b[^,;:\[\]()]*", re.IGNORECASE),
)
# False friends: phrases that hold a topic's name but mean another disease (German measles is
# rubella; myositis ossificans is bone in muscle; the lupus anticoagulant is a clotting disorder; the
# Glasgow coma scale is a score, most often of a patient who is not in a coma …).
FALSE_FRIENDS = re.compile(
    r"german measles|myositis ossificans|lupus anticoagulant|cerebral depression|"
    r"leukocyte adhesion|vitreomacular adhesion|adhesions?(?: and \w+)? of (?:the )?iris|"
    r"conjunctival adhesions|adhesions and ankylosis|concussion and edema|chlamydia psittaci|"
    r"rift valley fever|(?:intracranial|ocular|venous|portal) hypertension|"
    r"detachment of retinal pigment epithelium|cystic fibrosis with pulmonary|bipolar type|"
    r"obsessive-compulsive personality|uterine adnexa|anal skin|adhesions of prepuce|coma scale",
    re.IGNORECASE,
)
# One pass over a text for every mask and false friend.
_MASK = re.compile("|".join(f"(?:{p.pattern})" for p in (*_MASKS, FALSE_FRIENDS)), re.IGNORECASE)
_JOINED_PREFIX = re.compile(r"\b(non|anti|pseudo|para)-(?=\w)", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_POSSESSIVE = re.compile(r"(?<=\w)['\u2019]s\b")


def _fold(text: str) -> str:
    """Without diacritics (Ménière → Meniere); case is kept, it tells abbreviations apart."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """Lower case, and a plural made singular: the same for names and for text."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "os", "as")):
        return word[:-1]
    return word


def _is_abbreviation(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _words(text: str) -> list[str]:
    """Word tokens of a folded text; "non-Hodgkin" stays one word, possessives go."""
    return _WORD.findall(_JOINED_PREFIX.sub(r"\1", _POSSESSIVE.sub("", text)))


@dataclass(frozen=True, slots=True)
class _Token:
    value: str  # stemmed
    position: float  # for adjacency: lexicon tokens sit together at their phrase's position
    words: frozenset[int]  # the source words this token stands for
    upper: bool  # written in upper case in the source (abbreviations)
    lexical: bool = False  # supplied by the lexicon for a phrase, not written in the text


@dataclass(frozen=True, slots=True)
class Text:
    """Terminology text read for matching: tokens with positions, lexicon additions and masks."""

    tokens: tuple[_Token, ...]
    source_words: tuple[str, ...]

    @classmethod
    def read(cls, text: str) -> Text:
        folded = _fold(text or "")
        raw_stems = [stem(w) for w in _words(folded)]
        masked = _MASK.sub(lambda m: " " * len(m.group(0)), folded)
        # The lexicon reads the masked text, so "benign neoplasm" never becomes a tumor of its organ
        # and "secondary malignant neoplasm" never becomes cancer.
        raw = _words(masked)
        stems = [stem(w) for w in raw]
        # Upper case tells an abbreviation only where the text also has lower case.
        cased = any(ch.islower() for ch in masked)
        tokens = [
            _Token(s, float(i), frozenset({i}), cased and _is_abbreviation(w))
            for i, (w, s) in enumerate(zip(raw, stems, strict=True))
        ]
        words = list(stems)
        for phrase, meaning in _candidates(_LEXICON_BY_FIRST, stems):
            for start in _occurrences(phrase, stems):
                span = frozenset(range(start, start + len(phrase)))
                tokens += [_Token(value, start + k * 0.01, span, False, True) for k, value in enumerate(meaning)]
        for phrase, meaning in _candidates(_UNMASKED_BY_FIRST, raw_stems):
            # A phrase the masks hid: its words join the text's words after the visible ones.
            for start in _occurrences(phrase, raw_stems):
                span = frozenset(range(len(words), len(words) + len(phrase)))
                words += raw_stems[start : start + len(phrase)]
                tokens += [_Token(value, min(span) + k * 0.01, span, False, True) for k, value in enumerate(meaning)]
        return cls(tuple(tokens), tuple(words))


LexiconEntry = tuple[tuple[str, ...], tuple[str, ...]]  # (phrase stems, meaning stems)


def _candidates(by_first: dict[str, list[LexiconEntry]], stems: list[str]) -> list[LexiconEntry]:
    """The lexicon entries whose first word is in the text."""
    return [entry for first in dict.fromkeys(stems) for entry in by_first.get(first, ())]


def _occurrences(phrase: tuple[str, ...], stems: list[str]) -> list[int]:
    n = len(phrase)
    return [i for i in range(len(stems) - n + 1) if tuple(stems[i : i + n]) == phrase]


def _by_first_word(pairs: tuple[tuple[str, str], ...]) -> dict[str, list[LexiconEntry]]:
    """Lexicon entries as stems, keyed by their phrase's first word, so a text reads only its own."""
    index: dict[str, list[LexiconEntry]] = {}
    for phrase, meaning in pairs:
        phrase_stems, meaning_stems = (tuple(stem(w) for w in _words(_fold(text))) for text in (phrase, meaning))
        index.setdefault(phrase_stems[0], []).append((phrase_stems, meaning_stems))
    return index


_LEXICON_BY_FIRST = _by_first_word(LEXICON)
_UNMASKED_BY_FIRST = _by_first_word(UNMASKED_LEXICON)


# How each kind of name is called in a reason.
NAME_KINDS = {"title": "topic name", "also called": "also-called name", "MeSH heading": "MeSH heading"}


@dataclass(frozen=True, slots=True)
class Name:
    """One name of a topic (its title, an also-called name or a MeSH heading), as required tokens."""

    topic_id: str
    text: str
    kind: str  # "title" | "also called" | "MeSH heading"
    required: tuple[tuple[str, bool], ...]  # (stemmed token, must be an upper-case abbreviation)

    @property
    def described(self) -> str:
        """The name in words for a reason: "the topic name ‘Diabetes Type 2’"."""
        return f"{NAME_KINDS[self.kind]} \u2018{self.text}\u2019"

    @property
    def evidence(self) -> bool:
        """Whether the name holds a concept word: modifiers alone are never evidence."""
        return any(upper or token not in MODIFIERS for token, upper in self.required)


def _name_variants(text: str) -> list[str]:
    """A name and its parenthesised alias apart: "Alcohol Use Disorder (AUD)" → both; MeSH's
    inverted "Diabetes Mellitus, Type 2" stays one name (every token must match anyway)."""
    text = text.strip()
    found = re.findall(r"\(([^()]+)\)", text)
    bare = re.sub(r"\s*\([^()]*\)", "", text).strip()
    return [v for v in (bare, *found) if v.strip()]


def _needs_upper_case(word: str) -> bool:
    """Whether a name's word is an abbreviation that lower case would make another word: ALL, AML,
    HIV (short ones) must be upper case in the text too; COVID or G6PD cannot be mistaken."""
    return _is_abbreviation(word) and (len(word) <= 3 or stem(word) in MODIFIERS)


def _neoplasms_are_cancer(token: str) -> str:
    # MeSH names cancers "X Neoplasms"; as a topic name that means the cancer, never a benign tumour.
    return "cancer" if token == "neoplasm" else token


def names_of(topic: Topic) -> list[Name]:
    """Every name a topic may be matched by."""
    named = [(topic.title, "title")]
    named += [(alias, "also called") for alias in topic.also_called]
    named += [(heading, "MeSH heading") for _, heading in topic.mesh_headings]
    names = []
    for text, kind in named:
        for n, variant in enumerate(_name_variants(text)):
            # A title's parenthesised alias ("AUD" of "Alcohol Use Disorder (AUD)") is another name
            # for the topic, not its title.
            if kind == "title" and n:
                kind = "also called"
            required = tuple(
                dict.fromkeys(
                    (_neoplasms_are_cancer(stem(w)), _needs_upper_case(w))
                    for w in _words(_fold(variant))
                    if stem(w) not in STOPWORDS
                )
            )
            if required:
                names.append(Name(topic.id, variant, kind, required))
    return names


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    """A topic found in a text, with the evidence: which name matched which words."""

    topic_id: str
    name: Name
    words: frozenset[str]  # the text's (stemmed) words the name stands on
    exact: bool  # the whole text is the name
    start: int = 0  # where in the text the first of those words stands


# -- whole names: the evidence for a live answer ---------------------------------------------------

# Text that does not change which condition a title names, dropped before a title is compared with
# a name as a whole: ICD-10-CM's parentheses (nonessential modifiers, "Essential (primary)
# hypertension") and square brackets (synonyms and alternative wording), which also hold SNOMED
# CT's semantic tag ("(disorder)"); a side after a comma (", right eye", ", bilateral"); SNOMED
# CT's ", disease" that tells a disorder from its morphology; and the tabular list's words for what
# the coder did not say ("unspecified", "other", "not elsewhere classified" …).
_SUPPLEMENTARY = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SIDE = re.compile(
    r",\s*(?:right|left|bilateral|unspecified)(?:\s+(?:eye|ear|side|sides))?\s*(?=,|$)|,\s*(?:disease|disorder)\s*$",
    re.IGNORECASE,
)
_UNSAID = re.compile(
    r"\b(?:not elsewhere classified|not otherwise specified|other and unspecified|other specified|"
    r"unspecified site|site unspecified|unspecified|other|nos|nec)\b",
    re.IGNORECASE,
)


def _whole_lexicon() -> dict[str, list[LexiconEntry]]:
    """Every lexicon phrase as stems, by first word, the longest first."""
    index = _by_first_word(LEXICON + UNMASKED_LEXICON)
    return {first: sorted(entries, key=lambda e: -len(e[0])) for first, entries in index.items()}


_WHOLE_LEXICON = _whole_lexicon()


def _in_topic_words(stems: list[str]) -> list[str]:
    """The stems with each lexicon phrase replaced by what it means in topic names, longest phrase
    first, left to right ("malignant neoplasm of colon" → "cancer of colorectal")."""
    found: list[str] = []
    i = 0
    while i < len(stems):
        for phrase, meaning in _WHOLE_LEXICON.get(stems[i], ()):
            if tuple(stems[i : i + len(phrase)]) == phrase:
                found += meaning
                i += len(phrase)
                break
        else:
            found.append(stems[i])
            i += 1
    return found


# A title that ends in square brackets gives the whole concept another name there ("Varicella
# [chickenpox]", "Zoster [herpes zoster]"); brackets inside a title name only a part of it.
_SYNONYM = re.compile(r"\[([^\[\]]+)\]\s*$")


def whole_keys(text: str) -> list[tuple[frozenset[str], frozenset[str]]]:
    """What a text names as a whole, as (stems, stems written as abbreviations): its own words and
    its words in topic vocabulary (``LEXICON``), once the words that do not change which condition
    it names are dropped, and likewise its closing bracket's synonym; stop words never count.
    Empty for a text about someone else's disease or none (``NOT_THE_PATIENTS``)."""
    if not text or NOT_THE_PATIENTS.search(text):
        return []
    synonym = _SYNONYM.search(text)
    keys = []
    for whole in (text, synonym.group(1)) if synonym else (text,):
        kept = _UNSAID.sub(" ", _SIDE.sub(" ", _SUPPLEMENTARY.sub(" ", _fold(whole))))
        words = _words(kept)
        cased = any(ch.islower() for ch in kept)
        upper = frozenset(stem(w) for w in words if cased and _is_abbreviation(w))
        stems = [stem(w) for w in words]
        for variant in (stems, _in_topic_words(stems)):
            key = frozenset(s for s in variant if s not in STOPWORDS)
            if key and (key, upper) not in keys:
                keys.append((key, upper))
    return keys


def names_a_whole(name: Name) -> bool:
    """Whether a name may answer live when it is a text's whole concept: the topic's own title, or
    an also-called name of two words or more. A single-word also-called name ("Ulcer", "Cavities",
    "Ice", "Snow", "Horse", "C") is a common word, an abbreviation or slang, never evidence; a MeSH
    heading says what a topic is indexed under, not what it is (Childhood Leukemia under
    "Leukemia")."""
    if not name.evidence:
        return False
    if name.kind == "title":
        return True
    return name.kind == "also called" and len(name.required) >= 2


# The words of a name must stand together: at most this many other words between them, so
# "Nodular sclerosis Hodgkin lymphoma, lymph nodes of multiple sites" is not Multiple Sclerosis.
# Words the lexicon supplied (cancer for "malignant neoplasm") stand where their phrase stands.
SLACK = 3


def _find(name: Name, text: Text) -> frozenset[int] | None:
    """The source word positions the name stands on, or None when a token is missing, when the
    name's words are scattered, or when a short token has no neighbour from the same name."""
    options = []
    for value, upper in name.required:
        candidates = [t for t in text.tokens if t.value == value and (t.upper or not upper)]
        if not candidates:
            return None
        options.append(candidates)
    best: list[_Token] | None = None
    for anchor in options[0]:
        chosen = [anchor] + [min(c, key=lambda t: abs(t.position - anchor.position)) for c in options[1:]]
        spread = _spread(chosen)
        if spread <= SLACK and (best is None or spread < _spread(best)):
            best = chosen
    if best is None:
        return None
    for token, short in zip(best, (len(t) <= 2 for t, _ in name.required), strict=True):
        if (
            short
            and len(best) > 1
            and not any(other is not token and abs(other.position - token.position) <= 1.0 for other in best)
        ):
            return None
    words: set[int] = set()
    for token in best:
        words |= token.words
    return frozenset(words)


def _spread(tokens: list[_Token]) -> int:
    """How many other words stand between the tokens written in the text (lexicon tokens stand
    for a phrase, which may sit anywhere: "malignant neoplasm of … breast" is breast cancer)."""
    written = {i for t in tokens if not t.lexical for i in t.words}
    if not written:
        return 0
    return (max(written) - min(written) + 1) - len(written)


class ConceptIndex:
    """Topic names indexed by token, built once per catalogue version (knowledge.py caches it)."""

    def __init__(self, topics: Iterable[Topic]):
        self._by_token: dict[str, list[Name]] = {}
        self._whole: dict[frozenset[str], list[Name]] = {}  # names that may answer live, by their stems
        self._topics: set[str] = set()  # topics with at least one name that is evidence
        for topic in topics:
            if topic.status != "active":
                continue
            for name in names_of(topic):
                if not name.evidence:
                    continue
                if names_a_whole(name):
                    self._whole.setdefault(frozenset(t for t, _ in name.required), []).append(name)
                self._topics.add(topic.id)
                rarest = next((t for t, upper in name.required if upper or t not in MODIFIERS))
                self._by_token.setdefault(rarest, []).append(name)
        # For the quick "no name can match" test: the lexicon phrases (by first word) that can add
        # a token some name is indexed by.
        # Equal signatures, equal answers for every text (the names, in the order they are tried).
        self.signature = tuple((token, tuple(names)) for token, names in self._by_token.items())
        self._lexicon_firsts = _firsts_adding(_LEXICON_BY_FIRST, self._by_token)
        self._unmasked_firsts = _firsts_adding(_UNMASKED_BY_FIRST, self._by_token)

    def __len__(self) -> int:
        return len(self._topics)

    def match(self, text: str) -> list[ConceptMatch]:
        """Topics whose whole name is in ``text``, most specific first, subsumed ones dropped."""
        if not text or NOT_THE_PATIENTS.search(text) or not self._may_match(text):
            return []
        read = Text.read(text)
        whole = " ".join(read.source_words)  # (a phrase the masks hid is never an exact match)
        best: dict[str, ConceptMatch] = {}
        seen: set[int] = set()
        for token in {t.value for t in read.tokens}:
            for name in self._by_token.get(token, ()):
                if id(name) in seen:
                    continue
                seen.add(id(name))
                positions = _find(name, read)
                if positions is None:
                    continue
                words = frozenset(read.source_words[i] for i in positions)
                exact = " ".join(t for t, _ in name.required) == whole
                found = ConceptMatch(name.topic_id, name, words, exact, min(positions))
                current = best.get(name.topic_id)
                if current is None or _rank(found) < _rank(current):
                    best[name.topic_id] = found
        return sorted(most_specific(best.values()), key=_rank)

    def named(self, text: str) -> list[ConceptMatch]:
        """Topics one of whose names is the whole text (``whole_keys``, ``names_a_whole``): the
        evidence the automatic layer answers on. A topic's title before an also-called name."""
        found: dict[str, ConceptMatch] = {}
        for key, upper in whole_keys(text):
            for name in self._whole.get(key, ()):
                if name.topic_id in found or any(u and t not in upper for t, u in name.required):
                    continue
                found[name.topic_id] = ConceptMatch(name.topic_id, name, key, True)
        kinds = {"title": 0, "also called": 1}
        return sorted(found.values(), key=lambda m: (kinds[m.name.kind], m.topic_id))

    def _may_match(self, text: str) -> bool:
        """False when no token ``Text.read`` could make of the text indexes a name (then ``match``
        finds nothing): the words left by the masks and the lexicon phrases they may start, without
        building the tokens. Most code titles match no topic; this is their whole cost."""
        folded = _fold(text)
        masked = _MASK.sub(lambda m: " " * len(m.group(0)), folded)
        stems = {stem(w) for w in _words(masked)}
        if not stems.isdisjoint(self._by_token) or not stems.isdisjoint(self._lexicon_firsts):
            return True
        return bool(self._unmasked_firsts) and not self._unmasked_firsts.isdisjoint(stem(w) for w in _words(folded))


def _firsts_adding(by_first: dict[str, list[LexiconEntry]], tokens: dict) -> frozenset[str]:
    """The first words of lexicon phrases whose meaning holds one of ``tokens``."""
    return frozenset(
        first for first, entries in by_first.items() if any(t in tokens for _, meaning in entries for t in meaning)
    )


def most_specific(matches: Iterable[ConceptMatch]) -> list[ConceptMatch]:
    """Drop a match whose words are a strict subset of another's (Pulmonary Hypertension hides High
    Blood Pressure), and one that stands only on a MeSH heading where another topic's own name
    covers the same words (Childhood Leukemia is indexed under MeSH "Leukemia"; an adult's leukemia
    title names the Leukemia topic, not the childhood one)."""
    matches = list(matches)
    named = {m.words for m in matches if m.name.kind != "MeSH heading"}
    return [
        m
        for m in matches
        if not any(m.words < other.words for other in matches)
        and not (m.name.kind == "MeSH heading" and m.words in named)
    ]


def _rank(match: ConceptMatch) -> tuple:
    """Exact name first; then the concept written first (the title's head: "Type 2 diabetes mellitus
    with diabetic chronic kidney disease" is about diabetes first), then the more specific."""
    kinds = {"title": 0, "also called": 1, "MeSH heading": 2}
    return (
        not match.exact,
        match.start,
        -len(match.words),
        -len(match.name.required),
        kinds[match.name.kind],
        match.topic_id,
    )
