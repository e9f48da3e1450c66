"""Words that make a message read like a promotion, in the languages Pages write in.

Facebook allows message tags and utility templates only for non-promotional
updates ("no deals, offers, coupons, discounts", policy.md §2 and §2a) and
restricts Pages that use them for marketing. A checker cannot understand a
message, but a tagged "20% off this weekend" is almost always a mistake, so
`PF408` names the words it found. The lists are data: one tuple per language.

How an entry matches (a wrong warning costs trust, so the rules lean towards
few false positives; it is a heuristic either way):

- Whole words, a phrase's words in order, separated in the text only by
  spaces, hyphens, apostrophes, `+`, `%` or a currency sign: "offer" does not
  match "offered", "sale" does not match "salesforce", "promo code" matches
  "Promo-Code".
- Case and accents do not matter: "cupon" matches "cupón", "giam gia" matches
  "giảm giá", "𝗦𝗔𝗟𝗘" matches "sale".
- `*` at the start or end of a word lets the word go on (compounds):
  "rabatt*" matches "Rabatte" and "Rabattcode", "*rabatt" "Sommerrabatt".
- `#` is a number: "buy # get #" matches "Buy 2 get 1".
- A word that is just as often part of an update (English "offer" in "we'd
  like to offer you a refund", Spanish "sale" in "tu pedido sale hoy",
  "clearance" in "customs clearance") is listed with its update phrases in
  NOT_PROMOTIONAL, or only in promotional phrases (German "Aktion" means
  "action" in "Aktion erforderlich": only "Aktionscode", "Aktionspreis").
- Thai has no spaces between words: UNSPACED entries match anywhere.
- Numbers with `% off`, `$10 off`, `-30%` or `save 20%` are promotions in any
  language (the fixed patterns below).
- What the contact does not read as text is skipped: a `{contact.field}`
  placeholder (its `|fallback` is read), web addresses and email addresses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# fmt: off
WORDS: dict[str, tuple[str, ...]] = {
    "English": (
        "deal", "deals", "deal of the day", "offer", "offers", "special offer",
        "special offers", "exclusive offer", "coupon", "coupons", "coupon code", "discount",
        "discounts", "discounted", "discount code", "promo", "promos", "promo code",
        "promotion", "promotions", "promotional", "sale", "flash sale", "hot sale",
        "clearance sale", "on clearance", "clearance price", "clearance prices",
        "voucher", "vouchers", "cashback", "cash back", "free shipping", "free delivery",
        "free gift", "buy one get one", "buy # get #", "buy one take one", "buy # take #",
        "bogo", "2 for 1", "3 for 2", "two for one", "limited time", "black friday",
        "cyber monday", "bargain", "bargains", "rebate", "rebates", "half price",
        "price drop", "lowest price", "lowest prices", "shop now", "upgrade now",
        "you may also like", "you might also like", "customers also bought",
        "frequently bought together",
    ),
    "Spanish": (
        "oferta", "ofertas", "descuento", "descuentos", "cupón", "cupones", "rebaja",
        "rebajas", "rebajado", "rebajada", "rebajados", "rebajadas", "promoción",
        "promociones", "promocional", "promocionales", "envío gratis", "envío gratuito",
        "envíos gratis", "2x1", "3x2", "4x3", "2 por 1", "liquidación total",
        "gran liquidación", "en liquidación", "precio especial", "precios especiales",
    ),
    "Portuguese": (
        "oferta", "ofertas", "desconto", "descontos", "cupom", "cupons", "cupão", "cupões",
        "promoção", "promoções", "promocional", "liquidação", "frete grátis",
        "portes grátis", "envio grátis", "entrega grátis", "queima de estoque",
        "leve # pague #", "compre # leve #", "preço especial", "preços especiais",
    ),
    "French": (
        "promo", "promos", "code promo", "codes promo", "promotion", "promotions",
        "promotionnel", "promotionnelle", "promotionnels", "promotionnelles", "réduction",
        "réductions", "bon de réduction", "code de réduction", "remise de #", "# de remise",
        "remise exceptionnelle", "remise immédiate", "soldes", "offre spéciale",
        "offres spéciales", "offre exceptionnelle", "offres exceptionnelles",
        "offre limitée", "offre flash", "vente flash", "ventes flash", "bons plans",
        "livraison gratuite", "livraison offerte", "frais de port offerts", "rabais",
        "déstockage", "prix cassé", "prix cassés",
    ),
    "German": (
        "*rabatt*", "gutschein*", "sonderangebot*", "angebot der woche",
        "angebote der woche", "angebot des tages", "tagesangebot*", "wochenangebot*",
        "top angebot*", "aktionscode*", "aktionspreis*", "sonderaktion*", "*schlussverkauf",
        "ausverkauf", "versandkostenfrei", "gratis versand", "kostenloser versand",
        "kostenlose lieferung", "stark reduziert", "jetzt reduziert", "preisreduziert*",
        "reduzierte preise", "reduzierten preisen", "schnäppchen*", "preisnachlass*",
    ),
    "Italian": (
        "sconto", "sconti", "scontato", "scontata", "scontati", "scontate", "buono sconto",
        "codice sconto", "saldi", "promozione", "promozioni", "promozionale",
        "offerta speciale", "offerte speciali", "in offerta", "offerta limitata",
        "offerta lampo", "offerte lampo", "super offerta", "spedizione gratuita",
        "spedizione gratis", "svendita", "svendite", "sottocosto", "fuori tutto",
        "prendi # paghi #",
    ),
    "Dutch": (
        "aanbieding", "aanbiedingen", "korting*", "uitverkoop", "gratis verzending",
        "gratis bezorging", "gratis verzonden", "actiecode*", "halve prijs", "1+1 gratis",
    ),
    "Indonesian and Malay": (
        "diskon", "diskaun", "potongan harga", "promo", "promosi", "kupon", "voucher",
        "gratis ongkir", "free ongkir", "penghantaran percuma", "jualan murah", "obral",
        "cuci gudang", "harga spesial", "beli # gratis #",
    ),
    "Vietnamese": (
        "giảm giá", "mã giảm giá", "phiếu giảm giá", "giảm #", "khuyến mãi", "khuyến mại",
        "ưu đãi", "miễn phí vận chuyển", "freeship", "mua # tặng #", "xả hàng", "giá sốc",
    ),
    "Tagalog": (
        "diskwento", "bawas presyo", "promo", "sale", "libreng shipping", "libreng delivery",
        "libreng padala",
    ),
}
# Updates that contain a listed word: a word inside one of these is not counted.
NOT_PROMOTIONAL: dict[str, tuple[str, ...]] = {
    "English": (
        "deal with", "deals with", "a great deal of", "a good deal of", "big deal",
        "to offer", "we offer", "i offer", "you offer", "they offer", "can offer",
        "could offer", "may offer", "might offer", "will offer", "would offer",
        "job offer", "offer letter", "point of sale", "terms of sale", "conditions of sale",
        "bill of sale", "not for sale", "sale of your", "coupon payment", "coupon payments",
        "coupon rate",
    ),
    "Spanish": (
        "oferta de empleo", "ofertas de empleo", "oferta de trabajo", "ofertas de trabajo",
        "oferta laboral", "ofertas laborales",
        # "sale" is also "leaves": "tu pedido sale hoy", "el vuelo sale a las 9"
        "sale hoy", "sale mañana", "sale de", "sale del", "sale a", "sale al", "sale en",
        "sale el", "sale la", "sale los", "sale las", "sale para", "sale por", "sale con",
        "que sale", "se sale", "le sale", "te sale", "me sale", "nos sale", "les sale",
        "no sale", "ya sale", "pedido sale", "paquete sale", "envío sale", "vuelo sale",
        "tren sale", "autobús sale",
    ),
    "Portuguese": (
        "oferta de emprego", "ofertas de emprego", "oferta de trabalho",
        "ofertas de trabalho", "liquidação do boleto", "liquidação de boleto",
        "liquidação financeira",
    ),
    "French": ("réduction d'impôt", "réduction d'impôts"),
    # "sale" is also "rooms" and "salt"
    "Italian": (
        "le sale", "nelle sale", "delle sale", "alle sale", "sale d'imbarco", "sale riunioni",
        "il sale", "sale e pepe", "sale sul", "sale su",
    ),
}
# Written without spaces between words: matched anywhere.
UNSPACED: dict[str, tuple[str, ...]] = {
    "Thai": (
        "ลดราคา", "โปรโมชั่น", "โปรโมชัน", "ส่วนลด", "โค้ดส่วนลด", "คูปอง", "ส่งฟรี", "แถมฟรี",
        "ซื้อ 1 แถม 1", "ซื้อ1แถม1", "1 แถม 1", "ราคาพิเศษ", "ลดกระหน่ำ", "ลดสูงสุด",
    ),
}
# fmt: on

# Numbers that read as a promotion in any language.
_NUMBERS = (
    re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?\s?%\s?off\b", re.IGNORECASE),  # 20% off
    re.compile(
        r"(?<![\w.,])(?:[$€£₱]\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:[$€£₱]|eur\b|euros?\b"
        r"|usd\b|dollars?\b))\s?off\b",
        re.IGNORECASE,
    ),  # $10 off, 10 € off
    re.compile(r"(?<![\w%.,+\-−–])[-−–]\s?\d+(?:[.,]\d+)?\s?%"),  # -30%
    re.compile(
        r"\bsave\s+(?:up\s+to\s+)?(?:\d+(?:[.,]\d+)?\s?%|[$€£₱]\s?\d+(?:[.,]\d+)?)",
        re.IGNORECASE,
    ),  # save 20%, save up to $50
)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{[^{}|]*\|([^{}]*)\}|\{[^{}]*\}")
_CHUNK = re.compile(r"\S+")
_WORD = re.compile(r"\w+")
_ENTRY_WORD = re.compile(r"[\w*#]+")
_HIDDEN = "\x00"  # what the contact does not read: no word, and no phrase across it
_GAP = frozenset(" -‐‑‒–—'’+%")
_LETTERS = str.maketrans({"đ": "d", "ø": "o", "ł": "l", "ı": "i"})


def _fold(word: str) -> str:
    """Lower case without Latin accents: "Cupón" -> "cupon", "Giảm" -> "giam", "𝗦" -> "s".

    Marks on other scripts are letters of their own (Thai vowels) and stay.
    """
    kept: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFKD", word):
        if unicodedata.combining(char):
            if latin:
                continue
        else:
            latin = char < "\u0250"
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept).casefold()).translate(_LETTERS)


@dataclass(frozen=True)
class _Piece:
    """One word of an entry: `word`, `word*`, `*word`, `*word*` or `#`."""

    text: str
    head: bool = False  # the text's word may have more letters before
    tail: bool = False  # ... or after
    number: bool = False

    @classmethod
    def read(cls, raw: str) -> _Piece:
        if raw == "#":
            return cls("", number=True)
        return cls(_fold(raw.strip("*")), head=raw.startswith("*"), tail=raw.endswith("*"))

    def fits(self, word: str) -> bool:
        if self.number:
            return word[:1].isdigit()
        if self.head and self.tail:
            return self.text in word
        if self.head:
            return word.endswith(self.text)
        if self.tail:
            return word.startswith(self.text)
        return word == self.text


_Entry = tuple[_Piece, ...]


def _entries(tables: dict[str, tuple[str, ...]]) -> dict[str, list[_Entry]]:
    """Entries by their folded first word ("" for those starting with `*` or `#`), longest first."""
    index: dict[str, list[_Entry]] = {}
    for words in tables.values():
        for raw in words:
            entry = tuple(_Piece.read(w) for w in _ENTRY_WORD.findall(raw))
            first = entry[0]
            key = "" if first.number or first.head or first.tail else first.text
            if entry not in index.setdefault(key, []):
                index[key].append(entry)
    for entries in index.values():
        entries.sort(key=len, reverse=True)
    return index


_PROMOTIONAL = _entries(WORDS)
_UPDATES = _entries(NOT_PROMOTIONAL)
_UNSPACED = sorted({w for words in UNSPACED.values() for w in words}, key=len, reverse=True)

_Word = tuple[int, int, str]  # start, end, folded


def _visible(text: str) -> str:
    """``text`` with what the contact does not read as words hidden, offsets kept."""
    shown = list(text)

    def hide(start: int, end: int) -> None:
        shown[start:end] = _HIDDEN * (end - start)

    for chunk in _CHUNK.finditer(text):
        word = chunk.group()
        if "://" in word or word.lower().startswith("www.") or "@" in word.strip("@"):
            hide(chunk.start(), chunk.end())
    for match in _PLACEHOLDER.finditer(text):
        if match.group() in ("{{", "}}"):
            continue
        if match.group(1) is None:
            hide(match.start(), match.end())
        else:  # the fallback is shown when the value is missing
            hide(match.start(), match.start(1))
            hide(match.end(1), match.end())
    return "".join(shown)


def _ends(entry: _Entry, words: list[_Word], i: int, plain: str) -> int | None:
    """Where ``entry`` ends (a word index) when it matches from ``words[i]``."""
    if i + len(entry) > len(words):
        return None
    for k, piece in enumerate(entry):
        start, _, folded = words[i + k]
        if not piece.fits(folded):
            return None
        gap = plain[words[i + k - 1][1] : start] if k else ""
        if not all(c in _GAP or c.isspace() or unicodedata.category(c) == "Sc" for c in gap):
            return None
    return i + len(entry)


def _candidates(index: dict[str, list[_Entry]], folded: str) -> list[_Entry]:
    same, other = index.get(folded, []), index.get("", [])
    return sorted(same + other, key=len, reverse=True) if same and other else same or other


def _word_hits(plain: str) -> list[tuple[int, int]]:
    words = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(plain)]
    updates: list[tuple[int, int]] = []
    for i, (_, _, folded) in enumerate(words):
        for entry in _candidates(_UPDATES, folded):
            end = _ends(entry, words, i, plain)
            if end is not None:
                updates.append((i, end))
    hits: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        for entry in _candidates(_PROMOTIONAL, words[i][2]):
            end = _ends(entry, words, i, plain)
            if end is not None and not any(a <= i and end <= b for a, b in updates):
                hits.append((words[i][0], words[end - 1][1]))
                i = end
                break
        else:
            i += 1
    return hits


def promotional_words(text: str) -> tuple[str, ...]:
    """The promotional words in ``text``, as written there, in order, each once.

    Compared word by word with the lists (no pattern is built from them: `re`
    runs only fixed patterns in pageflows, see tests/unit/test_layers.py).
    """
    plain = _visible(unicodedata.normalize("NFC", text))
    hits = _word_hits(plain)
    for pattern in _NUMBERS:
        hits += [(m.start(), m.end()) for m in pattern.finditer(plain)]
    for word in _UNSPACED:
        at = plain.find(word)
        while at >= 0:
            hits.append((at, at + len(word)))
            at = plain.find(word, at + len(word))
    found: list[str] = []
    seen: set[str] = set()
    reach = 0
    for start, end in sorted(hits, key=lambda h: (h[0], -h[1])):
        if start < reach:
            continue  # inside a longer hit already named
        reach = end
        shown = " ".join(plain[start:end].split())
        key = " ".join(_fold(w) for w in _WORD.findall(shown)) or shown
        if key not in seen:
            seen.add(key)
            found.append(shown)
    return tuple(found)
