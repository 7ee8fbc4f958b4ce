"""Number normalisation, shared/voip-rating.md step 2, including every listed `phonenumbers` trap."""
import pytest

from provisioning.telephony.numbers import E164, INTERNAL, INVALID, Normalised, Normaliser, clean_number

US = Normaliser("US", local_npa=["212"])


@pytest.mark.parametrize(
    "raw", ["2125551234", "12125551234", "+1 (212) 555-1234", "tel:+1-212-555-1234", "01112125551234",
            "sip:+12125551234@gw.example.net", "212.555.1234", "5551234"],
)
def test_every_us_form_gives_the_same_e164(raw):
    assert US(raw) == Normalised(E164, "12125551234")


def test_idd_without_the_one_is_an_invalid_moroccan_number():
    result = US("0112125551234")
    assert result.kind == INVALID and "0112125551234" in result.reason


def test_idd_depends_on_the_region():
    assert Normaliser("AU")("0061291234567").kind == INVALID  # AU dials 0011, not 00
    assert Normaliser("AU")("001161291234567").e164 == "61291234567"
    assert Normaliser("DE")("00442083661177").e164 == "442083661177"


def test_seven_digits_get_the_local_area_code_first():
    assert US("5551234").e164 == "12125551234"
    assert Normaliser("US")("5551234").kind == INVALID  # possible, not valid: no NPA to prepend
    assert "local area code" in Normaliser("US")("5551234").reason


def test_the_first_local_area_code_giving_a_valid_number_wins():
    assert Normaliser("US", local_npa=["212", "310"])("5550123").e164 == "12125550123"


@pytest.mark.parametrize("raw, why", [("911", "emergency"), ("112", "emergency"), ("1001", "extension"),
                                      ("*97", "feature code"), ("#31#2125551234", "feature code"),
                                      ("sip:1001@pbx.example.net", "extension")])
def test_internal_numbers_are_classified_and_never_looked_up(raw, why):
    result = US(raw)
    assert result.kind == INTERNAL and why in result.reason


def test_emergency_numbers_follow_the_region():
    assert Normaliser("GB")("999").kind == INTERNAL
    assert "emergency" in Normaliser("GB")("999").reason


def test_country_code_one_spans_regions():
    assert US("6135550123").e164 == "16135550123"  # Ottawa, region CA, still country code 1


def test_numbers_dialled_without_idd_are_rejected_not_guessed():
    assert US("442083661177").kind == INVALID  # would be +1 442083661177


def test_international_numbers():
    assert US("+44 20 8366 1177").e164 == "442083661177"
    assert US("011442083661177").e164 == "442083661177"
    assert Normaliser("GB")("020 8366 1177").e164 == "442083661177"  # trunk prefix of the region


def test_possible_number_fallback_is_configurable():
    # +1 555 123 4567: a possible NANP number that is not valid (555 is not an assigned area code).
    assert Normaliser("US")("5551234567").kind == INVALID
    assert Normaliser("US", accept_possible=True)("5551234567").e164 == "15551234567"


@pytest.mark.parametrize("raw", ["", "   ", "alice", "+", "sip:bob@example.net"])
def test_garbage_is_invalid(raw):
    assert US(raw).kind == INVALID


def test_clean_number_strips_schemes_hosts_parameters_and_punctuation():
    assert clean_number(" tel:+1-212-555-1234;phone-context=example.com ") == "+12125551234"
    assert clean_number("SIP:(212) 555.1234@host") == "2125551234"


def test_extension_length_is_configurable():
    assert Normaliser("GB", extension_digits=4)("123456").kind == INVALID
    assert Normaliser("GB", extension_digits=6)("123456").kind == INTERNAL


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="unknown region"):
        Normaliser("XX")
    with pytest.raises(ValueError, match="NANP area code"):
        Normaliser("US", local_npa=["12"])
    with pytest.raises(ValueError, match="NANP regions"):
        Normaliser("GB", local_npa=["212"])


def test_results_are_cached_per_raw_string():
    normaliser = Normaliser("US")
    assert normaliser("2125551234") is normaliser("2125551234")
