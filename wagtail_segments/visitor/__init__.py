"""The visitor: the request's state, the profile and where it is kept, visits, scoring, privacy."""
