"""Personalised content reaches the visitor however a template renders it.

Real sites write ``{{ page.body }}``, loop over blocks with ``{{ block }}``, use
``{% include_block ... only %}`` or render snippets and views without a
``request`` in the context; the request's state reaches each of them. Outside
a request, content renders its default and records nothing.
"""

import re
import threading

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.test import AsyncClient, RequestFactory

from tests.factories import BROWSER_UA, SegmentFactory, make_site_with_pages
from tests.testapp.models import PersonalisedPage
from wagtail_segments import engine
from wagtail_segments.current import current_state
from wagtail_segments.middleware import SegmentsMiddleware

TEMPLATES = "testapp/render_paths/"


@pytest.fixture
def offers(db):
    cache.clear()
    engine.invalidate_definitions()
    root = make_site_with_pages()["root"]
    SegmentFactory(name="VIP", slug="vip", rules=[("query_param", {"name": "vip", "value": ""})])
    page = PersonalisedPage(
        title="Offers",
        slug="offers",
        body=[
            (
                "offer",
                {
                    "default": "offer-default",
                    "variants": [{"segments": ["vip"], "match": "any", "value": "offer-vip"}],
                },
            ),
            ("note", {"text": "note-for-vip", "audience": {"show_to": ["vip"], "hide_from": []}}),
        ],
    )
    root.add_child(instance=page)
    return page


@pytest.fixture
def template(monkeypatch):
    def use(name):
        monkeypatch.setattr(PersonalisedPage, "template", TEMPLATES + name)

    return use


def shown(response):
    return re.findall(r"(?:offer|note|snippet)-[a-z-]+", response.content.decode())


@pytest.mark.parametrize(
    "name", ["page_body.html", "block_loop.html", "include_block_only.html", "include_block.html"]
)
def test_every_template_idiom_shows_the_visitors_variant(client, offers, template, name):
    template(name)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    assert shown(client.get("/offers/?vip=1")) == ["offer-vip", "note-for-vip"]
    # The next request on the same thread is another visitor's: it sees the default.
    client.cookies.clear()
    assert shown(client.get("/offers/")) == ["offer-default"]


def test_a_segment_tag_in_an_included_template_without_context(client, offers, template):
    template("snippet_include.html")
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    assert shown(client.get("/offers/?vip=1")) == ["snippet-vip"]
    assert shown(client.get("/offers/")) == ["snippet-default"]


def test_render_to_string_in_a_view(client, offers, monkeypatch):
    def serve(page, request, *args, **kwargs):
        return HttpResponse(render_to_string(TEMPLATES + "include_block.html", {"page": page}))

    monkeypatch.setattr(PersonalisedPage, "serve", serve)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    assert shown(client.get("/offers/?vip=1")) == ["offer-vip", "note-for-vip"]


def test_the_api_representation_without_context(client, offers, monkeypatch):
    def serve(page, request, *args, **kwargs):
        body = page.body.stream_block.get_api_representation(page.body)
        return JsonResponse({"body": [item["value"] for item in body]})

    monkeypatch.setattr(PersonalisedPage, "serve", serve)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    assert client.get("/offers/?vip=1").json()["body"][0] == "offer-vip"
    assert client.get("/offers/").json()["body"][0] == "offer-default"


def test_outside_a_request_the_default_shows_and_nothing_is_recorded(client, offers):
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    client.get("/offers/?vip=1")
    assert current_state() is None
    page = PersonalisedPage.objects.get(pk=offers.pk)  # as a command or a task loads it
    html = str(page.body)
    assert "offer-default" in html
    assert "note-for-vip" not in html


def test_the_state_is_reset_when_the_view_raises(client, offers, monkeypatch):
    def serve(page, request, *args, **kwargs):
        raise RuntimeError("the view failed")

    monkeypatch.setattr(PersonalisedPage, "serve", serve)
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        client.get("/offers/?vip=1")
    assert current_state() is None


def test_concurrent_threads_each_see_their_own_visitor(offers):
    page = PersonalisedPage.objects.get(pk=offers.pk)
    engine.load_definitions()  # judged from memory: the threads need no database
    barrier, results = threading.Barrier(2), {}

    def render_body(request):
        barrier.wait()  # both requests are in flight: each thread has its own state
        return HttpResponse(str(page.body))

    middleware = SegmentsMiddleware(render_body)

    def browse(name, path):
        request = RequestFactory().get(path, headers={"user-agent": BROWSER_UA})
        results[name] = shown(middleware(request))

    threads = [
        threading.Thread(target=browse, args=("vip", "/offers/?vip=1")),
        threading.Thread(target=browse, args=("other", "/offers/")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"vip": ["offer-vip", "note-for-vip"], "other": ["offer-default"]}


def test_under_asgi_the_visitors_variant_shows(offers, template):
    template("page_body.html")
    get = async_to_sync(AsyncClient().get)
    response = get("/offers/", {"vip": "1"}, headers={"user-agent": BROWSER_UA})
    assert shown(response) == ["offer-vip", "note-for-vip"]
    assert current_state() is None


def test_the_cockpit_lists_blocks_rendered_after_the_userbar(client, offers, template, editor):
    template("page_body.html")  # {% wagtailuserbar %} comes first in <body>
    client.force_login(editor)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    html = client.get("/offers/?vip=1").content.decode()
    assert html.index("data-segments-cockpit-template") < html.index("offer-vip")
    assert "wagtail-segments-cockpit-blocks" not in html
    listed = re.findall(r"<strong>(\w+)</strong>: ([^—]+) — ([^<]+)", html)
    assert [(block, verdict.strip()) for block, verdict, _ in listed] == [
        ("Offer", "variant 1"),
        ("Note", "shown"),
    ]
    assert "member of VIP" in listed[0][2]
    assert "shown only to VIP: member of VIP" in listed[1][2]


def test_the_cockpit_explains_a_segment_tag(client, offers, template, editor):
    template("snippet_include.html")
    client.force_login(editor)
    client.defaults["HTTP_USER_AGENT"] = BROWSER_UA
    html = client.get("/offers/").content.decode()
    assert "snippet-default" in html
    listed = re.findall(r"<strong>([^<]+)</strong>: ([^—]+) — ([^<]+)", html)
    assert [tuple(part.strip() for part in row) for row in listed] == [
        ("{% segment “vip” %}", "its “else” part", "not a member of VIP")
    ]
