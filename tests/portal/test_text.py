"""English articles before names the portal inserts in sentences (product types, image formats)."""
import pytest

from portal.text import type_noun, with_article


@pytest.mark.parametrize(("phrase", "expected"), [
    ("email hosting", "an email hosting"), ("VoIP", "a VoIP"), ("other", "an other"), ("mail", "a mail"),
    ("SVG", "an SVG"), ("HTML", "an HTML"), ("PNG", "a PNG"), ("WEBP", "a WEBP"), ("MPO", "an MPO"),
    ("user", "a user"), ("unique", "a unique"), ("umbrella", "an umbrella"), ("hour", "an hour"),
    ("house", "a house"), ("one-off", "a one-off"), ("", "a "),
])
def test_the_article_follows_the_first_sound(phrase, expected):
    assert with_article(phrase) == expected


@pytest.mark.parametrize(("label", "noun"), [("Email hosting", "email hosting"), ("VoIP", "VoIP"), ("Other", "other")])
def test_a_type_label_is_lower_cased_inside_a_sentence_unless_it_is_a_name_with_capitals(label, noun):
    assert type_noun(label) == noun
