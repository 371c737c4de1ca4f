"""Personalised content: variant blocks, audience settings, template tags, caching, preview."""

import pytest
from django.core.cache import cache
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory
from wagtail import blocks

from tests.factories import BROWSER_UA, SegmentFactory
from wagtail_segments import engine
from wagtail_segments.blocks import AudienceMixin, PersonalisedBlock
from wagtail_segments.models import Segment
from wagtail_segments.streams import personalised_slugs
from wagtail_segments.visitor.state import attach_state, force_segments


class TeaserBlock(AudienceMixin, blocks.StructBlock):
    heading = blocks.CharBlock()

    class Meta:
        template = None

    def render_basic(self, value, context=None):
        return f"<h2>{value['heading']}</h2>"


TEASER = PersonalisedBlock(blocks.CharBlock())

STORED = {
    "default": "Hello",
    "variants": [
        {"segments": ["students"], "match": "any", "hide": False, "value": "Hi, student"},
        {"segments": ["students", "investors"], "match": "all", "hide": False, "value": "Never"},
        {"segments": ["investors"], "match": "any", "hide": True, "value": ""},
    ],
}


@pytest.fixture(autouse=True)
def fresh_definitions():
    cache.clear()
    engine.invalidate_definitions()


@pytest.fixture
def known_segments(db):
    """Segments the editor can choose from (cleaning checks the chosen slugs exist)."""
    for slug in ("students", "investors", "x"):
        SegmentFactory(name=slug.title(), slug=slug)


def request_in(*slugs):
    request = RequestFactory().get("/", headers={"user-agent": BROWSER_UA})
    force_segments(request, slugs)
    return request


def render(block, stored, *slugs):
    return block.render(block.to_python(stored), {"request": request_in(*slugs)})


def test_the_stored_shape_is_the_public_format(known_segments):
    value = TEASER.to_python(STORED)
    assert TEASER.get_prep_value(value) == STORED
    assert TEASER.get_prep_value(TEASER.clean(value)) == STORED


@pytest.mark.parametrize(
    "segments, shown",
    [
        ((), "Hello"),
        (("students",), "Hi, student"),
        (("students", "investors"), "Hi, student"),  # editor order: the first variant wins
        (("investors",), ""),  # hidden for investors
        (("savers",), "Hello"),
    ],
)
def test_the_first_matching_variant_wins_else_the_default(segments, shown):
    assert render(TEASER, STORED, *segments) == shown


def test_loading_and_rendering_makes_no_query(django_assert_num_queries, db):
    request = request_in("students")
    with django_assert_num_queries(0):
        value = TEASER.to_python(STORED)
        assert TEASER.render(value, {"request": request}) == "Hi, student"


def test_a_loaded_value_changed_in_code_or_the_editor_renders_the_change():
    value = TEASER.to_python(STORED)
    value["variants"][0]["value"] = "Changed"
    value["variants"].append({"segments": ["savers"], "match": "any", "hide": False, "value": "$"})
    context = {"request": request_in("students")}
    assert TEASER.render(value, context) == "Changed"
    assert TEASER.render(value, {"request": request_in("savers")}) == "$"
    assert TEASER.get_prep_value(value)["variants"][-1]["value"] == "$"


def test_variants_of_many_blocks_load_in_one_query_per_kind_of_content(
    db, django_assert_num_queries
):
    from wagtail.models import Page

    pages = list(Page.objects.values_list("pk", flat=True)[:2])
    stream = blocks.StreamBlock([("link", PersonalisedBlock(blocks.PageChooserBlock()))])
    stored = [
        {
            "type": "link",
            "value": {
                "default": pages[0],
                "variants": [{"segments": ["students"], "value": pages[n % 2]}],
            },
        }
        for n in range(5)
    ]
    with django_assert_num_queries(2):  # the defaults' pages, then the variants' pages
        loaded = [child.value for child in stream.to_python(stored)]
    assert [TEASER.variants(value)[0].value.pk for value in loaded] == [
        pages[n % 2] for n in range(5)
    ]


def test_list_items_stored_with_ids_keep_them():
    stored = {
        "default": "Hello",
        "variants": [
            {"type": "item", "id": "abc", "value": {"segments": ["students"], "value": "Hi"}}
        ],
    }
    value = TEASER.to_python(stored)
    assert render(TEASER, stored, "students") == "Hi"
    assert value["variants"].bound_blocks[0].id == "abc"


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "text",
        {"default": "Hello", "variants": "students"},
        {"default": "Hello", "variants": [3, None, "students"]},
    ],
    ids=["none", "text", "variants-not-a-list", "variants-not-dicts"],
)
def test_malformed_stored_values_load_and_show_the_default(stored):
    default = stored["default"] if isinstance(stored, dict) else TEASER.child_block.get_default()
    assert render(TEASER, stored, "students") == TEASER.child_block.render(default)


