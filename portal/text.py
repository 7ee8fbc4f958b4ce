"""Small helpers for English sentences built from names (product types, file formats)."""
import re

# Initialisms read letter by letter whose first letter sounds like a vowel: "an SVG", "an HTML page", "an MP3".
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")
# Words that start with a vowel letter but a consonant sound: "a user", "a unique", "a one-off".
_CONSONANT_SOUND = re.compile(r"^(u[bcfhjklmnpqrstvwxyz][aeiouy]|uni|use|usu|ute|one\b|once\b|eu)", re.IGNORECASE)
# Words that start with a silent h: "an hour", "an honest".
_SILENT_H = re.compile(r"^(hour|honou?r|honest|heir)", re.IGNORECASE)


def article(phrase):
    """"a" or "an" for `phrase` by its first sound (a heuristic good for the portal's own names)."""
    word = phrase.strip().split()[0] if phrase.strip() else ""
    if not word:
        return "a"
    letters = re.sub(r"[^A-Za-z]", "", word)
    if len(letters) > 1 and letters.isupper():  # an initialism: SVG, HTML
        return "an" if letters[0] in _VOWEL_SOUND_LETTERS else "a"
    if _SILENT_H.match(word):
        return "an"
    if word[0].lower() in "aeiou" and not _CONSONANT_SOUND.match(word):
        return "an"
    return "a"


def with_article(phrase):
    """"an email hosting", "a VoIP", "an SVG"."""
    return f"{article(phrase)} {phrase}"


def type_noun(label):
    """A choice label used inside a sentence: lower-cased, except a name with capitals after its first letter
    ("VoIP" stays "VoIP", "Email hosting" becomes "email hosting")."""
    return label if any(ch.isupper() for ch in label[1:]) else label.lower()
