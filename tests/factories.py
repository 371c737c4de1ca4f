"""Test data builders, and a spare port for the servers some tests start."""

import socket

import factory
import wagtail_factories
from django.conf import settings
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail import blocks
from wagtail.contrib.typed_table_block.blocks import TypedTableBlock
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed
from wagtail.images.blocks import ImageBlock
from wagtail.models import Locale, Page, Site
from wagtail.test.utils.form_data import nested_form_data, querydict_from_html, streamfield

from tests.testapp.models import Advert, EveryBlockPage, PersonalisedPage, PlainPage
from wagtail_segments.models import Goal, Interest, Placement, Segment
from wagtail_segments.visitor.profile import VisitorProfile

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
CAMPUS = "/campus/?utm_campaign=campus&utm_source=flyer"  # the demo's campus promotion link
COCKPIT = "data-segments-cockpit"  # the attribute of the cockpit overlay in a page
UNREACHABLE_CACHES = {  # the package's cache where nothing listens
    **settings.CACHES,
    "segments": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}
COUNTRIES = ["FR", "DE", "GB", "US"]  # a segment each on the offer page
PAGE_CACHE = "pages"  # the alias of the page cache in front, in the caching tests
CACHES = {
    **settings.CACHES,
    PAGE_CACHE: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pages"},
}
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def visitor_client(user=None, **headers):
    """A test client that browses as a person's desktop browser would (logged in as ``user``)."""
    client = Client(**{"HTTP_USER_AGENT": BROWSER_UA, "HTTP_HOST": "localhost", **headers})
    if user is not None:
        client.force_login(user)
    return client


def spare_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def name_from(slug):
    """ "college-students" -> "College students": the name a factory gives a slug."""
    return slug.replace("-", " ").capitalize()


class SegmentFactory(factory.django.DjangoModelFactory):
    """A segment with no rules (everyone's in it), named after its slug unless told."""

    slug = factory.Sequence(lambda number: f"segment-{number}")
    name = factory.LazyAttribute(lambda segment: name_from(segment.slug))

    class Meta:
        model = Segment


class InterestFactory(factory.django.DjangoModelFactory):
    slug = factory.Sequence(lambda number: f"interest-{number}")
    name = factory.LazyAttribute(lambda interest: name_from(interest.slug))

    class Meta:
        model = Interest


class GoalFactory(factory.django.DjangoModelFactory):
    """A goal reached by an event (``track_event``), named after it unless told."""

    kind = Goal.KIND_EVENT
    event = factory.Sequence(lambda number: f"goal-{number}")
    name = factory.LazyAttribute(lambda goal: name_from(goal.event or goal.kind))

    class Meta:
        model = Goal


class PlacementFactory(factory.django.DjangoModelFactory):
    """A placement for the slot ``slot``, named after it unless told."""

    slot = factory.Sequence(lambda number: f"slot-{number}")
    name = factory.LazyAttribute(lambda placement: name_from(placement.slot))

    class Meta:
        model = Placement


def profile_with(**fields):
    """A ``VisitorProfile`` with ``fields`` set (``pageviews=3``, ``scores={...}``)."""
    profile = VisitorProfile()
    for name, value in fields.items():
        setattr(profile, name, value)
    return profile


class PlainPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = PlainPage


def tree_root():
    """Wagtail's root page, made with the default locale where no migration made them.

    A transactional test flushes what Wagtail's migrations created, and a database
    built without migrations never had it.
    """
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
    )
    return Page.get_first_root_node() or Page.add_root(instance=Page(title="Root"))


def make_site_with_pages(*slugs):
    """A default site whose root page has the given children; returns {slug: page}."""
    root = PlainPageFactory(parent=tree_root(), title="Root", slug="root")
    Site.objects.all().delete()
    Site.objects.create(hostname="testserver", root_page=root, is_default_site=True)
    pages = {"root": root}
    for slug in slugs:
        pages[slug] = PlainPageFactory(parent=root, title=slug.title(), slug=slug)
    return pages


CAMPUS_RULES = [
    ("utm", {"parameter": "campaign", "value": "campus", "negate": ""}),
    ("pageviews", {"operator": "gte", "count": "3", "negate": "on"}),
]