def test_match_all_needs_every_segment():
    stored = {"default": "Hello", "variants": [STORED["variants"][1]]}
    assert render(TEASER, stored, "students") == "Hello"
    assert render(TEASER, stored, "students", "investors") == "Never"


def test_without_a_request_the_default_shows():
    assert TEASER.render(TEASER.to_python(STORED), {}) == "Hello"


def test_a_disabled_or_deleted_segment_falls_back_to_the_default(db):
    readers = SegmentFactory(slug="readers", rules=[("pageviews", {"count": 0})])
    stored = {"default": "Hello", "variants": [{"segments": ["readers"], "value": "Hi, reader"}]}
    value = TEASER.to_python(stored)

    def shown():
        request = RequestFactory().get("/", headers={"user-agent": BROWSER_UA})
        attach_state(request)
        return TEASER.render(value, {"request": request})

    assert shown() == "Hi, reader"
    readers.enabled = False
    readers.save()
    assert shown() == "Hello"
    readers.delete()
    assert shown() == "Hello"


def test_holdout_members_keep_the_default(db):
    SegmentFactory(slug="readers", holdout_percent=100, rules=[("pageviews", {"count": 0})])
    stored = {"default": "Hello", "variants": [{"segments": ["readers"], "value": "Hi, reader"}]}
    request = RequestFactory().get("/", headers={"user-agent": BROWSER_UA})
    attach_state(request)
    assert "readers" in request.segments
    assert TEASER.render(TEASER.to_python(stored), {"request": request}) == "Hello"


def test_a_hidden_variant_needs_no_content_but_a_shown_one_does(known_segments):
    block = PersonalisedBlock(blocks.CharBlock())
    hidden = {"default": "Hello", "variants": [{"segments": ["x"], "hide": True, "value": ""}]}
    block.clean(block.to_python(hidden))
    shown = {"default": "Hello", "variants": [{"segments": ["x"], "hide": False, "value": ""}]}
    with pytest.raises(blocks.StructBlockValidationError):
        block.clean(block.to_python(shown))
    unknown = {"default": "Hello", "variants": [{"segments": ["gone"], "value": "Hi"}]}
    with pytest.raises(blocks.StructBlockValidationError):
        block.clean(block.to_python(unknown))


def test_api_representation_resolves_the_variant():
    value = TEASER.to_python(STORED)
    assert TEASER.get_api_representation(value, {"request": request_in("students")}) == (
        "Hi, student"
    )
    assert TEASER.get_api_representation(value, {"request": request_in("investors")}) is None


def test_audience_adds_only_its_setting_and_sits_in_the_settings_group():
    block = TeaserBlock()
    assert block.meta.form_layout.children == ["heading"]
    assert block.meta.form_layout.settings == ["audience"]
    stored = {"heading": "Hi", "audience": {"show_to": ["students"], "hide_from": []}}
    assert block.get_prep_value(block.to_python(stored)) == stored


@pytest.mark.parametrize(
    "audience, segments, shown",
    [
        ({"show_to": [], "hide_from": []}, (), True),
        ({"show_to": ["students"], "hide_from": []}, (), False),
        ({"show_to": ["students"], "hide_from": []}, ("students",), True),
        ({"show_to": [], "hide_from": ["investors"]}, ("investors",), False),
        ({"show_to": ["students"], "hide_from": ["investors"]}, ("students", "investors"), False),
    ],
)
def test_audience_shows_or_hides_the_block(audience, segments, shown):
    block = TeaserBlock()
    html = render(block, {"heading": "Hi", "audience": audience}, *segments)
    assert (html == "<h2>Hi</h2>") is shown and (html == "") is not shown


def test_personalised_slugs_walks_nested_content():
    stream = blocks.StreamBlock(
        [("teaser", TeaserBlock()), ("personalised", PersonalisedBlock(TeaserBlock()))]
    )
    value = stream.to_python(
        [
            {"type": "teaser", "value": {"heading": "a", "audience": {"hide_from": ["x"]}}},
            {
                "type": "personalised",
                "value": {
                    "default": {"heading": "b", "audience": {"show_to": ["y"]}},
                    "variants": [{"segments": ["z"], "value": {"heading": "c"}}],
                },
            },
        ]
    )
    assert personalised_slugs(stream, value) == {"x", "y", "z"}


# -- template tags ---------------------------------------------------------------------------


def render_template(source, *segments):
    template = Template("{% load wagtail_segments %}" + source)
    return template.render(Context({"request": request_in(*segments)}))


