"""Stats: ``recording`` counts what each request showed, ``queries`` reads the counts back."""
