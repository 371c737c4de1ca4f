"""Placements, page-level experiences, editor warnings and impressions."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client
from django.utils import timezone
from wagtail.models import PageViewRestriction

from tests.factories import BROWSER_UA, PlacementFactory, SegmentFactory, make_site_with_pages
from tests.testapp.models import PersonalisedPage, PlainPage
from wagtail_segments import engine
from wagtail_segments.admin.publish_warnings import content_problems, covers
from wagtail_segments.current import visitor_state
from wagtail_segments.models import PageExperience, PlacementPage, Segment
from wagtail_segments.visitor.state import force_segments


@pytest.fixture(autouse=True)
def fresh_definitions():
    cache.clear()
    engine.invalidate_definitions()


@pytest.fixture
def site(db):
    pages = make_site_with_pages("savings", "investing")
    for slug in ("students", "investors"):
        SegmentFactory(
            name=slug.title(),
            slug=slug,
            rules=[{"type": "query_param", "value": {"name": "who", "value": slug}}],
        )
    return pages


def banner(default, **variants):
    return {
        "default": {
            "heading": default,
            "text": "",
            "link_page": None,
            "link_url": "",
            "link_text": "",
        },
        "variants": [
            {
                "segments": [slug],
                "match": "any",
                "hide": False,
                "value": {
                    "heading": heading,
                    "text": "",
                    "link_page": None,
                    "link_url": "",
                    "link_text": "",
                },
            }
            for slug, heading in variants.items()
        ],
    }


def render_slot(request, page, slot="banner"):
    template = Template('{% load wagtail_segments %}{% placements "' + slot + '" %}')
    return template.render(Context({"request": request, "page": page}))


def request_for(rf, *slugs):
    request = rf.get("/", headers={"user-agent": BROWSER_UA})
    force_segments(request, slugs)
    return request


def test_a_placement_shows_on_its_pages_and_page_types_only(site, rf):
    on_pages = PlacementFactory(
        name="Student offer",
        slot="banner",
        content=[("banner", banner("Open an account", students="Hi student"))],
    )
    PlacementPage.objects.create(placement=on_pages, page=site["savings"])
    by_type = PlacementFactory(
        name="Everywhere", slot="footer", content=[("banner", banner("Footer note"))]
    )
    by_type.page_types.set([ContentType.objects.get_for_model(PlainPage)])
    by_type.save()
    other_type = PlacementFactory(
        name="Other", slot="footer", content=[("banner", banner("Only personalised"))]
    )
    other_type.page_types.set([ContentType.objects.get_for_model(PersonalisedPage)])
    other_type.save()

    html = render_slot(request_for(rf), site["savings"])
    assert "Open an account" in html and 'data-placement="banner"' in html
    assert "Hi student" in render_slot(request_for(rf, "students"), site["savings"])
    assert render_slot(request_for(rf, "students"), site["investing"]) == ""  # not chosen
    # By page type: every PlainPage, never another type.
    for page in (site["savings"], site["investing"], site["root"]):
        footer = render_slot(request_for(rf), page, "footer")
        assert "Footer note" in footer and "Only personalised" not in footer
    on_pages.enabled = False
    on_pages.save()
    assert render_slot(request_for(rf), site["savings"]) == ""


def test_placements_cost_no_query_once_compiled(site, rf, django_assert_num_queries):
    placement = PlacementFactory(name="P", slot="banner", content=[("banner", banner("Hello"))])
    placement.page_types.set([ContentType.objects.get_for_model(PlainPage)])
    placement.save()
    render_slot(request_for(rf), site["savings"])  # compiles the definitions
    with django_assert_num_queries(0):
        assert "Hello" in render_slot(request_for(rf), site["savings"])


# -- experiences ------------------------------------------------------------------------------


@pytest.fixture
def experience(site):
    root = site["root"]
    alternate = root.add_child(instance=PlainPage(title="Student savings", slug="student-savings"))
    PageExperience.objects.create(
        page=site["savings"],
        segment=Segment.objects.get(slug="students"),
        alternate_page=alternate,
        sort_order=0,
    )
    return site["savings"], alternate


def visit(path):
    return Client(HTTP_USER_AGENT=BROWSER_UA).get(path)


def test_an_experience_serves_another_pages_content_at_the_same_url(experience):
    page, alternate = experience
    assert "<h1>Savings</h1>" in visit("/savings/").content.decode()
    response = visit("/savings/?who=students")
    assert "<h1>Student savings</h1>" in response.content.decode()
    assert response["Link"] == '<http://testserver/savings/>; rel="canonical"'
    assert response.context["experience_of"] == page
    assert "private" in response["Cache-Control"]


def test_experiences_follow_editor_order(experience):
    page, _ = experience
    first = page.get_parent().add_child(instance=PlainPage(title="First", slug="first"))
    Segment.objects.filter(slug="investors").update(
        rules=[{"type": "query_param", "value": {"name": "who", "value": "students"}}]
    )
    PageExperience.objects.create(
        page=page,
        segment=Segment.objects.get(slug="investors"),
        alternate_page=first,
        sort_order=-1,
    )
    assert "<h1>First</h1>" in visit("/savings/?who=students").content.decode()


def test_an_experience_never_serves_unpublished_content(experience):
    _, alternate = experience
    alternate.unpublish()
    assert "<h1>Savings</h1>" in visit("/savings/?who=students").content.decode()


def test_an_experience_never_lets_anyone_past_privacy_settings(experience):
    page, alternate = experience
    restriction = PageViewRestriction.objects.create(
        page=alternate, restriction_type=PageViewRestriction.PASSWORD, password="secret"
    )
    # The alternate is private: the member gets the page itself.
    assert "<h1>Savings</h1>" in visit("/savings/?who=students").content.decode()
    restriction.delete()
    PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)
    # The page is private: the member gets Wagtail's login redirect, not the alternate.
    response = visit("/savings/?who=students")
    assert response.status_code == 302 and "login" in response["Location"]


# -- warnings --------------------------------------------------------------------------------


def variant(*slugs, match="any"):
    return {"segments": list(slugs), "match": match, "hide": False, "value": "x"}


@pytest.mark.parametrize(
    ("earlier", "later", "covered"),
    [
        (variant("a"), variant("a"), True),
        (variant("a", "b"), variant("b"), True),
        (variant("a"), variant("a", "b"), False),
        (variant("a"), variant("a", "b", match="all"), True),
        (variant("a", "b", match="all"), variant("a", "b", "c", match="all"), True),
        (variant("a", "b", match="all"), variant("a", match="all"), False),
        (variant("a", "b", match="all"), variant("a"), False),
        (variant("a", match="all"), variant("a"), True),
        (variant(), variant("a"), False),
    ],
)
def test_an_unreachable_variant_is_found(earlier, later, covered):
    assert covers(earlier, later) is covered


def test_editors_are_warned_of_unreachable_variants_and_lost_segments(site):
    SegmentFactory(slug="off", enabled=False)
    SegmentFactory(slug="over", active_until=timezone.now() - timedelta(1))
    page = PersonalisedPage(
        title="P",
        body=[
            (
                "offer",
                {
                    "default": "d",
                    "variants": [
                        variant("students", "investors"),
                        variant("investors"),
                        variant("gone"),
                        variant("off"),
                        variant("over"),
                    ],
                },
            ),
            ("note", {"text": "n", "audience": {"show_to": ["gone"], "hide_from": []}}),
        ],
    )
    problems = content_problems(page, Segment.objects.in_bulk(field_name="slug"))
    assert problems == [
        "body › Offer 1, variant 2 can never be shown: variant 1 comes first and catches all "
        "its visitors.",
        "body › Offer 1, variant 3 uses “gone”, a segment that no longer exists.",
        "body › Offer 1, variant 4 uses “Off”, which is disabled.",
        "body › Offer 1, variant 5 uses “Over”, which has ended.",
        "body › Note 2, audience uses “gone”, a segment that no longer exists.",
    ]


def test_the_page_editor_shows_the_warnings(site, admin_client):
    root = site["root"]
    page = root.add_child(
        instance=PersonalisedPage(
            title="Offers",
            slug="offers",
            body=[
                ("offer", {"default": "d", "variants": [variant("students"), variant("students")]})
            ],
        )
    )
    response = admin_client.get(f"/admin/pages/{page.pk}/edit/")
    assert response.status_code == 200
    assert "variant 2 can never be shown" in response.content.decode()


# -- impressions -----------------------------------------------------------------------------


def test_each_personalised_block_shown_reports_an_impression(site):
    root = site["root"]
    root.add_child(
        instance=PersonalisedPage(
            title="Offers",
            slug="offers",
            body=[
                ("offer", {"default": "d", "variants": [variant("investors"), variant("students")]})
            ],
        )
    )
    Segment.objects.filter(slug="students").update(holdout_percent=100)
    engine.invalidate_definitions()
    client = Client(HTTP_USER_AGENT=BROWSER_UA)
    impressions = []
    for query in ("", "?who=investors", "?who=students"):
        response = client.get(f"/offers/{query}")
        impressions.append(visitor_state(response.wsgi_request).impressions)
    page_id = PersonalisedPage.objects.get().pk
    assert [(i.page_id, i.block, i.variant, i.held_out, i.segments) for [i] in impressions] == [
        (page_id, "offer", 0, False, ()),
        (page_id, "offer", 1, False, ("investors",)),
        # A student, held out: default content, counted against the students' variant.
        (page_id, "offer", 2, True, ("students",)),
    ]


# -- preview ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, heading",
    [
        ("", "Questions? Talk to us."),
        ("segment:college-students", "Students get a £50 welcome bonus"),
        ("segment:investors", "Free portfolio review"),
    ],
)
def test_a_page_showing_a_placement_previews_as_each_of_its_segments(demo_site, mode, heading):
    from pages.models import ProductPage

    page = ProductPage.objects.get(slug="savings")  # the banner placement is for every product
    assert dict(page.preview_modes) == {
        "": "Default visitor",
        "segment:college-students": "As “College students”",
        "segment:investors": "As “Investors”",
    }
    response = page.make_preview_request(preview_mode=mode)
    assert response.status_code == 200
    html = response.content.decode()
    banner = html.split('data-placement="banner"', 1)[1].split("</div>", 1)[0]
    assert heading in banner


def test_preview_modes_follow_the_placements_chosen_for_the_page(site):
    from tests.testapp.models import EveryBlockPage

    page = site["root"].add_child(instance=EveryBlockPage(title="Every", slug="every", body=[]))
    assert [mode for mode, _ in page.preview_modes] == [""]
    placement = PlacementFactory(
        name="Offer", slot="banner", content=[("banner", banner("Hello", investors="Hi"))]
    )
    PlacementPage.objects.create(placement=placement, page=page)
    placement.save()  # the definitions follow the placement's pages
    assert [mode for mode, _ in page.preview_modes] == ["", "segment:investors"]
    assert [mode for mode, _ in site["savings"].preview_modes] == [""]  # not placed there
    placement.enabled = False
    placement.save()
    assert [mode for mode, _ in page.preview_modes] == [""]
