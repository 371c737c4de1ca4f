"""Load Harbour Bank's demo content.

Safe to run again (``make run`` runs it on every start): it creates what is
missing and never changes what exists, so an editor's work survives.
"""

import datetime
from datetime import timedelta
from decimal import Decimal

import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import Client
from django.utils import timezone
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from pages.management.commands.simulate_traffic import BROWSER_UA
from pages.models import CartPage, HomePage, LandingPage, NewsIndexPage, NewsPage, ProductPage
from wagtail_segments.conf import segments_settings
from wagtail_segments.models import (
    Goal,
    Interest,
    PageExperience,
    PageInterest,
    Placement,
    Segment,
    SiteDay,
)
from wagtail_segments.stats.recording import recorder

DEMO_USER = ("admin", "changeme")
# Logged-in customers whose profiles the user store keeps, so People has someone to show:
# username, first and last name, and their visits (days ago, pages, an event or "").
CUSTOMERS = [
    (
        "sam.student",
        "Sam",
        "Okafor",
        [
            (12, ["/campus/?utm_campaign=campus&utm_source=flyer", "/student-account/"], ""),
            (4, ["/", "/savings/", "/student-account/"], "brochure-student-account"),
            (0, ["/cart/"], ""),
        ],
    ),
    (
        "ivy.investor",
        "Ivy",
        "Marsh",
        [
            (9, ["/investing/?utm_campaign=isa-season&utm_source=newsletter", "/retirement/"], ""),
            (3, ["/news/", "/investing/"], "brochure-investing"),
            (0, ["/investing/", "/"], ""),
        ],
    ),
]
DEFAULT_HOST = "127.0.0.1:8000"

PRODUCTS = [
    {
        "slug": "checking-account",
        "title": "Checking account",
        "summary": "Everyday banking with a contactless card and no monthly fee.",
        "headline_rate": "£0 monthly fee",
        "tags": ["everyday"],
        "interest": ("everyday-banking", 10),
    },
    {
        "slug": "savings",
        "title": "Savings",
        "summary": "Put money aside and watch it grow, with instant access.",
        "headline_rate": "4.10% AER variable",
        "tags": ["saving"],
        "interest": ("saving", 10),
    },
    {
        "slug": "student-account",
        "title": "Student account",
        "summary": "An interest-free overdraft and a railcard for students.",
        "headline_rate": "£2,000 interest-free overdraft",
        "tags": ["students", "everyday"],
        "interest": ("students", 15),
    },
    {
        "slug": "retirement",
        "title": "Retirement",
        "summary": "A pension that follows you from job to job.",
        "headline_rate": "0.45% annual fee",
        "tags": ["retirement", "investing"],
        "interest": ("retirement", 15),
    },
    {
        "slug": "investing",
        "title": "Investing",
        "summary": "Ready-made portfolios from £25 a month.",
        "headline_rate": "From £25 a month",
        "tags": ["investing"],
        "interest": ("investing", 10),
    },
]

INTERESTS = [
    # slug, name, group, extra scoring sources
    ("everyday-banking", "Everyday banking", "Persona", {}),
    ("saving", "Saving", "Persona", {"page_tags": "saving"}),
    (
        "investing",
        "Investing",
        "Persona",
        {"page_tags": "investing", "utm_campaigns": "isa-season"},
    ),
    ("retirement", "Retirement", "Persona", {"page_tags": "retirement"}),
    ("students", "Students", "Persona", {"page_tags": "students", "utm_campaigns": "campus"}),
    ("ready-to-open", "Ready to open", "Journey stage", {}),
]

