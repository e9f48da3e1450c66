"""Words that make a message read like a promotion, in the languages Pages write in.

Facebook allows message tags and utility templates only for non-promotional
updates ("no deals, offers, coupons, discounts", policy.md §2 and §2a) and
restricts Pages that use them for marketing. A checker cannot understand a
message, but a tagged "20% off this weekend" is almost always a mistake, so
`PF408` names the words it found. The lists are data: one tuple per language,
lower case, matched as whole words (a phrase's words in order) in any case,
so "offer" does not match "offered" and "sale" does not match "salesforce".
Thai has no spaces between words: its entries match anywhere in the text.
A `{contact.field}` placeholder is not text and is never matched.
"""

from __future__ import annotations

import re
import unicodedata

# fmt: off
WORDS: dict[str, tuple[str, ...]] = {
    "English": (
        "deal", "deals", "offer", "offers", "coupon", "coupons", "discount", "discounts",
        "discounted", "promo", "promo code", "promotion", "sale", "clearance", "voucher",
        "vouchers", "cashback", "free shipping", "buy one get one", "bogo", "limited time",
        "flash sale", "special offer", "black friday", "cyber monday", "% off",
    ),
    "Spanish": (
        "oferta", "ofertas", "descuento", "descuentos", "cupón", "cupon", "cupones",
        "rebaja", "rebajas", "promoción", "promocion", "envío gratis", "2x1", "liquidación",
    ),
    "Portuguese": (
        "oferta", "ofertas", "desconto", "descontos", "cupom", "cupons", "promoção",
        "promocao", "liquidação", "liquidacao", "frete grátis", "frete gratis",
    ),
    "French": (
        "offre", "offres", "promo", "promotion", "remise", "réduction", "reduction",
        "soldes", "bon de réduction", "code promo", "livraison gratuite",
    ),
    "German": (
        "angebot", "angebote", "sonderangebot", "rabatt", "rabattcode", "gutschein",
        "gutscheincode", "reduziert", "schlussverkauf", "versandkostenfrei",
    ),
    "Italian": (
        "offerta", "offerte", "sconto", "sconti", "saldi", "promozione", "buono sconto",
        "codice sconto", "spedizione gratuita",
    ),
    "Dutch": (
        "aanbieding", "aanbiedingen", "korting", "kortingscode", "uitverkoop",
        "gratis verzending",
    ),
    "Indonesian and Malay": ("diskon", "potongan harga", "promo", "voucher", "gratis ongkir"),
    "Vietnamese": ("giảm giá", "khuyến mãi", "ưu đãi", "mã giảm giá"),
    "Tagalog": ("diskwento", "bawas presyo", "promo", "sale"),
}
# Written without spaces between words: matched anywhere.
UNSPACED: dict[str, tuple[str, ...]] = {
    "Thai": ("ลดราคา", "โปรโมชั่น", "ส่วนลด", "คูปอง"),
}
# fmt: on

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"\w+")
_PERCENT_OFF = re.compile(r"\d+\s?%\s?off\b", re.IGNORECASE)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


# Each entry as a tuple of folded words; matched longest first at each word of a text.
_PHRASES = sorted(
    {tuple(_fold(w).split()) for words in WORDS.values() for w in words if w != "% off"},
    key=len,
    reverse=True,
)
_THAI = tuple(w for words in UNSPACED.values() for w in words)


def promotional_words(text: str) -> tuple[str, ...]:
    """The promotional words in ``text``, as written there, in order, each once.

    Whole words only, compared word by word (no pattern is built from the lists: `re`
    runs only fixed patterns in pageflows, see tests/unit/test_layers.py).
    """
    plain = _PLACEHOLDER.sub(" ", unicodedata.normalize("NFC", text))
    words = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(plain)]
    hits: list[tuple[int, str]] = []
    covered = 0  # words up to here belong to a phrase already found
    for i, (begin, _, _) in enumerate(words):
        folded = tuple(w for _, _, w in words[i : i + 4])
        for phrase in _PHRASES if i >= covered else ():
            if folded[: len(phrase)] == phrase:
                covered = i + len(phrase)
                hits.append((begin, plain[begin : words[covered - 1][1]]))
                break
    for match in _PERCENT_OFF.finditer(plain):
        hits.append((match.start(), match.group()))
    for word in _THAI:
        at = plain.find(word)
        if at >= 0:
            hits.append((at, word))
    found: list[str] = []
    for _, word in sorted(hits):
        if word.casefold() not in (f.casefold() for f in found):
            found.append(word)
    return tuple(found)
