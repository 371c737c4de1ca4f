"""Segments, interests and the lists behind manual segments."""

import swapper
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Orderable, ReferenceIndex, get_page_models
from wagtail.search import index

from .blocks import PlacementContentBlock
from .fields import RulesField, stored_rules
from .rendering import MATCH_ALL, MATCH_ANY
from .rules.compiled import compile_rules, describe_rules, in_sentence
from .rules.stream import UnavailableRule

# The bounds of every number an editor (or an import) gives: the form, ``full_clean()``
# and the import all check them through the fields' validators.
MAX_PRIORITY = 10_000  # either way
MAX_STICKY_DAYS = 3650  # ten years
MAX_POINTS = 1000  # points one signal or one page gives (a page may also take them away)


def page_content_types():
    """Limit a choice of content types to page types."""
    return models.Q(
        pk__in=[ContentType.objects.get_for_model(model).pk for model in get_page_models()]
    )


class Segment(index.Indexed, models.Model):
    """A group of visitors, defined by rules and judged on every request."""

    MATCH_ALL, MATCH_ANY = MATCH_ALL, MATCH_ANY  # also the variants' and the tag's
    MATCH_CHOICES = [
        (MATCH_ALL, _("All rules (AND)")),
        (MATCH_ANY, _("Any rule (OR)")),
    ]
    # A segment's settings besides its rules, as compiled and exported.
    SETTING_FIELDS = (
        "name",
        "slug",
        "description",
        "enabled",
        "priority",
        "match",
        "sticky_days",
        "holdout_percent",
    )
    SCHEDULE_FIELDS = ("active_from", "active_until")

    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        unique=True,
        help_text=_("The stable key content and rules use to refer to this segment."),
    )
    description = models.TextField(_("description"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.IntegerField(
        _("priority"),
        default=0,
        validators=[MinValueValidator(-MAX_PRIORITY), MaxValueValidator(MAX_PRIORITY)],
        help_text=_("Segments with a higher priority come first when several match."),
    )
    match = models.CharField(_("match"), max_length=3, choices=MATCH_CHOICES, default=MATCH_ALL)
    rules = RulesField(_("rules"), blank=True)
    sticky_days = models.PositiveIntegerField(
        _("sticky for (days)"),
        default=0,
        validators=[MaxValueValidator(MAX_STICKY_DAYS)],
        help_text=_("Keep a visitor in this segment for this many days after they first match."),
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "This share of members (chosen at random, stable per visitor) keeps the default "
            "content, so reports can show what personalisation changes."
        ),
    )
    active_from = models.DateTimeField(_("active from"), null=True, blank=True)
    active_until = models.DateTimeField(_("active until"), null=True, blank=True)

    search_fields = [
        index.SearchField("name"),
        index.SearchField("slug"),
        index.SearchField("description"),
        index.AutocompleteField("name"),
    ]

    class Meta:
        ordering = ["-priority", "name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    @property
    def state(self):
        """A word for the listing: enabled, disabled, scheduled or expired."""
        now = timezone.now()
        if not self.enabled:
            return _("disabled")
        if self.active_until and now >= self.active_until:
            return _("expired")
        if self.active_from and now < self.active_from:
            return _("scheduled")
        return _("enabled")

    def rules_summary(self):
        """The rules as one readable line, e.g. “utm_campaign is “campus” and not page views ≥ 3
        (sticky for 30 days)”."""
        joiner = _(" and ") if self.match == self.MATCH_ALL else _(" or ")
        sentences = describe_rules(stored_rules(self.rules))
        if not sentences:
            return _("No rules: never matches")
        summary = str(joiner).join([sentences[0], *map(in_sentence, sentences[1:])])
        if self.sticky_days:
            days = self.sticky_days
            sticky = ngettext("sticky for %(days)d day", "sticky for %(days)d days", days)
            summary += f" ({sticky % {'days': days}})"
        return summary

    rules_summary.short_description = _("Rules")

    def dependencies(self):
        """Slugs of the segments this segment's rules refer to (nested segments)."""
        return {
            slug
            for rule in compile_rules(self.rules.raw_data)
            if rule.rule and not rule.error
            for slug in rule.rule.depends_on(rule.value)
        }

    def clean(self):
        super().clean()
        errors = {}
        if self.active_from and self.active_until and self.active_from >= self.active_until:
            errors["active_until"] = _("The end of the schedule must come after its start.")
        if self.pk:
            stored_slug = Segment.objects.filter(pk=self.pk).values_list("slug", flat=True).first()
            if stored_slug and stored_slug != self.slug and self.is_referenced():
                errors["slug"] = _(
                    "Content and other segments refer to this segment by its slug "
                    "“%(slug)s”; remove those references before changing it."
                ) % {"slug": stored_slug}
        if not self.keep_unreadable_rules():
            errors["rules"] = _(
                "A rule's type is not registered and the form's copy of it cannot be read; "
                "reload the editor."
            )
        cycle = self.find_cycle()
        if cycle:
            errors["rules"] = _("These segments would contain each other: %(cycle)s.") % {
                "cycle": " → ".join(cycle)
            }
        if errors:
            raise ValidationError(errors)

    def keep_unreadable_rules(self):
        """Give the stored value back to rules the form posted but this process cannot read.

        A form rendered while a rule type was registered posts that rule's fields;
        a process where the type is not registered reads ``None`` for it (see
        ``rules.stream``). False if a rule has no stored value to fall back on.
        """
        unreadable = [
            position
            for position, child in enumerate(self.rules)
            if isinstance(child.block, UnavailableRule) and child.value is None
        ]
        if not unreadable:
            return True
        stored = Segment.objects.filter(pk=self.pk).first() if self.pk else None
        by_id = {item.get("id"): item for item in stored_rules(stored.rules)} if stored else {}
        for position in unreadable:
            child = self.rules[position]
            item = by_id.get(child.id)
            if item is None or item.get("type") != child.block_type:
                return False
            self.rules[position] = (child.block_type, item.get("value"), child.id)
        return True

    def find_cycle(self):
        """The chain of slugs leading back to this segment through nested segments, if any."""
        graph = {
            segment.slug: segment.dependencies()
            for segment in Segment.objects.exclude(pk=self.pk).exclude(slug=self.slug)
        }
        graph[self.slug] = self.dependencies()
        path = [self.slug]

        def walk(slug, seen):
            for child in sorted(graph.get(slug, ())):
                if child == self.slug:
                    return [*path, child]
                if child not in seen:
                    seen.add(child)
                    path.append(child)
                    found = walk(child, seen)
                    if found:
                        return found
                    path.pop()
            return None

        return walk(self.slug, {self.slug})

    def is_referenced(self):
        return ReferenceIndex.get_references_to(self).exists()


class Interest(index.Indexed, models.Model):
    """A topic a visitor can show interest in; pages give points towards it."""

    name = models.CharField(_("name"), max_length=255)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    group = models.CharField(
        _("group"),
        max_length=100,
        blank=True,
        help_text=_("Interests in one group compete, e.g. “Persona” or “Journey stage”."),
    )
    points = models.PositiveIntegerField(
        _("points per signal"),
        default=10,
        validators=[MaxValueValidator(MAX_POINTS)],
        help_text=_(
            "Given for a page with one of the tags below, or a visit from a listed "
            "referrer domain or campaign."
        ),
    )
    page_tags = models.CharField(
        _("page tags"),
        max_length=255,
        blank=True,
        help_text=_("Comma-separated. Viewing a page with one of these tags gives points."),
    )
    referrer_domains = models.CharField(
        _("referrer domains"),
        max_length=255,
        blank=True,
        help_text=_("Comma-separated, e.g. “moneyweek.com”. A visit from there gives points."),
    )
    utm_campaigns = models.CharField(
        _("UTM campaigns"),
        max_length=255,
        blank=True,
        help_text=_("Comma-separated. A visit from one of these campaigns gives points."),
    )

    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["group", "name"]
        verbose_name = _("interest")
        verbose_name_plural = _("interests")

    def __str__(self):
        return f"{self.name} ({self.group})" if self.group else self.name

    @staticmethod
    def split(text):
        """The lower-cased items of a comma-separated field."""
        return [item.strip().lower() for item in text.split(",") if item.strip()]


class PageInterest(Orderable):
    """Interest points a page gives each visitor once per visit."""

    page = ParentalKey(
        swapper.get_model_name("wagtailcore", "Page"),
        on_delete=models.CASCADE,
        related_name="segment_interests",
    )
    interest = models.ForeignKey(Interest, on_delete=models.CASCADE, related_name="+")
    points = models.IntegerField(
        _("points"),
        default=10,
        validators=[MinValueValidator(-MAX_POINTS), MaxValueValidator(MAX_POINTS)],
    )

    panels = [FieldPanel("interest"), FieldPanel("points")]

    class Meta(Orderable.Meta):
        verbose_name = _("interest points")
        verbose_name_plural = _("interest points")

    def __str__(self):
        return f"{self.interest}: {self.points}"


class ManualMember(models.Model):
    """One entry of a manual segment's list: a user account or a visitor id."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="manual_members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    visitor_id = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("manual segment member")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(user__isnull=True, visitor_id=""),
                name="wagtail_segments_member_has_user_or_visitor",
            )
        ]

    def __str__(self):
        return str(self.user) if self.user_id else self.visitor_id


class StoredProfile(models.Model):
    """A visitor profile kept by the database store, keyed by visitor id or user."""

    key = models.CharField(max_length=80, primary_key=True)
    data = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("stored visitor profile")
        # The People screens: known visitors' profiles, segment members and their exports.
        permissions = [("view_people", _("Can view people and export segment members"))]

    def __str__(self):
        return self.key


class Placement(index.Indexed, ClusterableModel):
    """Personalised content editors place once on several pages, or on every page of a type.

    A template shows the placements of its page with ``{% placements "slot" %}``.
    """

    name = models.CharField(_("name"), max_length=255)
    slot = models.SlugField(
        _("slot"),
        max_length=50,
        help_text=_(
            'The place in the page templates, e.g. “banner” for {% placements "banner" %}.'
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    content = StreamField(PlacementContentBlock(), verbose_name=_("content"))
    page_types = ParentalManyToManyField(
        ContentType,
        blank=True,
        related_name="+",
        verbose_name=_("page types"),
        limit_choices_to=page_content_types,
        help_text=_("Show on every page of these types (and on the pages chosen above)."),
    )

    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["slot", "name"]

    def __str__(self):
        return self.name


class PlacementPage(Orderable):
    """A page a placement shows on."""

    placement = ParentalKey(Placement, on_delete=models.CASCADE, related_name="placement_pages")
    page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"),
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("page"),
    )

    panels = [FieldPanel("page")]

    class Meta(Orderable.Meta):
        verbose_name = _("page")
        verbose_name_plural = _("pages")

    def __str__(self):
        return str(self.page)


class PageExperience(Orderable):
    """Serve another page's content, at this page's URL, to a segment's visitors."""

    page = ParentalKey(
        swapper.get_model_name("wagtailcore", "Page"),
        on_delete=models.CASCADE,
        related_name="segment_experiences",
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="experiences", verbose_name=_("segment")
    )
    alternate_page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"),
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("serve this page's content"),
        help_text=_(
            "Only while it is published, and only to visitors its privacy settings let in."
        ),
    )

    panels = [FieldPanel("segment"), FieldPanel("alternate_page")]

    class Meta(Orderable.Meta):
        verbose_name = _("experience")
        verbose_name_plural = _("experiences")

    def __str__(self):
        return f"{self.segment}: {self.alternate_page}"


class Goal(index.Indexed, models.Model):
    """A conversion: a visit to a page, or an event sent by the site."""

    KIND_PAGE, KIND_EVENT = "page", "event"
    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(
        _("reached by"),
        max_length=5,
        choices=[(KIND_PAGE, _("Visiting a page")), (KIND_EVENT, _("An event"))],
        default=KIND_PAGE,
    )
    page = models.ForeignKey(
        swapper.get_model_name("wagtailcore", "Page"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("page"),
    )
    event = models.CharField(
        _("event name"),
        max_length=40,
        blank=True,
        help_text=_("As sent by wagtailSegments.track() or data-segments-event."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.kind == self.KIND_PAGE and not self.page_id:
            raise ValidationError({"page": _("Choose the page that reaches this goal.")})
        if self.kind == self.KIND_EVENT and not self.event:
            raise ValidationError({"event": _("Enter the event name that reaches this goal.")})


# -- stats: daily counters, written with atomic increments (see stats.py) -------------------


class SiteDay(models.Model):
    day = models.DateField(unique=True)
    visitors = models.PositiveIntegerField(default=0)
    pageviews = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("site day")

    def __str__(self):
        return f"{self.day}: {self.visitors} visitors"


class VisitorDay(models.Model):
    """A visitor counted on a day: the database, not the cache, knows whom it counted."""

    day = models.DateField()
    visitor_id = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("visitor day")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "visitor_id"], name="wagtail_segments_visitor_day"
            )
        ]

    def __str__(self):
        return f"{self.visitor_id} {self.day}"


class SegmentDay(models.Model):
    """Members seen and their page views, per segment (by slug: stats outlive segments)."""

    segment = models.SlugField(max_length=100)
    day = models.DateField()
    members = models.PositiveIntegerField(default=0)
    pageviews = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("segment day")
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="wagtail_segments_segment_day")
        ]

    def __str__(self):
        return f"{self.segment} {self.day}: {self.members} members"


