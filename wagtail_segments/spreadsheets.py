"""CSV cells a spreadsheet opens as text, never as a formula (CSV injection).

Every CSV the package writes goes through ``escape_cell``: the member lists
(``portability``) and Wagtail's spreadsheet exports (the segment listing and
the reports) through ``EscapedCSVMixin``. Wagtail's XLSX export already keeps
formulas out, as text cells.
"""

# What a spreadsheet reads as the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value):
    """``value``, with a ``'`` in front if it is text a spreadsheet would run as a formula.

    Numbers are left alone: ``-5`` is a value, not a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(text):
    """The text ``escape_cell`` was given, for reading a CSV the package wrote."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


class EscapedCSVMixin:
    """For a view with Wagtail's ``SpreadsheetExportMixin``: CSV cells pass ``escape_cell``.

    Put it before the Wagtail view in the bases.
    """

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        return escape_cell(value) if export_format == self.FORMAT_CSV else value
