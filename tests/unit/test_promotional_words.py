"""Promotional words per language: what a tagged or utility message must not read like."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.rules.promotional import NOT_PROMOTIONAL, UNSPACED, WORDS, promotional_words


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


# ------------------------------------------------------------------ per language


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # English: plurals, phrases (longest named), numbers, cross-sells
        ("Check out our promotions and special offers", ("promotions", "special offers")),
        ("Use promo-code SPRING", ("promo-code",)),
        ("Buy 1 get 1 free, or 2 for 1 on tees", ("Buy 1 get 1", "2 for 1")),
        ("Buy 1 take 1 ngayon!", ("Buy 1 take 1",)),
        ("$10 off your next order, 12.5% off shoes", ("$10 off", "12.5% off")),
        ("Save up to 40% this weekend", ("Save up to 40%",)),
        ("Your order shipped! You may also like our socks", ("You may also like",)),
        ("Your discount code expired", ("discount code",)),  # still a deal: a warning
        # Spanish: accents optional, 2x1, liquidación only as a sale
        ("Liquidacion total, cupon de bienvenida", ("Liquidacion total", "cupon")),
        ("20 % de descuento en promociones", ("descuento", "promociones")),
        ("Hoy 2x1 y envío gratis", ("2x1", "envío gratis")),
        ("¡Hot Sale en la tienda!", ("Hot Sale",)),
        # Portuguese
        ("Aproveite as promoções e o frete grátis", ("promoções", "frete grátis")),
        ("Leve 3 pague 2 na queima de estoque", ("Leve 3 pague 2", "queima de estoque")),
        # French
        ("Tout à -30% ce week-end", ("-30%",)),
        (
            "Profitez de 20 % de remise et de la livraison offerte",
            ("20 % de remise", "livraison offerte"),
        ),
        ("Offre spéciale : vente flash", ("Offre spéciale", "vente flash")),
        # German: compounds
        ("Sommerrabatt auf alle Schuhe, Gutscheine einlösen", ("Sommerrabatt", "Gutscheine")),
        ("Rabattcode: SOMMER, versandkostenfrei", ("Rabattcode", "versandkostenfrei")),
        ("Sonderangebote im Winterschlussverkauf", ("Sonderangebote", "Winterschlussverkauf")),
        ("Nur heute: Aktionspreis 9,99 €", ("Aktionspreis",)),
        # Italian
        ("Offerta lampo: prodotti scontati", ("Offerta lampo", "scontati")),
        ("Prendi 3 paghi 2, spedizione gratuita", ("Prendi 3 paghi 2", "spedizione gratuita")),
        # Dutch: compounds after korting
        ("Kortingscode en aanbiedingen", ("Kortingscode", "aanbiedingen")),
        ("1+1 gratis op alle sokken", ("1+1 gratis",)),
        # Indonesian, Malay
        ("Diskaun hebat dan penghantaran percuma", ("Diskaun", "penghantaran percuma")),
        ("Cuci gudang! Beli 1 gratis 1", ("Cuci gudang", "Beli 1 gratis 1")),
        # Vietnamese: with or without the accents
        ("Giam gia 50% hom nay, khuyen mai lon", ("Giam gia", "khuyen mai")),
        ("Mua 1 tặng 1, freeship toàn quốc", ("Mua 1 tặng 1", "freeship")),
        ("Ưu đãi: mã giảm giá ABC", ("Ưu đãi", "mã giảm giá")),
        # Thai: anywhere in the text
        ("ส่งฟรี ซื้อ 1 แถม 1", ("ส่งฟรี", "ซื้อ 1 แถม 1")),
        ("ใช้โค้ดส่วนลดวันนี้", ("โค้ดส่วนลด",)),  # the longer entry, named once
        # Tagalog
        ("May sale at libreng shipping", ("sale", "libreng shipping")),
        # styled letters and repeats
        ("𝗦𝗔𝗟𝗘 today", ("𝗦𝗔𝗟𝗘",)),
        ("Deal! deal! DEAL!", ("Deal",)),
    ],
)
def test_more_promotions_per_language(text: str, words: tuple[str, ...]) -> None:
    assert promotional_words(text) == words


@pytest.mark.parametrize(
    "text",
    [
        # English: the same words in updates
        "We'd like to offer you a full refund for the damaged item.",
        "Thanks for choosing us: we offer free returns within 30 days.",
        "Our team will deal with your request today.",
        "Your parcel is waiting for customs clearance.",
        "The sale of your item was completed.",
        "Your coupon payment of $12.50 was received.",
        "Your refund of $20.00 has been processed.",
        "A free of charge replacement is on its way.",
        # Spanish: "sale" leaves, "liquidación" of an account, job offers
        "Tu pedido sale hoy de nuestro almacén.",
        "El vuelo sale a las 9:00 desde la puerta B12.",
        "La liquidación de su cuenta está disponible.",
        "Gracias por tu interés en la oferta de empleo.",
        # Portuguese
        "Seu boleto foi pago. Obrigado!",
        "Sua consulta está confirmada para segunda-feira.",
        # French: "remise" is also a hand-over, "offre" a plan
        "La remise de votre colis est prévue demain.",
        "La remise en main propre est prévue à 14h.",
        "Votre offre mobile a été modifiée.",
        # German: "Aktion" is also an action, "Angebot" a quote, "reduziert" any reduction
        "Aktion erforderlich: bitte bestätigen Sie Ihre Adresse.",
        "Hier ist Ihr Angebot für die Reparatur.",
        "Ihr Datenvolumen wurde reduziert.",
        "Der Artikel ist leider ausverkauft.",
        # Italian: "sale" are rooms and salt, "offerta" a plan
        "Il volo parte dalle sale d'imbarco 3.",
        "Il corriere sale sul furgone alle 9.",
        "La tua offerta mobile è stata rinnovata.",
        # Dutch: verkorting is a shortening, uitverkocht sold out
        "Verkorting van de levertijd: je pakket komt morgen.",
        "Het artikel is uitverkocht.",
        # Indonesian, Vietnamese, Thai, Tagalog
        "Pesanan Anda sudah dikirim.",
        "Đơn hàng của bạn đã được giao.",
        "คำสั่งซื้อของคุณถูกจัดส่งแล้ว",
        "Naipadala na ang iyong order.",
        # what the contact does not read as words
        "Track it here: https://shop.example.com/sale/orders/42",
        "Questions? Write to deals@shop.example.com",
        "Hi {contact.deal}! {ref} {contact.sale|}",
        "Prices 10-20% higher than last year? No: your order total is unchanged.",
    ],
)
def test_updates_that_share_a_word_with_promotions(text: str) -> None:
    assert promotional_words(text) == ()


def test_a_placeholder_fallback_and_literal_braces_are_read() -> None:
    assert promotional_words("Hi {contact.first_name|deal hunter}") == ("deal",)
    assert promotional_words("Your {{SPRING SALE}} order shipped.") == ("SALE",)


def test_a_phrase_does_not_span_a_placeholder_or_a_sentence() -> None:
    assert promotional_words("promo {contact.x} code") == ("promo",)
    assert promotional_words("Great deal. With your order came a note.") == ("deal",)


def test_every_entry_reads_as_words() -> None:
    for tables in (WORDS, NOT_PROMOTIONAL, UNSPACED):
        for language, entries in tables.items():
            assert entries, language
            for entry in entries:
                assert entry == entry.lower().strip(), (language, entry)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_words_taken_from_it(text: str) -> None:
    for word in promotional_words(text):
        assert word and word == " ".join(word.split())
        first = word.split()[0]
        assert first in unicodedata.normalize("NFC", text)
