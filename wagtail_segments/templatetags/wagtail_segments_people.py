"""Filters of the admin's People screens: ``{% load wagtail_segments_people %}``."""

from django import template

from ..people import without_ips as hide_ips

register = template.Library()


@register.filter
def without_ips(value):
    """Text with every IP address in it hidden; any other value as it is."""
    return hide_ips(value)
