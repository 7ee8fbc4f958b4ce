"""Tax rules: a region's rule replaces the country's at its level; an overlapping rule is refused by the model,
the staff page and the database; the rules of a batch of clients are read with one query; every change is
audited."""
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from billing.models import TaxRule
from billing.services.tax_rules import tax_rule_save
from billing.tax.treatment import RuleBook
from portal.activity import Actor
from portal.models import ActivityLog
from tests.billing.tax.conftest import rule
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_region_rule_replaces_the_country_rule_of_its_level():
    rule("US", "0.000", name="Sales tax")
    rule("US", "7.250", name="Sales tax", region="CA")
    book = RuleBook.for_countries({"US"})
    assert [lvl.rate for lvl in book.levels("US", " ca ")] == [D("7.250")]
    assert [lvl.rate for lvl in book.levels("US", "NY")] == [D("0.000")]
    assert book.levels("FR") == []


def test_overlapping_rule_is_refused_with_the_reason():
    rule("DE", "19.000")
    with pytest.raises(ValidationError, match="overlaps 'DE level 1: VAT 19%'"):
        tax_rule_save(rule=TaxRule(country="de", level=1, name="MwSt", rate=D("16")), actor=Actor.system("test"))
    rule("CA", "7.000", name="PST", level=2, region="British Columbia")
    with pytest.raises(ValidationError, match="already has a level 2 rule"):
        TaxRule(country="CA", region="british  columbia", level=2, name="PST", rate=D("8")).full_clean()
    TaxRule(country="CA", region="British Columbia", level=1, name="GST", rate=D("5")).full_clean()  # another level


def test_database_refuses_an_overlap_that_skips_the_check():
    rule("DE", "19.000")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRule.objects.create(country="DE", region="", level=1, name="again", rate=D("7"))


def test_only_level_2_compounds():
    with pytest.raises(ValidationError, match="Only a level 2 rule can compound"):
        TaxRule(country="CA", level=1, name="GST", rate=D("5"), compound=True).full_clean()


def test_staff_page_refuses_an_overlap_and_audits_changes(client, staff_user):
    client.force_login(staff_user)
    url = reverse("admin:billing_taxrule_add")
    data = {"country": "FR", "region": "", "level": 1, "name": "TVA", "rate": "20.000"}
    assert client.post(url, data).status_code == 302
    assert ActivityLog.objects.filter(action="tax_rule.create").count() == 1
    again = client.post(url, {**data, "rate": "5.500"})
    assert again.status_code == 200 and b"overlaps" in again.content
    assert TaxRule.objects.count() == 1


def test_rules_of_a_batch_are_read_once(django_assert_num_queries):
    for country, rate in (("DE", "19"), ("FR", "20"), ("NL", "21")):
        rule(country, rate)
    clients = [ClientFactory.build(country=c) for c in ("DE", "FR", "NL", "DE", "IT") * 200]
    with django_assert_num_queries(1):
        book = RuleBook.for_clients(clients)
        rates = [tuple(lvl.rate for lvl in book.levels(c.country, c.state)) for c in clients]
    assert rates[:5] == [(D("19.000"),), (D("20.000"),), (D("21.000"),), (D("19.000"),), ()]