class VariantDay(models.Model):
    """Impressions of one variant of a personalised block, and the conversions that followed."""

    page_id = models.PositiveIntegerField()
    block = models.CharField(max_length=64)
    variant = models.PositiveSmallIntegerField()  # 0: the default
    held_out = models.BooleanField(default=False)  # the default, shown instead of ``variant``
    # Slugs of the variant's segments, comma-separated: what it was for when it was shown.
    segments = models.CharField(max_length=255, blank=True, default="")
    day = models.DateField()
    impressions = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("variant day")
        constraints = [
            models.UniqueConstraint(
                fields=["page_id", "block", "variant", "held_out", "segments", "day"],
                name="wagtail_segments_variant_day",
            )
        ]

    def __str__(self):
        return f"{self.page_id}/{self.block}/{self.variant} {self.day}: {self.impressions}"


class GoalDay(models.Model):
    """Conversions of a goal per segment (``segment=""``: every visitor)."""

    # No database constraint: counts written after a goal is deleted must not fail the batch.
    goal = models.ForeignKey(
        Goal, on_delete=models.DO_NOTHING, db_constraint=False, related_name="days"
    )
    segment = models.CharField(max_length=100, blank=True)
    day = models.DateField()
    conversions = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("goal day")
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "segment", "day"], name="wagtail_segments_goal_day"
            )
        ]

    def __str__(self):
        return f"{self.goal_id}/{self.segment} {self.day}: {self.conversions}"
