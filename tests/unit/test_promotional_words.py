"""Promotional words per language: what a tagged or utility message must not read like."""

from __future__ import annotations

import pytest

from pageflows.rules.promotional import promotional_words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Big SALE this weekend: 20% off everything", ("SALE", "20% off")),
        ("Use the coupon WELCOME for free shipping", ("coupon", "free shipping")),
        ("¡Aprovecha nuestras ofertas y el cupón!", ("ofertas", "cupón")),
        ("Aproveite o desconto com o cupom", ("desconto", "cupom")),
        ("Soldes : code promo ÉTÉ", ("Soldes", "code promo")),
        ("Nur heute: 30 % Rabatt mit Gutschein", ("Rabatt", "Gutschein")),
        ("Saldi! Sconto del 20%", ("Saldi", "Sconto")),
        ("Grote uitverkoop met korting", ("uitverkoop", "korting")),
        ("Ada diskon dan gratis ongkir", ("diskon", "gratis ongkir")),
        ("Chương trình khuyến mãi giảm giá", ("khuyến mãi", "giảm giá")),
        ("โปรโมชั่นลดราคาวันนี้", ("โปรโมชั่น", "ลดราคา")),
        ("May diskwento ngayon", ("diskwento",)),
    ],
)
def test_promotions_are_found_in_each_language(text: str, words: tuple[str, ...]) -> None:
    assert promotional_words(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Your order A-1042 shipped today.",
        "We offered you a call: tell us when suits you.",  # offered is not an offer
        "Your Salesforce ticket is resolved.",  # sale inside another word
        "Your appointment is confirmed for Monday.",
        "Hi {contact.deal_name}, your parcel left the warehouse.",  # a placeholder, not text
    ],
)
def test_updates_read_as_updates(text: str) -> None:
    assert promotional_words(text) == ()