SEGMENTS = [
    {
        "slug": "college-students",
        "name": "College students",
        "description": "Arrived through the campus promotion flyers.",
        "priority": 30,
        "sticky_days": 30,
        "rules": [("utm", {"parameter": "campaign", "value": "campus"})],
    },
    {
        "slug": "investors",
        "name": "Investors",
        "description": "Investing is clearly their top interest.",
        "priority": 20,
        "holdout_percent": 20,
        "rules": [
            ("interest_score", {"interest": "investing", "operator": "gte", "score": 20}),
            ("top_interest", {"interest": "investing", "group": "Persona", "min_lead": 5}),
        ],
    },
    {
        "slug": "checking-prospects",
        "name": "Checking-account prospects",
        "description": "Returning visitors without a Harbour checking account.",
        "priority": 10,
        "rules": [
            ("visit_count", {"operator": "gte", "count": 2}),
            (
                "attribute",
                {"key": "has_checking_account", "operator": "eq", "value": "true", "negate": True},
            ),
        ],
    },
    {
        "slug": "small-cart",
        "name": "Cart under £100",
        "description": "Something in the cart, but less than the free-delivery threshold.",
        "priority": 5,
        "rules": [
            ("attribute", {"key": "cart_total", "operator": "gt", "value": "0"}),
            ("attribute", {"key": "cart_total", "operator": "lt", "value": "100"}),
        ],
    },
]

CART_PRODUCTS = [
    ("Card holder", "Leather holder for two cards.", "8.00"),
    ("Travel money pack", "Pre-loaded travel card with €50.", "55.00"),
    ("Piggy bank", "Ceramic, harbour blue.", "15.00"),
    ("Budgeting workshop", "Two-hour evening class in branch.", "25.00"),
    ("Safe deposit box", "A year of a small box in our vault.", "90.00"),
]

NEWS = [
    (datetime.date(2026, 9, 1), "Savings rate up to 4.10%", "Our instant-access rate rises again."),
    (
        datetime.date(2026, 10, 6),
        "Harbour Bank on campus",
        "Find us at freshers' fairs this autumn.",
    ),
    (
        datetime.date(2026, 11, 2),
        "New ready-made portfolios",
        "Three risk levels, from £25 a month.",
    ),
]


def hero(heading, text, button_text="", button_page=None, theme="harbour"):
    """A hero block's value."""
    return {
        "heading": heading,
        "text": text,
        "button_text": button_text,
        "button_page": button_page,
        "theme": theme,
    }


def banner(heading, text, page=None):
    return {
        "heading": heading,
        "text": f"<p>{text}</p>",
        "link_page": page,
        "link_url": "",
        "link_text": f"See {page.title.lower()}" if page else "",
    }


def personalised_hero(products):
    """The home page hero: a default and a variant for each demo audience."""

    def variant(slug, *args, **kwargs):
        return {"segments": [slug], "match": "any", "hide": False, "value": hero(*args, **kwargs)}

    return (
        "personalised_hero",
        {
            "default": hero(
                "Banking that keeps you afloat",
                "Accounts, savings and investments from a bank that answers the phone.",
                "Open a checking account",
                products["checking-account"],
            ),
            "variants": [
                variant(
                    "college-students",
                    "Welcome, campus newcomer",
                    "A student account with a £2,000 interest-free overdraft and a railcard on us.",
                    "Open your student account",
                    products["student-account"],
                    theme="sunrise",
                ),
                variant(
                    "investors",
                    "Your money, working harder",
                    "Ready-made portfolios from £25 a month, with no platform fee in year one.",
                    "Explore portfolios",
                    products["investing"],
                    theme="forest",
                ),
                variant(
                    "checking-prospects",
                    "Still banking elsewhere?",
                    "Switch to Harbour in seven working days; we move your payments for you.",
                    "Switch your account",
                    products["checking-account"],
                ),
            ],
        },
    )