def segment_form(rules=CAMPUS_RULES, block_ids=(), **fields):
    """The segment editor's form as a browser posts it; ``block_ids`` keep stored rule ids."""
    stream = streamfield(rules)
    for index, block_id in enumerate(block_ids):
        stream[str(index)]["id"] = block_id
    return nested_form_data(
        {
            "name": "Campus students",
            "slug": "campus-students",
            "description": "",
            "match": "all",
            "enabled": "on",
            "priority": "0",
            "active_from": "",
            "active_until": "",
            "sticky_days": "0",
            "holdout_percent": "0",
            **fields,
            "rules": stream,
        }
    )


# -- a page holding every block Wagtail ships, and ours -----------------------------------------

VIDEO = "https://www.youtube.com/watch?v=harbour"

# Where the body of ``make_every_block_page`` uses each segment; "in-hidden" sits in a
# hidden variant, never shown.
EVERY_BLOCK_SLUGS = {
    "in-table",
    "in-citation",
    "in-list",
    "in-section",
    "section-variant",
    "in-nested-stream",
    "image-variant",
    "in-default",
    "note-variant",
    "in-variant",
    "hiding",
    "top",
}


def note(text, show_to=(), hide_from=()):
    return {"text": text, "audience": {"show_to": list(show_to), "hide_from": list(hide_from)}}


def picture(image, alt):
    return {"image": image.pk, "decorative": False, "alt_text": alt}


def variant(value, *segments, hide=False):
    return {"segments": list(segments), "match": "any", "hide": hide, "value": value}


def stored_body(image, document, page, advert):
    """A body as the database stores it: every block type, with real instances."""
    return [
        {"type": "image", "value": picture(image, "The harbour")},
        {"type": "image_chooser", "value": image.pk},
        {"type": "document", "value": document.pk},
        {"type": "page", "value": page.pk},
        {"type": "snippet", "value": advert.pk},
        {"type": "embed", "value": VIDEO},
        {
            "type": "table",
            "value": {
                "data": [["Rate", "Term"], ["4.1%", "1 year"]],
                "first_row_is_table_header": True,
                "first_col_is_header": False,
                "table_caption": "",
            },
        },
        {
            "type": "typed_table",
            "value": {
                "columns": [
                    {"type": "text", "heading": "Name"},
                    {"type": "note", "heading": "Remark"},
                ],
                "rows": [{"values": ["Saver", note("Table note", show_to=["in-table"])]}],
                "caption": "Accounts",
            },
        },
        {"type": "divider", "value": None},
        {"type": "html", "value": "<b>Raw harbour</b>"},
        {"type": "quote", "value": "Save early."},
        {
            "type": "citation",
            "value": {
                "quote": "Save often.",
                "source": "A saver",
                "note": note("Citation note", hide_from=["in-citation"]),
            },
        },
        {"type": "notes", "value": [note("List note", show_to=["in-list"]), note("Plain")]},
        {
            "type": "section",
            "value": [
                {"type": "note", "value": note("Section note", show_to=["in-section"])},
                {
                    "type": "picture",
                    "value": {
                        "default": picture(image, "Default picture"),
                        "variants": [variant(picture(image, "Section variant"), "section-variant")],
                    },
                },
                {
                    "type": "inner",
                    "value": [
                        {"type": "note", "value": note("Deep note", show_to=["in-nested-stream"])},
                        {"type": "html", "value": "<i>deep</i>"},
                    ],
                },
            ],
        },
        {
            "type": "offer",
            "value": {
                "default": picture(image, "Default offer"),
                "variants": [variant(picture(image, "Variant offer"), "image-variant")],
            },
        },
        {
            "type": "personalised_note",
            "value": {
                "default": note("Default note", show_to=["in-default"]),
                "variants": [
                    variant(note("Variant note", hide_from=["in-variant"]), "note-variant"),
                    variant(note("Hidden note", show_to=["in-hidden"]), "hiding", hide=True),
                ],
            },
        },
        {"type": "note", "value": note("Top note", show_to=["top"])},
        {
            "type": "optional",
            "value": {
                "image": {"image": None, "decorative": False, "alt_text": ""},
                "image_chooser": None,
                "document": None,
                "page": None,
                "snippet": None,
                "embed": None,
                "table": None,
            },
        },
    ]


