"""One router per source of requests, composed in starters/app.py."""
