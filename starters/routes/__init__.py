"""One router per source of requests. The CRMs' routers are listed in starters/crms.py; the
others (generic deals, product events, Segment, unsubscribe links, health) in starters/app.py."""