def make_every_block_page(parent, chosen_page, extra_blocks=(), **fields):
    """An ``EveryBlockPage`` under ``parent``, as loaded from the database.

    Its body holds every block type Wagtail ships, with a real image, document,
    page (``chosen_page``), snippet and embed, then ``extra_blocks``.
    """
    Embed.objects.create(
        url=VIDEO,
        hash=get_embed_hash(VIDEO),
        type="video",
        html='<iframe title="Harbour video"></iframe>',
    )
    image = wagtail_factories.ImageFactory(title="Harbour")
    document = wagtail_factories.DocumentFactory(title="Terms")
    advert = Advert.objects.create(text="Open an account")
    body = [*stored_body(image, document, chosen_page, advert), *extra_blocks]
    page = EveryBlockPage(**{"title": "Every block", "slug": "every", **fields, "body": body})
    parent.add_child(instance=page)
    return EveryBlockPage.objects.get(pk=page.pk)


# -- the page editor's form -------------------------------------------------------------------


def form_data(block, value, prefix):
    """What the page editor posts for ``value`` of ``block`` (Wagtail's editor builds it in JS)."""
    if isinstance(block, blocks.StreamBlock | blocks.ListBlock):
        children = value.bound_blocks if isinstance(block, blocks.ListBlock) else list(value)
        data = {f"{prefix}-count": len(children)}
        for position, child in enumerate(children):
            at = f"{prefix}-{position}"
            data |= {f"{at}-deleted": "", f"{at}-order": position, f"{at}-id": child.id or ""}
            if isinstance(block, blocks.StreamBlock):
                data[f"{at}-type"] = child.block_type
            data |= form_data(child.block, child.value, f"{at}-value")
        return data
    if isinstance(block, ImageBlock):
        fields = {
            "image": value,
            "decorative": getattr(value, "decorative", False),
            "alt_text": getattr(value, "contextual_alt_text", ""),
        }
        return form_data(blocks.StructBlock(list(block.child_blocks.items())), fields, prefix)
    if isinstance(block, blocks.StructBlock):
        data = {}
        for name, child_block in block.child_blocks.items():
            data |= form_data(child_block, value[name], f"{prefix}-{name}")
        return data
    if isinstance(block, TypedTableBlock):
        data = {f"{prefix}-caption": value.caption, f"{prefix}-column-count": len(value.columns)}
        for column_id, column in enumerate(value.columns):
            at = f"{prefix}-column-{column_id}"
            data |= {f"{at}-type": column["block"].name, f"{at}-order": column_id}
            data |= {f"{at}-heading": column["heading"], f"{at}-deleted": ""}
        data[f"{prefix}-row-count"] = len(value.row_data)
        for row_id, row in enumerate(value.row_data):
            data |= {f"{prefix}-row-{row_id}-order": row_id, f"{prefix}-row-{row_id}-deleted": ""}
            for column_id, (column, cell) in enumerate(
                zip(value.columns, row["values"], strict=True)
            ):
                data |= form_data(column["block"], cell, f"{prefix}-cell-{row_id}-{column_id}")
        return data
    if isinstance(block, blocks.StaticBlock):
        return {}
    posted = block.value_for_form(value)
    if isinstance(posted, models.Model):
        posted = posted.pk
    if isinstance(posted, bool):
        posted = str(posted).lower()
    return {prefix: "" if posted is None else posted}


def edit_form_data(admin_client, page):
    """The page editor's form for ``page`` as a browser posts it, its body as stored."""
    response = admin_client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    for name, value in form_data(page.body.stream_block, page.body, "body").items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def offer(slug):
    """A variant for the segment ``slug`` that shows "offer-for-<slug>"."""
    return {"segments": [slug], "match": "any", "hide": False, "value": f"offer-for-{slug}"}


def make_offer_page():
    """A personalised page with an offer for visitors from each of ``COUNTRIES``."""
    root = make_site_with_pages()["root"]
    for country in COUNTRIES:
        Segment.objects.create(
            name=f"Visitors from {country}",
            slug=country.lower(),
            rules=[{"type": "country", "value": {"countries": [country]}}],
        )
    page = PersonalisedPage(
        title="Offers",
        slug="offers",
        body=[
            (
                "offer",
                {"default": "offer-default", "variants": [offer(c.lower()) for c in COUNTRIES]},
            )
        ],
    )
    root.add_child(instance=page)
    return page


def today(model, **lookup):
    """The row of today's stats of ``model`` matching ``lookup``."""
    return model.objects.get(day=timezone.localdate(), **lookup)