class Command(BaseCommand):
    help = "Create or update Harbour Bank's demo pages, interests and segments."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-user", action="store_true", help="Do not create the demo admin user."
        )
        parser.add_argument(
            "--no-traffic",
            action="store_true",
            help="Do not simulate visitors for the reports (on a first load), nor the demo "
            "customers' visits.",
        )
        parser.add_argument(
            "--host",
            default=DEFAULT_HOST,
            help="The address the site is served at, for the message (make run's HOST).",
        )

    @transaction.atomic
    def handle(self, *args, no_user=False, no_traffic=False, host=DEFAULT_HOST, **options):
        interests = self.load_interests()
        self.load_segments()
        home = self.load_home()
        products = {spec["slug"]: self.load_product(home, spec, interests) for spec in PRODUCTS}
        self.load_landing_page(home, products)
        self.load_student_savings(home, products)
        self.load_news(home)
        cart = self.load_cart(home)
        self.load_placement(products)
        if not home.body:
            self.load_home_body(home, products, cart)
        self.load_goals(products, cart)
        if not no_traffic and not SiteDay.objects.exists():
            call_command("simulate_traffic", stdout=self.stdout)
        if not no_traffic:
            self.load_customers()
        if not no_user:
            self.load_user(host)
        self.stdout.write(self.style.SUCCESS("Harbour Bank demo content is ready."))

    def load_home_body(self, home, products, cart):
        home.body = [
            personalised_hero(products),
            (
                "banner",
                {
                    "text": "Spend £100 in our shop and delivery is free.",
                    "link_text": "Back to your cart",
                    "link_page": cart,
                    "audience": {"show_to": ["small-cart"], "hide_from": []},
                },
            ),
            (
                "paragraph",
                "<p>Harbour Bank has served the coast since 1872. "
                "Pick an account below, or ask us in branch.</p>",
            ),
        ]
        home.save_revision().publish()

    def load_interests(self):
        interests = {}
        for slug, name, group, extra in INTERESTS:
            interests[slug], _created = Interest.objects.get_or_create(
                slug=slug, defaults={"name": name, "group": group, **extra}
            )
        return interests

    def child(self, parent, model, slug, **fields):
        """``(page, created)``: the child page ``slug`` of ``parent``, created when missing."""
        page = model.objects.child_of(parent).filter(slug=slug).first()
        if page is not None:
            return page, False
        page = model(slug=slug, **fields)
        parent.add_child(instance=page)
        return page, True

    def load_home(self):
        # Wagtail's migrations create the locale and the root; a flushed database has neither.
        Locale.objects.get_or_create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
        root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
        home = HomePage.objects.first()
        if home is not None:
            return home
        home = HomePage(title="Harbour Bank", slug="harbour-bank", show_in_menus=False)
        root.add_child(instance=home)
        home.save_revision().publish()
        site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
        site.hostname, site.port, site.site_name, site.root_page = (
            "localhost",
            80,
            "Harbour Bank",
            home,
        )
        site.save()
        # Wagtail's placeholder "Welcome" page is no use once the bank is the site.
        Page.objects.filter(depth=2, content_type__model="page").exclude(pk=home.pk).delete()
        return home

    def load_product(self, home, spec, interests):
        page, created = self.child(
            home,
            ProductPage,
            spec["slug"],
            title=spec["title"],
            summary=spec["summary"],
            headline_rate=spec["headline_rate"],
            show_in_menus=True,
            body=[("paragraph", f"<p>{spec['summary']} Open one online in ten minutes.</p>")],
        )
        if not created:
            return page
        page.tags.set(spec["tags"])
        slug, points = spec["interest"]
        page.segment_interests = [PageInterest(interest=interests[slug], points=points)]
        page.save_revision().publish()
        return page

    def load_landing_page(self, home, products):
        page, created = self.child(
            home,
            LandingPage,
            "campus",
            title="Campus promotion",
            show_in_menus=False,
            intro="Show your student card at any branch and get a £50 welcome bonus.",
            body=[
                (
                    "hero",
                    hero(
                        "Starting college?",
                        "No monthly fees, an interest-free overdraft and a railcard on us.",
                        "See the student account",
                        products["student-account"],
                        theme="sunrise",
                    ),
                ),
            ],
        )
        if created:
            page.save_revision().publish()

    def load_student_savings(self, home, products):
        """College students asking for the savings page get this page's content instead."""
        page, created = self.child(
            home,
            LandingPage,
            "student-savings",
            title="Savings for students",
            show_in_menus=False,
            intro="Put your loan instalments to work between terms.",
            body=[
                (
                    "hero",
                    hero(
                        "Saver for students: 4.1 % on your first £2,000",
                        "Pay in and take out as often as you like; no minimum balance.",
                        "See the student account",
                        products["student-account"],
                        theme="sunrise",
                    ),
                ),
            ],
        )
        if not created:
            return
        page.save_revision().publish()
        savings = products["savings"]
        savings.segment_experiences = [
            PageExperience(
                segment=Segment.objects.get(slug="college-students"), alternate_page=page
            )
        ]
        savings.save_revision().publish()

    def load_placement(self, products):
        """A banner on every product page, personalised for students and investors."""
        placement, created = Placement.objects.get_or_create(
            name="Product page banner",
            defaults={
                "slot": "banner",
                "content": [
                    (
                        "banner",
                        {
                            "default": banner(
                                "Questions? Talk to us.",
                                "Book a call with an adviser, any weekday until 8 pm.",
                            ),
                            "variants": [
                                {
                                    "segments": ["college-students"],
                                    "match": "any",
                                    "hide": False,
                                    "value": banner(
                                        "Students get a £50 welcome bonus",
                                        "Open a student account this term.",
                                        products["student-account"],
                                    ),
                                },
                                {
                                    "segments": ["investors"],
                                    "match": "any",
                                    "hide": False,
                                    "value": banner(
                                        "Free portfolio review",
                                        "Half an hour with an adviser, on us.",
                                        products["investing"],
                                    ),
                                },
                            ],
                        },
                    )
                ],
            },
        )
        if created:
            placement.page_types.set([ContentType.objects.get_for_model(ProductPage)])
            placement.save()

    def load_news(self, home):
        index, created = self.child(
            home,
            NewsIndexPage,
            "news",
            title="News",
            show_in_menus=True,
            intro="What's new at Harbour Bank.",
        )
        if created:
            index.save_revision().publish()
        for date, title, summary in NEWS:
            article, created = self.child(
                index,
                NewsPage,
                date.strftime("%Y-%m-") + title.split()[0].lower(),
                title=title,
                date=date,
                summary=summary,
                body=[("paragraph", f"<p>{summary}</p>")],
            )
            if created:
                article.save_revision().publish()

    def load_cart(self, home):
        cart, created = self.child(
            home,
            CartPage,
            "cart",
            title="Shop",
            show_in_menus=True,
            intro="Extras for Harbour Bank customers. Free delivery from £100.",
        )
        if created:
            cart.products = [
                cart.products.model(name=name, description=description, price=Decimal(price))
                for name, description, price in CART_PRODUCTS
            ]
            cart.save_revision().publish()
        return cart

    def load_goals(self, products, cart):
        for name, fields in [
            ("Asked for the investing brochure", {"kind": "event", "event": "brochure-investing"}),
            (
                "Asked for the student brochure",
                {"kind": "event", "event": "brochure-student-account"},
            ),
            ("Visited the shop", {"kind": "page", "page": cart}),
        ]:
            Goal.objects.get_or_create(name=name, defaults=fields)

    def load_segments(self):
        for spec in SEGMENTS:
            spec = dict(spec)
            Segment.objects.get_or_create(slug=spec.pop("slug"), defaults=spec)

    def load_customers(self):
        """Sam and Ivy, logged in, browse the site over the last days (once: when missing)."""
        today = timezone.now().replace(minute=0, second=0, microsecond=0)
        autostart, recorder.autostart = recorder.autostart, False
        try:
            for username, first_name, last_name, visits in CUSTOMERS:
                user, created = get_user_model().objects.get_or_create(
                    username=username,
                    defaults={
                        "first_name": first_name,
                        "last_name": last_name,
                        "email": f"{username}@example.com",
                    },
                )
                if not created:
                    continue
                user.set_unusable_password()  # a demo customer: nobody logs in as them
                user.save()
                client = Client(HTTP_USER_AGENT=BROWSER_UA, HTTP_HOST="localhost")
                client.force_login(user)
                if segments_settings.CONSENT_COOKIE:  # they clicked Accept in the banner
                    client.cookies[segments_settings.CONSENT_COOKIE] = "1"
                for days_ago, paths, event in visits:
                    with time_machine.travel(today - timedelta(days=days_ago), tick=False):
                        for path in paths:
                            client.get(path)
                        if event:
                            client.post(
                                "/personalisation/event/",
                                {"event": event},
                                content_type="application/json",
                            )
                self.stdout.write(f"Demo customer {first_name} {last_name} ({username}) browsed.")
            recorder.flush()
        finally:
            recorder.autostart = autostart

    def load_user(self, host):
        username, password = DEMO_USER
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"is_superuser": True, "is_staff": True, "email": "admin@example.com"},
        )
        if created:
            user.set_password(password)
            user.save()
        self.stdout.write(
            f"Demo admin (demo only): http://{host}/admin/  user {username}  "
            f"password {password if created else '(unchanged)'}"
        )
