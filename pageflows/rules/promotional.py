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
_PERCENT_OFF = re.compile(r"\d+\s?%\s?off\b", re.IGNORECASE)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _pattern(words: set[str]) -> re.Pattern[str]:
    spaced = sorted((w for w in words if w != "% off"), key=len, reverse=True)
    alternatives = [r"\s+".join(map(re.escape, w.split())) for w in spaced]
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])")


_SPACED = _pattern({_fold(w) for words in WORDS.values() for w in words})
_UNSPACED = re.compile("|".join(re.escape(w) for ws in UNSPACED.values() for w in ws))


def promotional_words(text: str) -> tuple[str, ...]:
    """The promotional words in ``text``, as written there, in order, each once."""
    plain = _PLACEHOLDER.sub(" ", unicodedata.normalize("NFC", text))
    folded = plain.casefold()
    hits: list[tuple[int, str]] = []
    # Where casefold kept the offsets (nearly always), quote the text as written.
    source = plain if len(folded) == len(plain) else folded
    for pattern in (_SPACED, _UNSPACED, _PERCENT_OFF):
        for match in pattern.finditer(folded):
            hits.append((match.start(), source[match.start() : match.end()]))
    found: list[str] = []
    for _, word in sorted(hits):
        if word.casefold() not in (f.casefold() for f in found):
            found.append(word)
    return tuple(found)