@pytest.mark.parametrize(
    "source, segments, output",
    [
        ('{% segment "a" %}yes{% endsegment %}', ("a",), "yes"),
        ('{% segment "a" %}yes{% endsegment %}', (), ""),
        ('{% segment "a" %}yes{% else %}no{% endsegment %}', ("b",), "no"),
        ('{% segment "a" "b" %}yes{% else %}no{% endsegment %}', ("b",), "yes"),
        ('{% segment "a" "b" match="all" %}yes{% else %}no{% endsegment %}', ("b",), "no"),
        ('{% segment "a" "b" match="all" %}yes{% else %}no{% endsegment %}', ("a", "b"), "yes"),
        ('{% if request|in_segment:"a" %}yes{% endif %}', ("a",), "yes"),
        ('{% if request|in_segment:"a" %}yes{% else %}no{% endif %}', (), "no"),
    ],
)
def test_segment_tag_and_filter(source, segments, output):
    assert render_template(source, *segments) == output


@pytest.mark.parametrize(
    "source, message",
    [
        ("{% segment %}x{% endsegment %}", "at least one segment"),
        ('{% segment "a" match="some" %}x{% endsegment %}', 'match must be "any" or "all"'),
    ],
)
def test_segment_tag_syntax_errors_are_clear(source, message):
    with pytest.raises(TemplateSyntaxError, match=message):
        render_template(source)


# -- the sandbox's personalised home page ----------------------------------------------------


@pytest.fixture
def browser(client, demo_site):
    client.defaults.update(HTTP_USER_AGENT=BROWSER_UA, HTTP_HOST="localhost")
    return client


def hero_heading(response):
    html = response.content.decode()
    return html.split("<h1>", 1)[1].split("</h1>", 1)[0]


def test_the_home_hero_follows_the_visitor(browser, client):
    assert hero_heading(browser.get("/")) == "Banking that keeps you afloat"
    browser.cookies.clear()
    browser.get("/campus/?utm_campaign=campus")  # a new visitor arrives from the flyer
    assert hero_heading(browser.get("/")) == "Welcome, campus newcomer"


def test_investors_get_their_hero(browser):
    # The demo keeps 20 % of investors in a holdout; this visitor must not be one of them.
    Segment.objects.filter(slug="investors").update(holdout_percent=0)
    engine.invalidate_definitions()
    for _ in range(2):
        browser.get("/investing/")
    assert hero_heading(browser.get("/")) == "Your money, working harder"


def test_personalised_responses_are_private_and_vary_on_the_cookie(browser):
    response = browser.get("/")
    assert "private" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_pages_without_personalised_content_keep_their_headers(browser):
    # No personalised block, placement or experience, and nothing written for a
    # visitor who asked not to be tracked: no header of the package.
    response = browser.get("/news/", HTTP_SEC_GPC="1")
    assert "wagtail_segments" not in response.cookies
    assert not response.has_header("Cache-Control")
    # A tracked visitor's profile cookie is theirs alone: that response is private.
    tracked = browser.get("/news/")
    assert "wagtail_segments" in tracked.cookies
    assert "private" in tracked["Cache-Control"]


def test_the_cart_banner_shows_only_to_small_carts(browser):
    from pages.models import CartPage

    assert "delivery is free" not in browser.get("/").content.decode()
    product = CartPage.objects.get().products.get(name="Card holder")
    browser.post("/cart/", {"product": product.pk, "action": "add"})
    assert "Spend £100 in our shop" in browser.get("/").content.decode()
    assert "Add £92.00 more and delivery is free." in browser.get("/cart/").content.decode()


def test_preview_modes_list_the_segments_the_page_uses(demo_site):
    from pages.models import HomePage

    modes = dict(HomePage.objects.get().preview_modes)
    assert modes[""] == "Default visitor"
    assert set(modes) == {
        "",
        "segment:college-students",
        "segment:investors",
        "segment:checking-prospects",
        "segment:small-cart",
    }
    assert modes["segment:investors"] == "As “Investors”"


@pytest.mark.parametrize(
    "mode, heading",
    [("", "Banking that keeps you afloat"), ("segment:investors", "Your money, working harder")],
)
def test_preview_as_a_segment_renders_what_it_sees(demo_site, mode, heading):
    from pages.models import HomePage

    response = HomePage.objects.get().make_preview_request(preview_mode=mode)
    assert response.status_code == 200
    assert hero_heading(response) == heading


def test_each_impression_names_the_page_its_block_was_rendered_in():
    from types import SimpleNamespace

    from wagtail_segments.current import visitor_state

    request = request_in("students")
    state = visitor_state(request)
    state.page_id = 99  # the page the request viewed
    value = TEASER.to_python(STORED)
    first, second = SimpleNamespace(pk=1), SimpleNamespace(pk=2)
    for page in (first, first, second, first, None, SimpleNamespace(pk=None)):
        TEASER.render(value, {"request": request, "page": page})
    assert [impression.page_id for impression in state.impressions] == [1, 1, 2, 1, 99, 99]
    assert [impression.variant for impression in state.impressions] == [1] * 6
