"""The sandbox as a visitor meets it: consent, demo content, the shop's cart, the custom rule."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from pages.models import CartPage, HomePage, NewsIndexPage
from wagtail.models import Page

from tests.factories import BROWSER_UA
from wagtail_segments.conf import segments_settings
from wagtail_segments.engine import SegmentSet
from wagtail_segments.visitor.profile import VisitorProfile
from wagtail_segments.visitor.stores import CookieStore

pytestmark = pytest.mark.usefixtures("sandbox_settings")
CONSENT = "cookie_consent"  # what the sandbox's settings name


@pytest.fixture
def newcomer(client, demo_site):
    """A visitor who has not answered the consent banner yet."""
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    client.defaults["HTTP_HOST"] = "localhost"
    return client


@pytest.fixture
def shopper(newcomer):
    """A visitor who clicked Accept: the banner's cookie says "1"."""
    newcomer.cookies[CONSENT] = "1"
    return newcomer


def profile_of(client):
    request = client.get("/").wsgi_request
    return CookieStore().load(request) or VisitorProfile()


def test_home_page_renders_for_an_anonymous_visitor(shopper):
    response = shopper.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Banking that keeps you afloat" in html
    for product in ("Checking account", "Savings", "Student account", "Retirement", "Investing"):
        assert product in html


@pytest.mark.parametrize(
    "path", ["/checking-account/", "/savings/", "/campus/", "/news/", "/cart/"]
)
def test_every_demo_section_is_served(shopper, path):
    assert shopper.get(path).status_code == 200


def test_load_demo_is_idempotent(demo_site):
    pages = Page.objects.count()
    call_command("load_demo", "--no-user", "--no-traffic", verbosity=0)
    assert Page.objects.count() == pages
    assert CartPage.objects.get().products.count() == 5


def add(client, name, action="add"):
    product = CartPage.objects.get().products.get(name=name)
    response = client.post("/cart/", {"product": product.pk, "action": action})
    assert response.status_code == 302


def in_small_cart(client):
    request = client.get("/").wsgi_request
    return "small-cart" in SegmentSet(request, profile_of(client))


def test_the_cart_total_moves_the_visitor_in_and_out_of_the_small_cart_segment(shopper):
    assert not in_small_cart(shopper)
    add(shopper, "Card holder")  # £8
    assert profile_of(shopper).attributes["cart_total"] == 8.0
    assert in_small_cart(shopper)
    add(shopper, "Safe deposit box")  # £98
    assert in_small_cart(shopper)
    add(shopper, "Piggy bank")  # £113: over £100
    assert profile_of(shopper).attributes["cart_total"] == 113.0
    assert not in_small_cart(shopper)
    add(shopper, "Piggy bank", action="remove")
    assert in_small_cart(shopper)
    html = shopper.get("/cart/").content.decode()
    assert "£98.00" in html


def test_the_cart_refuses_unknown_products(shopper):
    for product in ("9999", "not-a-number"):
        response = shopper.post("/cart/", {"product": product, "action": "add"})
        assert response.status_code == 400
        assert "Your cart was not changed" in response.content.decode()
    cart = CartPage.objects.get()
    lines, total = cart.cart(shopper.get("/cart/").wsgi_request)
    assert lines == [] and total == Decimal(0)


def test_product_pages_give_interest_points(shopper):
    shopper.get("/investing/")
    # 10 points from the page, 10 from its "investing" tag.
    assert profile_of(shopper).scores == {"investing": 20.0}


def test_load_demo_keeps_the_editors_work(demo_site):
    """``make run`` loads the demo on every start: what an editor changed stays changed."""
    from wagtail_segments.models import Segment

    home = HomePage.objects.get()
    stored = home.body.get_prep_value()
    stored[0]["value"]["variants"][0]["value"]["heading"] = "Edited by an editor"
    home.body = json.dumps(stored)
    home.save_revision().publish()
    investors = Segment.objects.get(slug="investors")
    investors.name = "Renamed by an editor"
    investors.save()
    news = NewsIndexPage.objects.get()
    news.title = "Press"
    news.save_revision().publish()
    Segment.objects.filter(slug="small-cart").delete()  # missing demo content comes back

    out = io.StringIO()
    call_command("load_demo", "--no-traffic", "--host", "0.0.0.0:8123", stdout=out)

    home = HomePage.objects.get()
    hero = home.body.get_prep_value()[0]["value"]
    assert hero["variants"][0]["value"]["heading"] == "Edited by an editor"
    assert Segment.objects.get(slug="investors").name == "Renamed by an editor"
    assert NewsIndexPage.objects.get().title == "Press"
    assert Segment.objects.filter(slug="small-cart").exists()
    assert "http://0.0.0.0:8123/admin/" in out.getvalue()


def test_the_sandbox_asks_for_consent_with_its_banner(newcomer):
    assert segments_settings.CONSENT_COOKIE == CONSENT
    html = newcomer.get("/").content.decode()
    assert f'data-consent="{CONSENT}"' in html
    assert 'aria-labelledby="consent-title"' in html
    assert '<button type="button" data-consent-choice="1">Accept</button>' in html
    assert '<button type="button" data-consent-choice="0">Decline</button>' in html
    assert "data-consent-open" in html  # "Cookie settings" in the footer
    assert "js/consent.js" in html


@pytest.mark.parametrize("choice", [None, "0"])
def test_before_consent_nothing_is_stored_and_the_campaign_still_counts(newcomer, choice):
    if choice is not None:
        newcomer.cookies[CONSENT] = choice  # declined
    response = newcomer.get("/", {"utm_campaign": "campus"})
    assert "Welcome, campus newcomer" in response.content.decode()  # request-time rule
    assert segments_settings.COOKIE_NAME not in response.cookies
    add(newcomer, "Card holder")
    assert segments_settings.COOKIE_NAME not in newcomer.cookies
    assert not in_small_cart(newcomer)  # the cart total is an attribute: it needs consent
    assert "Welcome, campus newcomer" not in newcomer.get("/").content.decode()


def test_after_accept_the_visit_is_remembered(shopper):
    shopper.get("/", {"utm_campaign": "campus"})
    assert "Welcome, campus newcomer" in shopper.get("/").content.decode()
    assert profile_of(shopper).utm == {"campaign": "campus"}


def test_the_demo_customers_are_people_with_their_segments(
    demo_site, admin_client, sandbox_settings
):
    from pages.management.commands.load_demo import Command

    from wagtail_segments.models import StoredProfile

    Command().load_customers()
    Command().load_customers()  # again: nothing new
    assert StoredProfile.objects.count() == 2
    people = admin_client.get("/admin/personalisation/people/").context["paginator"].object_list
    segments = {person.name: set(person.members_of) for person in people}
    assert segments == {
        "Sam Okafor": {"college-students", "checking-prospects"},
        "Ivy Marsh": {"investors", "checking-prospects"},
    }
