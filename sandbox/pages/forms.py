"""Harbour Bank's forms."""

from django import forms

CART_ACTIONS = [("add", "Add one"), ("remove", "Remove one"), ("empty", "Empty the cart")]


class CartForm(forms.Form):
    """What a button of the cart page posts: add or remove one of its extras, or empty it."""

    action = forms.ChoiceField(choices=CART_ACTIONS)
    product = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, products, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") in ("add", "remove") and not cleaned.get("product"):
            self.add_error("product", "Choose one of the extras.")
        return cleaned
