"""The Identity API: its authorizer's logic (`authorizer`, `caller`, light: no Powertools, no pydantic) and its
handlers (`app` builds the resolver from one Router per resource, e.g. `me`)."""
