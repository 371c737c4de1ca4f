"""Harbour Bank: the sandbox's page types."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.shortcuts import redirect
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from wagtail_segments.api import set_attribute
from wagtail_segments.panels import InterestPointsMixin, experiences_panel
from wagtail_segments.preview import PersonalisedPreviewMixin

from .blocks import ContentBlock
from .forms import CartForm


class HomePage(PersonalisedPreviewMixin, InterestPointsMixin, Page):
    body = StreamField(ContentBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]
    subpage_types = [
        "pages.ProductPage",
        "pages.LandingPage",
        "pages.NewsIndexPage",
        "pages.CartPage",
    ]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["products"] = ProductPage.objects.child_of(self).live()
        return context


class ProductPageTag(TaggedItemBase):
    content_object = ParentalKey(
        "pages.ProductPage", related_name="tagged_items", on_delete=models.CASCADE
    )


class ProductPage(PersonalisedPreviewMixin, InterestPointsMixin, Page):
    summary = models.CharField(max_length=250, blank=True)
    headline_rate = models.CharField(
        max_length=40, blank=True, help_text="For example “4.10% AER variable”."
    )
    body = StreamField(ContentBlock(), blank=True)
    tags = ClusterTaggableManager(through=ProductPageTag, blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("headline_rate"),
        FieldPanel("body"),
    ]
    promote_panels = [
        *InterestPointsMixin.promote_panels,
        experiences_panel(),
        FieldPanel("tags"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    parent_page_types = ["pages.HomePage"]
    subpage_types = []


class LandingPage(PersonalisedPreviewMixin, InterestPointsMixin, Page):
    """A campaign landing page, such as the campus promotion."""

    intro = models.TextField(blank=True)
    body = StreamField(ContentBlock(), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    subpage_types = []


class NewsIndexPage(Page):
    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["pages.NewsPage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = NewsPage.objects.child_of(self).live().order_by("-date")
        return context


class NewsPage(InterestPointsMixin, Page):
    date = models.DateField()
    summary = models.CharField(max_length=250, blank=True)
    body = StreamField(ContentBlock(), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("date"),
        FieldPanel("summary"),
        FieldPanel("body"),
    ]
    parent_page_types = ["pages.NewsIndexPage"]
    subpage_types = []


FREE_DELIVERY_FROM = Decimal(100)


class CartPage(Page):
    """A small shop: visitors put Harbour Bank extras in a cart kept in their session.

    The cart's total becomes the visitor attribute ``cart_total``, which
    segments such as “cart under £100” read in real time.
    """

    intro = models.TextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), InlinePanel("products")]
    max_count = 1
    subpage_types = []
    SESSION_KEY = "cart"

    def cart(self, request):
        """The cart's lines as (product, quantity), and its total."""
        quantities = request.session.get(self.SESSION_KEY, {})
        lines = [
            (product, quantities[str(product.pk)])
            for product in self.products.all()
            if quantities.get(str(product.pk))
        ]
        total = sum((product.price * quantity for product, quantity in lines), Decimal(0))
        return lines, total

    def serve(self, request, *args, **kwargs):
        if request.method != "POST":
            return super().serve(request, *args, **kwargs)
        form = CartForm(request.POST, products=self.products.all())
        if form.is_valid():
            self.update_cart(request, **form.cleaned_data)
            return redirect(self.get_url(request))
        response = super().serve(request, *args, **kwargs)  # the cart, saying what went wrong
        response.context_data["cart_errors"] = form.errors
        response.status_code = 400
        return response

    def update_cart(self, request, action, product):
        quantities = dict(request.session.get(self.SESSION_KEY, {}))
        if action == "empty":
            quantities = {}
        else:
            key = str(product.pk)
            quantities[key] = max(quantities.get(key, 0) + (1 if action == "add" else -1), 0)
        request.session[self.SESSION_KEY] = {key: n for key, n in quantities.items() if n}
        _lines, total = self.cart(request)
        set_attribute(request, "cart_total", float(total))

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["lines"], context["total"] = self.cart(request)
        context["free_delivery_gap"] = max(FREE_DELIVERY_FROM - context["total"], Decimal(0))
        return context


class CartProduct(Orderable):
    page = ParentalKey(CartPage, related_name="products", on_delete=models.CASCADE)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(
        max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    panels = [FieldPanel("name"), FieldPanel("description"), FieldPanel("price")]

    def __str__(self):
        return self.name
